"""Payload recognition: real ID-card strings, phone forms, unknown and hostile input."""

from __future__ import annotations

import random
import unicodedata
from datetime import date, datetime, timezone

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.credentials import Cccd, Opaque, Phone, Rejection
from kiosk.phone import national_number_valid
from kiosk.recognise import recognise
from kiosk.textcodec import decode_bytes

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
NAME = "Nguyễn Thị Ánh Tuyết"
ADDRESS = "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước"
CCCD_7 = f"070185004321|285123456|{NAME}|14071985|Nữ|{ADDRESS}|10052021"


def parse(payload: bytes | str) -> object:
    return recognise(payload, now=NOW)


def test_cccd_seven_fields() -> None:
    assert parse(CCCD_7) == Cccd(
        id_number="070185004321",
        old_id_number="285123456",
        name=NAME,
        date_of_birth=date(1985, 7, 14),
        sex="Nữ",
        address=ADDRESS,
        issue_date=date(2021, 5, 10),
    )


def test_cccd_empty_old_id_and_utf8_bytes_give_the_same_name() -> None:
    text = "079203001234||Lê Anh Sơn|01022003|Nam|Số 12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh|15062021"
    from_text = parse(text)
    from_bytes = parse(text.encode("utf-8") + b"\r\n")
    assert isinstance(from_text, Cccd) and from_text == from_bytes
    assert from_text.old_id_number is None and from_text.name == "Lê Anh Sơn"


@pytest.mark.parametrize(
    "text, old_id, issue",
    [
        # no issue date
        (f"070185004321|285123456|{NAME}|14071985|Nữ|{ADDRESS}", "285123456", None),
        # no old CMND
        (f"070185004321|{NAME}|14071985|Nữ|{ADDRESS}|10052021", None, date(2021, 5, 10)),
    ],
)
def test_cccd_six_field_variants(text: str, old_id: str | None, issue: date | None) -> None:
    card = parse(text)
    assert isinstance(card, Cccd)
    assert (card.id_number, card.name, card.address) == ("070185004321", NAME, ADDRESS)
    assert (card.old_id_number, card.issue_date) == (old_id, issue)


def test_decomposed_unicode_is_normalised_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", CCCD_7)
    assert nfd != CCCD_7
    card = parse(nfd)
    assert isinstance(card, Cccd) and card.name == NAME and card.sex == "Nữ"


@pytest.mark.parametrize(
    "text, code",
    [
        (f"07018500432|285123456|{NAME}|14071985|Nữ|{ADDRESS}|10052021", "cccd_bad_id"),
        (f"070185004321|28512345X|{NAME}|14071985|Nữ|{ADDRESS}|10052021", "cccd_bad_old_id"),
        (f"070185004321|285123456|{NAME}|31021985|Nữ|{ADDRESS}|10052021", "cccd_bad_date"),
        (f"070185004321|285123456|{NAME}|14071985|Nữ|{ADDRESS}|10052031", "cccd_bad_date"),
        (f"070185004321|285123456|{NAME}|14071985|Khác|{ADDRESS}|10052021", "cccd_bad_sex"),
        (f"070185004321|285123456||14071985|Nữ|{ADDRESS}|10052021", "cccd_bad_name"),
    ],
)
def test_broken_cccd_is_rejected_with_a_reason(text: str, code: str) -> None:
    result = parse(text)
    assert isinstance(result, Rejection) and result.code == code
    assert result.message("vi") and result.message("en")
    assert "070185004321" not in result.message("vi")  # no personal data in messages


def test_leap_day_birth_is_a_real_date() -> None:
    card = parse("001200012345||Phạm Văn Đồng|29022000|Nam|Hà Nội|01012022")
    assert isinstance(card, Cccd) and card.date_of_birth == date(2000, 2, 29)


@pytest.mark.parametrize(
    "text, phone, old",
    [
        ("0912345678", "0912345678", None),
        ("+84 912 345 678", "0912345678", None),
        ("84912345678", "0912345678", None),
        ("0084-912-345-678", "0912345678", None),
        ("0868.123.456", "0868123456", None),
        ("01688123456", "0388123456", "01688123456"),  # 2018 renumbering, Viettel
        ("0123 456 7890", "0834567890", "01234567890"),  # VinaPhone
        ("02838234567", "02838234567", None),  # Ho Chi Minh City landline
    ],
)
def test_phone_forms_normalise(text: str, phone: str, old: str | None) -> None:
    assert parse(text) == Phone(phone=phone, renumbered_from=old)


@pytest.mark.parametrize(
    "text, code",
    [
        ("+1 212 555 0100", "phone_foreign"),
        ("0012125550100", "phone_foreign"),
        ("091234567", "phone_length"),
        ("0112345678", "phone_invalid"),
        # +84 and then the trunk 0 too: "0" + "027833956" would read as 00 27…, a South African
        # number, which an earlier version stored as the phone "0027833956"; no Vietnamese number.
        ("+84027833956", "phone_invalid"),
        ("84 068 221 234", "phone_invalid"),
    ],
)
def test_not_a_vietnamese_phone(text: str, code: str) -> None:
    result = parse(text)
    assert isinstance(result, Rejection) and result.code == code


@pytest.mark.parametrize(
    "text, hint",
    [
        ("https://tokhaiyte.vn/?page=QrCode&id=abc123", "url"),
        ("PC-COVID|v1|7f3a9c", "pc-covid"),
        ("Bàn 7 - quán phở", "text"),
        ("12345", "text"),
    ],
)
def test_unknown_payloads_are_kept_as_opaque(text: str, hint: str) -> None:
    result = parse(text)
    assert isinstance(result, Opaque)
    assert (result.text, result.hint, result.truncated) == (text, hint, False)


def test_a_100kb_payload_is_kept_cut_to_the_limit() -> None:
    payload = ("Đắk Lắk " * 13000).encode("utf-8")
    assert len(payload) > 100_000
    result = recognise(payload, now=NOW, max_bytes=4096)
    assert isinstance(result, Opaque) and result.truncated and result.length == len(payload)
    assert len(result.text.encode("utf-8")) <= 4096 and result.text.startswith("Đắk Lắk")


def test_binary_garbage_is_kept_as_hex() -> None:
    garbage = bytes([0x00, 0xFF, 0x13, 0x80, 0xC3, 0x28, 0x07])
    result = parse(garbage)
    assert isinstance(result, Opaque) and result.hint == "binary" and result.text == garbage.hex()


@pytest.mark.parametrize("payload", ["", "   ", b"\r\n", b"\x00\x00"])
def test_empty_scans_are_rejected(payload: bytes | str) -> None:
    result = parse(payload)
    assert isinstance(result, Rejection) and result.code == "empty"


@pytest.mark.parametrize(
    "encoded",
    [
        CCCD_7.encode("utf-16-be"),  # serial readers without BOM: "ọ"-style letters arrive as 1e cd
        CCCD_7.encode("utf-16-le"),
        CCCD_7.encode("utf-16"),  # with BOM
        b"\xef\xbb\xbf" + CCCD_7.encode("utf-8"),
    ],
)
def test_utf16_and_bom_payloads_decode_exactly(encoded: bytes) -> None:
    card = parse(encoded)
    assert isinstance(card, Cccd) and card.name == NAME and card.address == ADDRESS


def test_utf16be_vietnamese_letter_bytes() -> None:
    assert "ọ".encode("utf-16-be") == b"\x1e\xcd"
    assert decode_bytes("Họ và tên".encode("utf-16-be")) == ("Họ và tên", "utf-16-be")


def test_fallback_encoding_is_used_only_when_utf8_fails() -> None:
    # Windows-1258 has precomposed vowels (ă, ô) but writes tones as combining marks.
    legacy = "Đa\u0300 Nă\u0303ng".encode("cp1258")
    assert decode_bytes(legacy) is None
    text, encoding = decode_bytes(legacy, "cp1258")
    assert (unicodedata.normalize("NFC", text), encoding) == ("Đà Nẵng", "cp1258")
    legacy_card = "001200012345||Đa\u0300 Nă\u0303ng|29022000|Nam|Ha\u0300 Nô\u0323i|01012022"
    card = recognise(legacy_card.encode("cp1258"), now=NOW, fallback_encoding="cp1258")
    assert isinstance(card, Cccd) and card.name == "Đà Nẵng" and card.address == "Hà Nội"
    assert decode_bytes("Đà Nẵng".encode(), "cp1258") == ("Đà Nẵng", "utf-8")


@settings(max_examples=400, deadline=2000)
@given(st.binary(max_size=6000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = recognise(data, now=NOW)
    assert result.kind in ("cccd", "dcc", "phone", "opaque", None)


@settings(max_examples=400, deadline=2000)
@given(st.text(max_size=3000))
def test_arbitrary_text_never_raises(text: str) -> None:
    result = recognise(text, now=NOW)
    assert result.kind in ("cccd", "dcc", "phone", "opaque", None)


@settings(max_examples=300, deadline=2000)
@given(st.lists(st.text(max_size=40), min_size=5, max_size=8))
def test_pipe_separated_fields_never_raise(fields: list[str]) -> None:
    result = recognise("|".join(fields), now=NOW)
    assert result.kind in ("cccd", "phone", "opaque", "dcc", None)


def test_the_split_phone_check_answers_as_phonenumbers_parse_does() -> None:
    """kiosk/phone.py hands phonenumbers the number already split (84, the national digits);
    for every three-digit start after the trunk 0, at both lengths, the answer is whether
    parse finds a valid Vietnamese number. Where parse reads 00… as an international call and
    finds a valid foreign number, the split check refuses it: parse_phone used to store such
    a number (test_not_a_vietnamese_phone), and that was a bug."""
    rng = random.Random(84)
    checked = valid = 0
    for start in range(0, 1000):
        for length in (10, 11):
            for _ in range(3):
                national = f"0{start:03d}" + "".join(rng.choice("0123456789") for _ in range(length - 4))
                try:
                    number = phonenumbers.parse(national, "VN")  # 00…: an international call, not VN
                    expected = number.country_code == 84 and phonenumbers.is_valid_number(number)
                except phonenumbers.NumberParseException:
                    expected = False
                assert national_number_valid(national) is expected, national
                checked += 1
                valid += expected
    assert checked == 6000 and valid > 1000  # the sweep reaches real mobiles and landlines
