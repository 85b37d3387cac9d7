"""The Telex engine of the on-screen name keyboard: what staff type, what the screen shows."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ui.telex import TelexBuffer, telex, tone_position, type_key


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        ("Nguyeenx Thij Anhs Tuyeets", "Nguyễn Thị Ánh Tuyết"),
        ("DDawks Lawks", "Đắk Lắk"),
        ("Uwf owx uwj", "Ừ ỡ ự"),
        ("Hoangf Vawn Thuj", "Hoàng Văn Thụ"),
        ("Phajm Ddoox Buif Leee", "Phạm Đỗ Bùi Lee"),
        ("truwowngf nguowif", "trường người"),
        ("Vieetj Quoocs Giaf", "Việt Quốc Già"),
    ],
)
def test_names_type_as_on_an_office_pc(keys: str, text: str) -> None:
    assert telex(keys) == text


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        ("hoaf", "hòa"),
        ("Thuyr", "Thủy"),
        ("khoer", "khỏe"),  # two vowels at the end: the first
        ("hoangf", "hoàng"),
        ("tuaans", "tuấn"),  # before a final consonant: the last
        ("hoaif", "hoài"),
        ("khuyur", "khuỷu"),  # three vowels: the middle one
        ("quas", "quá"),
        ("gif", "gì"),
        ("giaf", "già"),  # qu and gi are consonants
        ("hosan", "hoán"),  # a tone moves when the word grows
    ],
)
def test_tone_goes_on_the_right_vowel(keys: str, text: str) -> None:
    assert telex(keys) == text


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        ("aa", "â"),
        ("aw", "ă"),
        ("ee", "ê"),
        ("oo", "ô"),
        ("ow", "ơ"),
        ("uw", "ư"),
        ("dd", "đ"),
        ("w", "ư"),
        ("AA", "Â"),
        ("Dd", "Đ"),
        ("uow", "ươ"),
    ],
)
def test_letter_keys(keys: str, text: str) -> None:
    assert telex(keys) == text


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        ("ass", "as"),
        ("aaa", "aa"),
        ("ddd", "dd"),
        ("aww", "aw"),
        ("tuww", "tuw"),
        ("Thomass", "Thomas"),
        ("asz", "a"),
        ("Anhfz", "Anh"),
        ("z", "z"),
        ("s", "s"),
        ("tr", "tr"),
        ("xuaan", "xuân"),
    ],
)
def test_double_press_undoes_and_z_removes_the_tone(keys: str, text: str) -> None:
    assert telex(keys) == text


def test_tone_position_of_words_without_a_vowel() -> None:
    assert tone_position("ng") is None
    assert type_key("", "f") == "f"


@given(st.text(alphabet="aAeEoOuUiIyYdDwWsfrxjzqgnhtkc ", max_size=30))
def test_any_key_sequence_gives_nfc_text_without_crashing(keys: str) -> None:
    text = telex(keys)
    assert unicodedata.is_normalized("NFC", text)
    assert text.count(" ") == keys.count(" ")


def test_buffer_edits_the_last_word_and_can_be_switched_off() -> None:
    field = TelexBuffer()
    for key in "Le Thij Hoongf":
        field.press(key)
    assert field.text == "Le Thị Hồng"
    field.backspace()
    assert field.text == "Le Thị Hồn"
    code = TelexBuffer("7KQ2", enabled=False)
    for key in "-aass":
        code.press(key)
    assert code.text == "7KQ2-aass"
