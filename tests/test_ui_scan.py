"""The touchscreen app, for real, in one subprocess: scans from a pty serial reader and from
keys typed into the window, repeat and rejection, manual entry on the on-screen keypad and
Telex keyboard, and screenshots of each state at 800×480, 1024×600, 1280×800 and portrait."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.ptyscanner import PtyScanner
from tests.test_run_command import stored
from tests.test_serial_reader import CCCD
from tests.ui_harness import UiKiosk, running_app

SIZES = [(800, 480), (1024, 600), (1280, 800), (480, 800)]
MASKED = "Nguyễn T. Á. T. · ID ***4321"


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-scan")


@pytest.fixture(scope="module")
def scanner(tmp: Path) -> Iterator[PtyScanner]:
    pty = PtyScanner(tmp / "scanner0")
    yield pty
    pty.close()


@pytest.fixture(scope="module")
def app(tmp: Path, scanner: PtyScanner) -> Iterator[UiKiosk]:
    trust = tmp / "trust"
    trust.mkdir()
    vector = json.loads((SAMPLES / "dcc" / "DE_2DCode_raw_1.json").read_text())
    (trust / "de.der").write_bytes(base64.b64decode(vector["TESTCTX"]["CERTIFICATE"]))
    with running_app(
        tmp,
        "scanners.serial.enabled=true",
        f"scanners.serial.port={scanner.link}",
        f"dcc.trust_dir={trust}",
        "kiosk.repeat_window_s=600",
        "ui.result_seconds=60",
    ) as kiosk:
        yield kiosk


def shots(app: UiKiosk, tmp: Path, name: str) -> list[Path]:
    """The current screen at every size, back at 800×480 afterwards."""
    saved = []
    for width, height in SIZES:
        assert app.call("size", width=width, height=height) == [width, height]
        saved.append(Path(app.call("shot", path=str(tmp / "shots" / f"{name}-{width}x{height}.png"))))
    app.call("size", width=800, height=480)
    assert all(p.is_file() and p.stat().st_size > 5000 for p in saved)
    return saved


def visits(tmp: Path) -> list[dict]:
    """Newest first, each with what it keeps for the district (no key in these kiosks)."""
    return stored(tmp / "data")[::-1]


def test_ready_screen(app: UiKiosk, tmp: Path) -> None:
    state = app.wait_state(lambda s: s["readers"] == ["connected"], "the serial reader")
    assert (state["screen"], state["panel"]["title"], state["lang"]) == ("scan", "SẴN SÀNG", "vi")
    assert "Máy quét: sẵn sàng" in state["status"] and "chưa có đồng bộ" not in state["counts"]
    shots(app, tmp, "ready")


def test_serial_scan_shows_green_with_the_masked_vietnamese_name(app: UiKiosk, scanner: PtyScanner, tmp: Path) -> None:
    scanner.write(CCCD.encode() + b"\r\n")
    state = app.wait_state(lambda s: s["panel"]["state"] == "accepted", "the green panel")
    assert state["panel"]["title"] == "ĐÃ GHI NHẬN · VÀO"
    assert state["panel"]["summary"] == MASKED
    assert state["counts"] == "Vào 1 · Ra 0 · Tổng 1"
    shots(app, tmp, "accepted")
    assert "Ánh Tuyết" not in app.call("text_of", id="summary")


def test_the_same_card_again_is_amber_with_the_first_time(app: UiKiosk, scanner: PtyScanner, tmp: Path) -> None:
    scanner.write(CCCD.encode("utf-16-be") + "\r\n".encode("utf-16-be"))
    state = app.wait_state(lambda s: s["panel"]["state"] == "repeat", "the amber panel")
    assert state["panel"]["title"].startswith("ĐÃ GHI NHẬN LÚC ") and state["panel"]["summary"] == MASKED
    assert len(visits(tmp)) == 1
    shots(app, tmp, "repeat")


def test_garbage_typed_into_the_window_is_red_with_the_reason(app: UiKiosk, tmp: Path) -> None:
    app.call("type", text="HC1:NOT-A-CERTIFICATE")
    state = app.wait_state(lambda s: s["panel"]["state"] == "rejected", "the red panel")
    assert state["panel"]["title"] == "KHÔNG GHI NHẬN"
    assert "Chứng nhận tiêm chủng hỏng" in state["panel"]["summary"]
    shots(app, tmp, "rejected")


def test_typed_keyboard_scan_switched_to_exit(app: UiKiosk) -> None:
    app.tap("dir_out")
    assert app.state()["direction"] == "out"
    app.call("type", text="0912345678")
    state = app.wait_state(lambda s: s["panel"]["summary"] == "SĐT ***5678", "the phone scan")
    assert (state["panel"]["state"], state["panel"]["title"]) == ("accepted", "ĐÃ GHI NHẬN · RA")
    app.tap("dir_in")


def test_an_expired_vaccine_certificate_is_recorded_on_an_orange_panel(app: UiKiosk, tmp: Path) -> None:
    vector = json.loads((SAMPLES / "dcc" / "DE_2DCode_raw_1.json").read_text())  # signed 2021, long expired
    app.call("type", text=vector["PREFIX"])
    state = app.wait_state(lambda s: s["panel"]["summary"].startswith("Mustermann E."), "the certificate")
    assert state["panel"]["state"] == "certificate"  # recorded (tracing), but never green
    assert state["panel"]["detail"] == "Chứng nhận HẾT HẠN"
    assert visits(tmp)[0]["fields"]["signature"] == "expired"
    shots(app, tmp, "certificate")


def test_manual_entry_with_keypad_and_telex_records_a_manual_visit(app: UiKiosk, tmp: Path) -> None:
    app.tap("manual")
    assert app.state()["screen"] == "manual"
    for digit in "098765432":
        app.tap("keypad", text=digit)
    state = app.state()["manual"]
    assert state["phone"] == "098765432" and not state["ok"] and state["hint"] == "Nhập tiếp…"
    app.tap("keypad", text="1")
    assert app.state()["manual"]["ok"] and app.state()["manual"]["hint"] == "Số hợp lệ"
    app.tap("name")
    for key in "nguyeenx thij":  # each word starts with a capital by itself
        app.tap("letters", text="dấu cách" if key == " " else key)
    assert app.state()["manual"]["name"] == "Nguyễn Thị"
    shots(app, tmp, "manual-name")
    app.tap("letters", text="Xong")
    app.tap("dir_out")
    shots(app, tmp, "manual")
    app.tap("confirm")
    state = app.wait_state(
        lambda s: s["screen"] == "scan" and s["panel"]["summary"].endswith("***4321"), "the manual visit on the scan screen"
    )
    assert state["panel"]["summary"] == "Nguyễn T. · SĐT ***4321" and state["panel"]["title"] == "ĐÃ GHI NHẬN · RA"
    manual = [v for v in visits(tmp) if v["source"] == "manual"]
    assert [(v["kind"], v["direction"], v["fields"]["phone"], v["fields"]["name"]) for v in manual] == [
        ("phone", "out", "0987654321", "Nguyễn Thị")
    ]


def test_history_lists_masked_visits_and_totals(app: UiKiosk, tmp: Path) -> None:
    app.tap("history")
    app.wait_state(lambda s: s["screen"] == "history", "the history screen")
    assert app.call("text_of", id="totals") == "Hôm nay: Vào 2 · Ra 2 · Tổng 4"
    shots(app, tmp, "history")
    app.tap("back")
    assert app.state()["screen"] == "scan"
