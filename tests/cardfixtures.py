"""District keys and residents for the card tests: fixed keys, so the same cards every run.

Ed25519 signatures are deterministic, so a fixed key gives byte-identical QR texts: the
recorded keyboard-wedge events in tests/data/evdev/district_cards.jsonl type exactly these.
"""

from __future__ import annotations

from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from kiosk.cards import TEXT_BYTES_MAX, CardData, CardTrust, key_id, sign_card

DISTRICT_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # Huyện Quảng Điền
OTHER_DISTRICT_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))  # Huyện Phong Điền
COMMUNE = "Thị trấn Sịa"
ISSUED = date(2021, 12, 6)

# Real-looking names, the long Huế royal-family ones included, and every tone on every vowel.
NAMES = [
    "Nguyễn Văn An",
    "Công Tằng Tôn Nữ Thị Xuân Hường",
    "Trần Thị Bích Ngọc",
    "Lê Anh Sơn",
    "Hoàng Thị Hồng Nhung",
    "Phạm Quốc Đạt",
    "Tôn Nữ Thị Hoàng Phượng Huyền Trang",
    "Đặng Thị Ánh Tuyết",
    "Võ Văn Kiệt",
    "Bùi Thị Mỹ Dung",
    "Ngô Thị Diễm Hương",
    "Huỳnh Ngọc Ẩn",
    "Dương Thị Ỷ Lan",
    "Trương Công Ửng",
    "Lý Thị Ỵ",
    "Vĩnh Thụy Bảo Ổn",
]


def worst_case_name(commune: str = COMMUNE) -> str:
    """The longest name a card takes beside ``commune``, made of 3-byte letters (ặ, ữ, ờ…): the
    most QR space a name can need."""
    words = ["Ngụỵễn", "Thịệ", "Hường", "Phượng", "Huyềnữ", "Trặngờ"]
    name = ""
    for word in words * 10:
        candidate = f"{name} {word}".strip()
        if len(candidate.encode()) + len(commune.encode()) > TEXT_BYTES_MAX:
            break
        name = candidate
    while len(name.encode()) + len(commune.encode()) < TEXT_BYTES_MAX:
        name += "ờ" if len(name.encode()) + len(commune.encode()) + 3 <= TEXT_BYTES_MAX else "a"
    return name


def card_text(number: int, name: str, key: Ed25519PrivateKey = DISTRICT_KEY, birth_year: int = 1958) -> str:
    return sign_card(CardData(number, name, birth_year, COMMUNE, ISSUED), key)


def trust(*revoked: int) -> CardTrust:
    public = DISTRICT_KEY.public_key()
    return CardTrust(keys={key_id(public): public}, revoked=frozenset(revoked))


def pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
