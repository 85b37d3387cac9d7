"""Disease-control cards (thẻ kiểm soát dịch bệnh): the payload format, signed by the district, checked offline.

A printed QR card lets a person without a smartphone be scanned in one second instead of
having a phone number typed. A plain QR card is easy to forge or copy, and a lost one
cannot be stopped; so every card carries the district's Ed25519 signature, every kiosk
checks it offline against the district's public key, and the district can revoke a card
(a replacement card gets a new number, which revokes the old one).

One format for both sides: the server signs with ``sign_card`` and the kiosk checks with
``read_card``, so they cannot drift apart. Format version 1 (``TK1:`` prefix, the version
being part of the signed bytes so a payload cannot be relabelled)::

    "TK1:" + base45( CBOR [ key_id(4 bytes), number, name, birth_year, commune, issued(days since 2020-01-01),
                            Ed25519 signature(64 bytes) ] )

Why this alphabet: base45 (RFC 9285, as EU certificates use) is exactly the QR code's
alphanumeric set, so a 2-byte group costs 16.5 bits in the code and the card fits a
version ≤ 10 code at error correction M. Every one of its characters (0–9, A–Z, space,
``$ % * + - . / :``) is a key on a US keyboard, so a keyboard-wedge reader types it
faithfully (tests/test_cards_readers.py types every one through drivers/keymap.py), unlike
the Vietnamese letters of the name, which travel inside the CBOR as UTF-8, exactly.

Pure and total: no clock, no I/O, and any input gives a ``Card`` or a ``Rejection``,
because a QR code is untrusted input. The key id (first 4 bytes of SHA-256 over the raw
public key) tells "signed by a district this kiosk does not know" (``unknown_signer``)
from "changed after signing" (``bad_signature``).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.contract import CardCheck
from kiosk.credentials import Card, Rejection

PREFIX = "TK1:"
EPOCH = date(2020, 1, 1)  # issue dates are days since then: 3 CBOR bytes instead of 11
KEY_ID_LENGTH = 4
SIGNATURE_LENGTH = 64
# QR version 10 at error correction M holds 311 alphanumeric characters: 4 for the prefix
# leave 204 bytes of base45; the fixed parts take 87 (tests/test_cards.py measures the
# worst case with a real QR encoder), so the name and the commune share 117 UTF-8 bytes.
TEXT_BYTES_MAX = 117
NUMBER_MAX = 2**32 - 1
DAYS_MAX = 0xFFFF  # issue dates until 2199 keep their 3 CBOR bytes
MAX_TEXT_CHARS = 1024  # a card is ~300 characters; anything longer is not one


def key_id(public_key: Ed25519PublicKey) -> bytes:
    """The card key id: the first 4 bytes of SHA-256 over the raw 32-byte public key."""
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).digest()[:KEY_ID_LENGTH]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """The raw public key in hex: how the key travels to kiosks (sync answer, USB receipt)."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


@dataclass(frozen=True)
class CardData:
    """What is printed and signed on one card."""

    number: int
    name: str
    birth_year: int
    commune: str
    issued_on: date

    def problem(self) -> str | None:
        """Why this cannot be a card (a message code of kiosk/messages.py), or None."""
        if not 1 <= self.number <= NUMBER_MAX:
            return "card_number_invalid"
        if not 1900 <= self.birth_year <= 2100:
            return "card_birth_year_invalid"
        if not self.name.strip() or not self.commune.strip():
            return "card_text_missing"
        if len(self.name.encode()) + len(self.commune.encode()) > TEXT_BYTES_MAX:
            return "card_text_too_long"
        if not 0 <= (self.issued_on - EPOCH).days <= DAYS_MAX:
            return "card_issue_date_invalid"
        return None


def _signed_bytes(kid: bytes, data: CardData) -> bytes:
    days = (data.issued_on - EPOCH).days
    return PREFIX.encode() + cbor2.dumps([kid, data.number, data.name, data.birth_year, data.commune, days])


def _normalised(data: CardData) -> CardData:
    return CardData(
        number=data.number,
        name=" ".join(unicodedata.normalize("NFC", data.name).split()),
        birth_year=data.birth_year,
        commune=" ".join(unicodedata.normalize("NFC", data.commune).split()),
        issued_on=data.issued_on,
    )


def sign_card(data: CardData, key: Ed25519PrivateKey) -> str:
    """The QR text of one card, signed with the district's key. Raises ``ValueError(code)``
    when the data cannot be a card (the code names the reason in kiosk/messages.py)."""
    data = _normalised(data)
    why = data.problem()
    if why:
        raise ValueError(why)
    kid = key_id(key.public_key())
    signature = key.sign(_signed_bytes(kid, data))
    days = (data.issued_on - EPOCH).days
    body = cbor2.dumps([kid, data.number, data.name, data.birth_year, data.commune, days, signature])
    return PREFIX + base45.b45encode(body).decode("ascii")


@dataclass
class CardTrust:
    """What a kiosk knows about cards: the district's public keys and the revoked numbers.

    Empty (a kiosk never enrolled or synced): cards are read but reported ``not_checked``.
    """

    keys: dict[bytes, Ed25519PublicKey] = field(default_factory=dict)
    revoked: frozenset[int] = frozenset()

    @classmethod
    def from_wire(cls, public_keys: Iterable[str], revoked: Iterable[int]) -> CardTrust:
        """From hex public keys and revoked numbers; raises ``ValueError`` on a malformed key."""
        keys: dict[bytes, Ed25519PublicKey] = {}
        for text in public_keys:
            public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
            keys[key_id(public)] = public
        return cls(keys=keys, revoked=frozenset(int(n) for n in revoked))

    def to_wire(self) -> dict[str, Any]:
        return {"public_keys": sorted(public_key_text(k) for k in self.keys.values()), "revoked": sorted(self.revoked)}


def looks_like_card(text: str) -> bool:
    return text[: len(PREFIX)].upper() == PREFIX


def read_card(text: str, trust: CardTrust | None) -> Card | Rejection:
    """Decode a ``TK1:`` text and check it against ``trust``. Never raises: a damaged code is
    a ``Rejection``; a readable but untrusted card is a ``Card`` whose ``check`` says why."""
    try:
        return _read(text, trust or CardTrust())
    except Exception:  # untrusted input must never crash a scan
        return Rejection("card_damaged")


def _read(text: str, trust: CardTrust) -> Card | Rejection:
    if len(text) > MAX_TEXT_CHARS:
        return Rejection("card_damaged")
    try:
        raw = base45.b45decode(text.strip()[len(PREFIX) :])
        items = cbor2.loads(raw)
    except Exception:
        return Rejection("card_damaged")
    if not (isinstance(items, list) and len(items) == 7):
        return Rejection("card_damaged")
    kid, number, name, birth_year, commune, days, signature = items
    if not (
        isinstance(kid, bytes)
        and isinstance(signature, bytes)
        and len(signature) == SIGNATURE_LENGTH
        and all(isinstance(v, int) and not isinstance(v, bool) for v in (number, birth_year, days))
        and isinstance(name, str)
        and isinstance(commune, str)
        and 0 <= days <= DAYS_MAX
    ):
        return Rejection("card_damaged")
    data = CardData(number=number, name=name, birth_year=birth_year, commune=commune, issued_on=EPOCH + timedelta(days=days))
    if data.problem() or unicodedata.normalize("NFC", name) != name:
        return Rejection("card_damaged")
    return Card(
        number=data.number,
        name=data.name,
        birth_year=data.birth_year,
        commune=data.commune,
        issued_on=data.issued_on,
        key_id=kid.hex(),
        check=_check(kid, data, signature, trust),
    )


def _check(kid: bytes, data: CardData, signature: bytes, trust: CardTrust) -> CardCheck:
    if not trust.keys:
        return "not_checked"
    public = trust.keys.get(kid)
    if public is None:
        return "unknown_signer"
    try:
        public.verify(signature, _signed_bytes(kid, data))
    except InvalidSignature:
        return "bad_signature"
    return "revoked" if data.number in trust.revoked else "valid"
