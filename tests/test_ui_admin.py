"""The touchscreen app's admin side, for real, in one subprocess: the PIN chosen on first
use, Escape and the close button refused, language switch, the admin panels, the panel
going back to ready, and the lockout after wrong PINs (last: it shuts the admin screen)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.messages import render
from tests.ui_harness import UiKiosk, running_app
from tests.waiting import wait_for
from ui.pin import PinStore

PIN = "2468"


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-admin")


@pytest.fixture(scope="module")
def app(tmp: Path) -> Iterator[UiKiosk]:
    with running_app(
        tmp, "ui.result_seconds=1", "ui.pin_attempts=3", "ui.pin_lockout_s=600", "kiosk.direction=in", "server.retries=0"
    ) as kiosk:
        yield kiosk


def enter_pin(app: UiKiosk, pin: str) -> None:
    for digit in pin:
        app.tap("keypad", text=digit)
    app.tap("ok")


def shot(app: UiKiosk, tmp: Path, name: str) -> None:
    assert Path(app.call("shot", path=str(tmp / "shots" / f"{name}.png"))).is_file()


def test_result_returns_to_ready_and_direction_is_fixed(app: UiKiosk) -> None:
    app.call("type", text="0912345678")
    app.wait_state(lambda s: s["panel"]["state"] == "accepted", "the green panel")
    app.wait_state(lambda s: s["panel"]["state"] == "ready", "the panel back to ready")
    app.tap("dir_out")  # disabled: this checkpoint records entries only
    assert app.state()["direction"] == "in"


def test_first_admin_visit_sets_the_pin_typed_twice(app: UiKiosk, tmp: Path) -> None:
    app.tap("admin")
    state = app.state()
    assert (state["screen"], state["pin"]["mode"]) == ("pin", "new")
    shot(app, tmp, "pin-new")
    enter_pin(app, PIN)
    assert app.state()["pin"]["mode"] == "confirm"
    enter_pin(app, "1357")
    assert app.state()["pin"]["message"] == "Hai mã PIN không khớp. Làm lại từ đầu."
    enter_pin(app, PIN)
    enter_pin(app, PIN)
    app.wait_state(lambda s: s["screen"] == "admin", "the admin screen")
    assert PinStore(tmp / "data").check(PIN).ok
    shot(app, tmp, "admin-sync")


def test_admin_panels_without_a_sync_client_say_so_or_work(app: UiKiosk, tmp: Path) -> None:
    for panel in ("export", "enrol", "readers", "device", "sync"):
        app.tap(f"menu_{panel}")
        shot(app, tmp, f"admin-{panel}")
    app.tap("menu_device")
    info = app.call("text_of", id="info")
    assert "DEMO-01" in info and "Xã Đăk Nhau" in info


def test_checkup_panel_shows_the_doctors_findings_with_fixes(app: UiKiosk, tmp: Path) -> None:
    moved = tmp / "data" / "visits.sqlite3.corrupt-20261123T010203Z"
    moved.write_bytes(b"not a database")
    moved.chmod(0o600)  # as the kiosk keeps a damaged file aside (a rename keeps its 0600)
    app.tap("menu_checkup")
    wait_for(lambda: app.call("text_of", id="summary") != "Đang kiểm tra…", "the check-up to finish")
    assert app.call("text_of", id="summary").endswith("0 lỗi"), app.call("texts_under", id="rows")
    lines = app.call("texts_under", id="rows")
    assert render("doctor_db_quarantined", "vi", path=str(moved)) in lines
    assert "Cách sửa: " + render("fix_db_quarantined", "vi", path=str(moved)) in lines
    assert render("doctor_db_ok", "vi", path=str(tmp / "data" / "visits.sqlite3")) in lines
    shot(app, tmp, "admin-checkup")
    moved.unlink()


def test_enrolment_qr_read_on_the_enrol_panel_asks_first_and_is_not_a_visit(app: UiKiosk, tmp: Path) -> None:
    before = app.state()["counts"]
    app.tap("menu_enrol")
    app.call("type", text="cpk-enroll:1?server=http%3A%2F%2F127.0.0.1%3A9&code=7KQ2-MX4P-9TJD")
    wait_for(lambda: app.call("text_of", id="offer_host") == "127.0.0.1:9", "the question before enrolling")
    assert app.call("text_of", id="offer_code") == "Mã đăng ký: 7KQ2-MX4P-9TJD"
    assert app.call("text_of", id="offer_plain") == ""  # http:// to this machine crosses no network
    assert app.call("text_of", id="message") == ""  # nothing tried yet
    assert app.state()["counts"] == before  # the enrolment code went to enrolment, not into the visits
    app.tap("offer_enrol")
    waiting = ("", "Đang đăng ký…")
    wait_for(lambda: app.call("text_of", id="message") not in waiting, "the enrolment attempt (no server there)")
    assert app.call("text_of", id="message") == render("enroll_server_unreachable", "vi", server="http://127.0.0.1:9")
    shot(app, tmp, "admin-enrol-failed")
    app.tap("menu_device")
    app.call("type", text="0911222333")  # an ordinary scan while the admin screen is open is a visit
    app.wait_state(lambda s: s["counts"] != before, "the ordinary scan")
    assert app.state()["counts"] == "Vào 2 · Ra 0 · Tổng 2"


def test_an_enrolment_qr_for_a_long_host_is_shown_whole_and_cancel_enrols_nothing(app: UiKiosk, tmp: Path) -> None:
    host = "kiemsoat-phongchongdich.trungtamytehuyenbudang.soytebinhphuoc.gov.vn:8443"
    app.tap("menu_enrol")
    app.call("type", text=f"cpk-enroll:1?server=https%3A%2F%2F{host.replace(':', '%3A')}&code=7KQ2-MX4P-9TJD")
    wait_for(lambda: app.call("text_of", id="offer_host") == host, "the question before enrolling")
    assert app.call("text_of", id="offer_url") == f"https://{host}"
    assert app.call("text_of", id="offer_question") == "Đăng ký kiosk này với máy chủ này?"
    assert app.call("prop", id="offer", name="disabled") is False
    shot(app, tmp, "admin-enrol-confirm")
    app.tap("offer_cancel")
    assert app.call("prop", id="offer", name="disabled") is True
    assert app.call("text_of", id="message").startswith("Chưa đăng ký.")
    assert not (tmp / "data" / "enrolment.json").exists()


def test_an_enrolment_qr_for_plain_http_elsewhere_is_refused_on_the_spot(app: UiKiosk) -> None:
    app.tap("menu_enrol")
    app.call("type", text="cpk-enroll:1?server=http%3A%2F%2Fkiemsoat.example.gov.vn&code=7KQ2-MX4P-9TJD")
    refusal = render("server_http_refused", "vi", server="http://kiemsoat.example.gov.vn")
    wait_for(lambda: app.call("text_of", id="message") == refusal, "the refusal")
    assert app.call("prop", id="offer", name="disabled") is True  # no question: there is nothing to confirm
    assert not (app.call("text_of", id="offer_host") or "").startswith("kiemsoat.example.gov.vn")


def test_language_switch_to_english_and_back(app: UiKiosk, tmp: Path) -> None:
    app.tap("menu_device")
    app.tap("lang_en")
    assert app.call("text_of", id="back") == "Back"
    app.tap("back")
    state = app.wait_state(lambda s: s["panel"]["state"] == "ready", "the ready panel")
    assert (state["lang"], state["panel"]["title"]) == ("en", "READY")
    assert app.call("text_of", id="manual") == "Manual entry"
    shot(app, tmp, "ready-en")
    app.call("type", text="HC1:???")
    state = app.wait_state(lambda s: s["panel"]["state"] == "rejected", "the red panel")
    assert state["panel"]["title"] == "NOT RECORDED" and state["panel"]["summary"].startswith("Damaged vaccine")
    app.tap("admin")
    enter_pin(app, PIN)
    app.wait_state(lambda s: s["screen"] == "admin", "the admin screen")
    app.tap("menu_device")
    app.tap("lang_vi")
    app.tap("back")
    app.wait_state(lambda s: s["panel"]["title"] == "SẴN SÀNG", "the ready panel in Vietnamese")


def test_escape_and_the_close_button_do_not_leave_the_app(app: UiKiosk) -> None:
    app.call("key", code=27)
    assert app.state()["screen"] == "scan"
    app.call("close_window")
    state = app.state()
    assert state["screen"] == "pin" and state["pin"]["mode"] == "check"  # leaving needs the PIN
    app.tap("cancel")
    assert app.state()["screen"] == "scan"


def test_wrong_pins_lock_the_admin_screen(app: UiKiosk, tmp: Path) -> None:
    app.tap("admin")
    enter_pin(app, "0000")
    app.wait_state(lambda s: s["pin"]["message"] == "Sai PIN. Còn 2 lần thử.", "the first wrong PIN")
    enter_pin(app, "1111")
    app.wait_state(lambda s: s["pin"]["message"] == "Sai PIN. Còn 1 lần thử.", "the second wrong PIN")
    enter_pin(app, "2222")
    app.wait_state(lambda s: s["pin"]["message"] == "Sai PIN quá nhiều lần. Thử lại sau 600 giây.", "the lockout")
    enter_pin(app, PIN)  # the right PIN does not open a locked screen
    state = app.wait_state(lambda s: not s["pin"]["busy"], "the check")
    assert state["screen"] == "pin" and state["pin"]["message"].startswith("Sai PIN quá nhiều lần")
    shot(app, tmp, "pin-locked")
    assert PinStore(tmp / "data").locked_for() > 500  # on disk: a restart does not unlock
