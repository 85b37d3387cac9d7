"""Green is a promise, end to end: every edge credential the kiosk shows green reaches the
district server exactly once and can be traced; what the server would refuse is red at
the kiosk with a reason a guard understands. The real ``checkpoint-kiosk`` (record,
manual, sync) against a real ``checkpoint-server serve``, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from tests.conftest import run_cli
from tests.sync.conftest import Kiosk, Server
from tests.test_dcc import SAMPLES

NAME = "Nguyễn Thị Ánh Tuyết"
ADDRESS = "Tổ dân phố 12, Khu phố Tân Lập, Phường Tân Thiện, Thành phố Đồng Xoài, Tỉnh Bình Phước"
LONG_ADDRESS = (
    "Số nhà 127/45/12 Hẻm 3, Đường Nguyễn Thị Minh Khai, Khu dân cư số 7, Ấp Phước Thạnh, "
    "Xã Phước Thạnh Đông, Huyện Bù Gia Mập, Tỉnh Bình Phước (gần Trường Tiểu học Phước Thạnh, "
    "đối diện Nhà văn hóa ấp, sau Chợ Phước Thạnh cũ), Tổ 8, Khu phố 2, Phường Tân Xuân, "
    "Thành phố Đồng Xoài, Tỉnh Bình Phước, Việt Nam — địa chỉ tạm trú theo sổ tạm trú số 0123/TT"
)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def card(id_number: str, name: str = NAME, address: str = ADDRESS, old: str = "285123456") -> str:
    return f"{id_number}|{old}|{name}|14071985|Nữ|{address}|10052021"


def dcc_text() -> str:
    vector = json.loads((SAMPLES / "common_2DCode_raw_CO3.json").read_text())
    return str(vector["PREFIX"])


# (what is typed or scanned, how, what the guard must see)
GREEN = [
    ("record", card("070185004321"), "7-field CCCD"),
    ("record", "070185004322|Lê Anh Sơn|02021990|Nam|Thôn 3, Xã Đăk Nhau|10052021", "6 fields, no old CMND"),
    ("record", "070185004323|285123457|Điểu Thị Hằng|02021990|Nữ|Bon Bu Prâng", "6 fields, no issue date"),
    ("record", card("070185004324".translate(FULLWIDTH)), "fullwidth digits folded to ASCII"),
    ("record", card("070185004325", address=LONG_ADDRESS), f"a real {len(LONG_ADDRESS)}-character address"),
    ("record", card("070185004326", name=unicodedata.normalize("NFD", "Đặng Hữu Lộc")), "a decomposed (NFD) name"),
    ("record", card("070185004327", name="Tôn Nữ " + "Thị Ánh " * 11 + "Tuyết"), "a 100-character name"),
    ("record", "+84 912 345 678", "phone +84 with spaces"),
    ("record", "0084912345679", "phone 0084"),
    ("record", "01689123456", "old 11-digit mobile, renumbered"),
    ("record", "https://pc-covid.gov.vn/qr/ABCDEF0123456789", "PC-Covid personal code"),
    ("record", "Ư" * 3000, "9,000 bytes of text, cut to 4 KiB"),
    ("record", dcc_text(), "EU vaccine certificate (test vector)"),
    ("manual", ["--phone", "028 3812 3456", "--name", "Trần Thị Thủy"], "a Hồ Chí Minh City landline"),
    (
        "manual",
        ["--phone", "0987654321", "--name", "Bùi Bá Khải", "--id-number", "070185004330".translate(FULLWIDTH)],
        "manual entry with a fullwidth ID number",
    ),
    (
        "manual",
        ["--phone", "0912000111", "--id-number", "285123456", "--operator", "Tổ trực số 1 — Đặng Văn Đức"],
        "9-digit CMND and a Vietnamese operator",
    ),
    ("stdin", card("070185004331", name="Lê Anh Sơn").encode("utf-16-be"), "UTF-16BE from a serial reader"),
    ("stdin", b"VENUE\x00CODE\x01\x02", "bytes with NUL: kept as hex"),
]
RED = [
    ("record", card("070185004340", name="Nguyễn " * 20 + "An"), "visit_invalid", "họ tên"),
    ("record", card("070185004341", address=LONG_ADDRESS * 2), "visit_invalid", "địa chỉ"),
    ("record", card("٠٧٠١٨٥٠٠٤٣٤٢"), "cccd_bad_id", "12 chữ số"),
    ("manual", ["--phone", "٠٩١٢٣٤٥٦٧٨"], "phone_chars", "chữ số"),
    ("manual", ["--phone", "0912345670", "--operator", "Đ" * 101], "visit_invalid", "tên người trực"),
]


def scan(kiosk: Kiosk, how: str, what: object) -> dict:
    if how == "record":
        result = kiosk.cli("record", str(what))
    elif how == "stdin":
        result = run_cli("--config", str(kiosk.config_file), "record", "-", stdin=bytes(what))  # type: ignore[call-overload]
    else:
        result = kiosk.cli("manual", *what)  # type: ignore[misc]
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {"status": "error", "stderr": result.stderr}


def test_every_green_edge_credential_is_on_the_server_once_and_every_red_says_why(any_server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    kiosk.enroll(any_server)
    green: dict[str, str] = {}
    for how, what, label in GREEN:
        answer = scan(kiosk, how, what)
        assert answer["status"] == "accepted", (label, answer)
        green[answer["visit_id"]] = label
    for how, what, code, words in RED:
        answer = scan(kiosk, how, what)
        assert answer["status"] == "rejected" and answer.get("reason_code") == code, (code, answer)
        assert words in answer["reason"], answer["reason"]

    synced = kiosk.cli("sync", "--json")
    assert synced.code == 0, synced.stderr
    summary = synced.json()
    assert (summary["created"], summary["rejected"], summary["pending"]) == (len(GREEN), 0, 0), summary
    assert set(any_server.visit_ids()) == set(green) and set(any_server.visit_ids().values()) == {1}
    assert kiosk.ids("synced") == set(green)

    stored = any_server.visits()
    by_label = {label: stored[visit_id] for visit_id, label in green.items()}
    assert by_label["fullwidth digits folded to ASCII"]["id_number"] == "070185004324"
    assert by_label[f"a real {len(LONG_ADDRESS)}-character address"]["fields"]["address"] == LONG_ADDRESS
    assert by_label["a decomposed (NFD) name"]["person_name"] == "Đặng Hữu Lộc"  # NFC, byte for byte
    assert by_label["UTF-16BE from a serial reader"]["person_name"] == "Lê Anh Sơn"
    assert by_label["a Hồ Chí Minh City landline"]["phone"] == "02838123456"
    assert by_label["manual entry with a fullwidth ID number"]["id_number"] == "070185004330"
    assert by_label["old 11-digit mobile, renumbered"]["phone"] == "0389123456"
    assert not any(row["time_unknown"] for row in stored.values())

    found = any_server.cli(
        "trace",
        "person",
        "--phone",
        "028 3812 3456",
        "--from",
        "2020-01-01",
        "--to",
        "2100-01-01",
        "--reason",
        "F1 của BN1234",
        "--as",
        "Trần Văn Bình",
        "--format",
        "json",
    )
    assert found.code == 0, found.stderr
    assert [v["name"] for v in json.loads(found.stdout)["visits"]] == ["Trần Thị Thủy"]
    by_id = any_server.cli(
        "trace",
        "person",
        "--id-number",
        "070185004324".translate(FULLWIDTH),
        "--from",
        "2020-01-01",
        "--to",
        "2100-01-01",
        "--reason",
        "F1 của BN1234",
        "--as",
        "Trần Văn Bình",
        "--format",
        "json",
    )
    assert by_id.code == 0 and json.loads(by_id.stdout)["count"] == 1, by_id.stderr
