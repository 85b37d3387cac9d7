"""District cards at the kiosk: the format (kiosk/cards.py), the scan service, the panel, the readers.

Printing, the camera and the server have their own files (test_cards_print.py,
server/test_cards_server.py); here every reader but the camera delivers the same payloads.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
import segno
from evdev import ecodes as e
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.hid import read_loop
from drivers.keymap import KeyDecoder
from drivers.serial_reader import SerialSource
from kiosk.card_trust_file import write_card_trust
from kiosk.cards import PREFIX, TEXT_BYTES_MAX, CardData, CardTrust, read_card, sign_card
from kiosk.credentials import Card, Rejection
from kiosk.recognise import recognise
from kiosk.scan import ScanEvent, ScanService
from tests.cardfixtures import COMMUNE, DISTRICT_KEY, ISSUED, NAMES, OTHER_DISTRICT_KEY, card_text, trust, worst_case_name
from tests.conftest import FakeClock
from tests.evdev_replay import Recording, ReplayDevice
from tests.ptyscanner import PtyScanner
from tests.test_scan import make_service
from tests.test_serial_reader import config_for
from tests.test_ui_text import en, vi
from tests.waiting import WAIT_S, wait_for
from ui.formatting import panel_for

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
RECORDING = Path(__file__).parent / "data" / "evdev" / "district_cards.jsonl"


# --- the format ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_card_reads_back_exactly_and_verifies(name: str) -> None:
    card = read_card(card_text(7, name), trust())
    assert isinstance(card, Card)
    assert (card.check, card.number, card.name, card.commune, card.birth_year, card.issued_on) == (
        "valid",
        7,
        name,
        COMMUNE,
        1958,
        ISSUED,
    )


def test_the_worst_case_name_fits_a_version_10_code_at_level_m() -> None:
    name = worst_case_name()
    assert len(name.encode()) + len(COMMUNE.encode()) == TEXT_BYTES_MAX
    text = sign_card(CardData(2**32 - 1, name, 2100, COMMUNE, date(2199, 1, 1)), DISTRICT_KEY)
    code = segno.make(text, error="m", boost_error=False, micro=False)
    assert (code.version, code.mode) == (10, "alphanumeric")
    read = read_card(text, trust())
    assert isinstance(read, Card) and read.name == name and read.check == "valid"
    with pytest.raises(ValueError, match="card_text_too_long"):
        sign_card(CardData(1, name + "a", 1958, COMMUNE, ISSUED), DISTRICT_KEY)


def test_every_card_character_is_in_the_qr_alphanumeric_set() -> None:
    texts = [card_text(n, name) for n, name in enumerate(NAMES, 1)]
    assert all(set(t) <= set(BASE45) for t in texts)
    assert all(t.startswith(PREFIX) for t in texts)


def _forged(text: str, **changes: object) -> str:
    kid, number, name, birth_year, commune, days, signature = cbor2.loads(base45.b45decode(text[len(PREFIX) :]))
    fields = {"number": number, "name": name, "birth_year": birth_year, "commune": commune} | changes
    body = [kid, fields["number"], fields["name"], fields["birth_year"], fields["commune"], days, signature]
    return PREFIX + base45.b45encode(cbor2.dumps(body)).decode()


def test_a_forged_card_another_districts_card_and_a_revoked_card_are_each_refused_for_their_reason() -> None:
    genuine = card_text(12, "Trần Thị Bích Ngọc")
    forged = _forged(genuine, name="Trần Thị Bích Ngân")  # the same signature on another name
    other = card_text(12, "Trần Thị Bích Ngọc", key=OTHER_DISTRICT_KEY)
    checks = {label: read_card(text, trust(99)) for label, text in (("genuine", genuine), ("forged", forged), ("other", other))}
    assert {k: v.check for k, v in checks.items() if isinstance(v, Card)} == {
        "genuine": "valid",
        "forged": "bad_signature",
        "other": "unknown_signer",
    }
    assert isinstance(checks["forged"], Card) and checks["forged"].name == "Trần Thị Bích Ngân"  # recorded as shown
    revoked = read_card(genuine, trust(12))
    assert isinstance(revoked, Card) and revoked.check == "revoked"
    moved = _forged(genuine, number=13)  # a copied signature on another card number
    assert isinstance(read := read_card(moved, trust()), Card) and read.check == "bad_signature"


def test_without_district_keys_a_card_is_read_but_not_checked() -> None:
    card = read_card(card_text(3, "Lê Anh Sơn"), CardTrust())
    assert isinstance(card, Card) and card.check == "not_checked"


@pytest.mark.parametrize("cut", [5, 40, 120, -3, -1])
def test_a_card_read_short_is_damaged_not_a_crash(cut: int) -> None:
    assert read_card(card_text(3, "Lê Anh Sơn")[:cut], trust()) == Rejection("card_damaged")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=BASE45, max_size=400))
def test_any_text_after_the_prefix_gives_a_card_or_a_rejection(body: str) -> None:
    result = recognise(PREFIX + body, cards=trust())
    assert isinstance(result, Card | Rejection)


# --- the scan service, the panel and the command line's words --------------------------------


@pytest.fixture
def kiosk(tmp_path: Path, clock: FakeClock) -> ScanService:
    service = make_service(tmp_path, clock)
    write_card_trust(service.config.data_dir, trust(5))
    return service


def whole_fields(kiosk: ScanService) -> list[dict[str, Any]]:
    """The whole fields of each visit, newest first: this test kiosk has no district key yet, so
    they wait in clear for it (kiosk/store.py) instead of being sealed."""
    rows = kiosk.store.db.conn.execute("SELECT clear FROM visits ORDER BY seq DESC").fetchall()
    return [json.loads(clear)["fields"] for (clear,) in rows]


def test_a_good_card_is_green_with_the_masked_name(kiosk: ScanService) -> None:
    result = kiosk.handle(ScanEvent(source="serial", text=card_text(4, "Công Tằng Tôn Nữ Thị Xuân Hường")))
    assert (result.status, result.kind, result.doubtful, result.details) == ("accepted", "card", False, {"card": "valid"})
    assert result.summary == "Công T. T. N. T. X. H. · Thẻ ***004"
    panel = panel_for(result, vi)
    assert (panel.state, panel.detail) == ("accepted", "Thẻ kiểm soát dịch bệnh hợp lệ")
    stored = kiosk.store.visits()[0]
    assert stored["kind"] == "card" and stored["fields"]["name"] == "Công T. T. N. T. X. H."  # masked in clear
    assert stored["fields"]["card_number"] == "***004" and stored["fields"]["check"] == "valid"
    assert whole_fields(kiosk)[0]["name"] == "Công Tằng Tôn Nữ Thị Xuân Hường"  # whole until the district key seals it


@pytest.mark.parametrize(
    ("text", "check", "words"),
    [
        (lambda: card_text(5, "Lê Anh Sơn"), "revoked", "Thẻ ĐÃ BỊ THU HỒI (mất hoặc đã cấp thẻ mới)"),
        (lambda: card_text(6, "Lê Anh Sơn", key=OTHER_DISTRICT_KEY), "unknown_signer", "Thẻ do huyện khác hoặc khóa không rõ ký"),
        (lambda: _forged(card_text(6, "Lê Anh Sơn"), name="Lê Anh Sang"), "bad_signature", "Thẻ KHÔNG HỢP LỆ: bị sửa sau khi ký"),
    ],
)
def test_doubtful_cards_are_recorded_on_the_orange_panel_with_the_reason(kiosk: ScanService, text, check: str, words: str) -> None:
    result = kiosk.handle(ScanEvent(source="camera", text=text()))
    assert (result.status, result.doubtful, result.details) == ("accepted", True, {"card": check})
    panel = panel_for(result, vi)
    assert (panel.state, panel.detail) == ("certificate", words)
    assert panel_for(result, en).state == "certificate"
    assert kiosk.store.visits()[0]["fields"]["check"] == check  # tracing needs everyone: kept, with the reason


def test_a_revocation_written_by_a_sync_applies_at_the_next_scan_without_a_restart(kiosk: ScanService, clock: FakeClock) -> None:
    text = card_text(8, "Phạm Quốc Đạt")
    assert kiosk.handle(ScanEvent(source="serial", text=text)).details == {"card": "valid"}
    write_card_trust(kiosk.config.data_dir, trust(5, 8))
    os.utime(kiosk.config.data_dir / "card-trust.json", ns=(1, 1))  # a new mtime even within the clock's granularity
    clock.advance(3600)
    assert kiosk.handle(ScanEvent(source="serial", text=text)).details == {"card": "revoked"}


# --- readers: a serial pty and recorded keyboard-wedge events ----------------------------------


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[PtyScanner]:
    scanner = PtyScanner(tmp_path / "scanner0")
    yield scanner
    scanner.close()


def test_cards_through_a_serial_reader_arrive_exactly_and_verify(pty: PtyScanner, kiosk: ScanService) -> None:
    events: queue.Queue[ScanEvent] = queue.Queue()
    source = SerialSource(events.put, config_for(pty.link))
    source.start()
    try:
        wait_for(lambda: source.status.state.name == "CONNECTED", "the port to open")
        texts = [card_text(n, name) for n, name in enumerate(NAMES[:6], 20)]
        for text in texts:
            pty.write(text.encode("ascii") + b"\r\n")
        got = [events.get(timeout=WAIT_S) for _ in texts]
    finally:
        source.stop()
    results = [kiosk.handle(event) for event in got]
    assert [r.details for r in results] == [{"card": "valid"}] * len(texts)
    assert [f["name"] for f in reversed(whole_fields(kiosk))] == NAMES[:6]


# A US keyboard, by hand (not from drivers/keymap.py): the key and whether Shift is held.
US_KEYS: dict[str, tuple[int, bool]] = {
    **{str(d): (getattr(e, f"KEY_{d}"), False) for d in range(10)},
    **{c: (getattr(e, f"KEY_{c}"), True) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    " ": (e.KEY_SPACE, False),
    "$": (e.KEY_4, True),
    "%": (e.KEY_5, True),
    "*": (e.KEY_8, True),
    "+": (e.KEY_EQUAL, True),
    "-": (e.KEY_MINUS, False),
    ".": (e.KEY_DOT, False),
    "/": (e.KEY_SLASH, False),
    ":": (e.KEY_SEMICOLON, True),
}


def keystrokes(texts: list[str], start: float = 1763890000.0) -> list[dict[str, float | int]]:
    """What a US-layout reader sends for ``texts``, each ended by Enter, as the recordings store it."""
    events: list[dict[str, float | int]] = []
    moment = start
    for batch, text in enumerate(texts):
        for key, shift in [*(US_KEYS[ch] for ch in text), (e.KEY_ENTER, False)]:
            for code, value in (
                ([(e.KEY_LEFTSHIFT, 1)] if shift else []) + [(key, 1), (key, 0)] + ([(e.KEY_LEFTSHIFT, 0)] if shift else [])
            ):
                events.append({"batch": batch, "time": round(moment, 3), "type": e.EV_KEY, "code": code, "value": value})
                events.append({"batch": batch, "time": round(moment, 3), "type": e.EV_SYN, "code": 0, "value": 0})
                moment += 0.002
    return events


def recorded_cards() -> list[str]:
    return [card_text(n, name) for n, name in ((1, NAMES[1]), (2, NAMES[6]), (3, NAMES[14]))]


def test_the_recording_types_these_cards() -> None:
    """tests/data/evdev/district_cards.jsonl holds exactly ``keystrokes(recorded_cards())``."""
    lines = RECORDING.read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines[1:]] == keystrokes(recorded_cards())


def test_every_card_character_types_through_the_us_keymap() -> None:
    decoder = KeyDecoder()
    done: list[str] = []
    for event in keystrokes([BASE45]):
        done += decoder.feed(int(event["type"]), int(event["code"]), int(event["value"]), float(event["time"]))
    assert done == [BASE45]


def test_cards_through_recorded_keyboard_wedge_events_arrive_exactly_and_verify(kiosk: ScanService) -> None:
    device = ReplayDevice(Recording(RECORDING.name), "replay")
    device.release()
    scans: list[str] = []
    stop = threading.Event()
    wake_r, wake_w = os.pipe()
    loop = threading.Thread(target=read_loop, args=(device, KeyDecoder(), scans.append, wake_r, stop.is_set))
    loop.start()
    try:
        wait_for(lambda: len(scans) >= 3, "3 scans")
    finally:
        stop.set()
        os.write(wake_w, b"x")
        loop.join(WAIT_S)
        os.close(wake_r)
        os.close(wake_w)
        device.close()
    assert scans == recorded_cards()
    results = [kiosk.handle(ScanEvent(source="hid", text=text)) for text in scans]
    assert [r.details for r in results] == [{"card": "valid"}] * 3
    assert [f["name"] for f in reversed(whole_fields(kiosk))] == [NAMES[1], NAMES[6], NAMES[14]]
