"""Enrolling the touchscreen kiosk by its QR code, for real: the app in a subprocess (tests/ui_harness.py)
and a real ``checkpoint-server serve`` on this machine's network address, reached over plain http://
as the kiosk's config allows (``server.allow_insecure_http = true``): the admin is asked first, told
that nothing is encrypted, and afterwards the status line stays amber for as long as that lasts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.conftest import LanServer, outward_address
from tests.test_ui_admin import PIN, enter_pin, shot
from tests.ui_harness import UiKiosk, running_app
from tests.waiting import wait_for
from ui.formatting import LEVEL_COLOURS

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-enrol")


@pytest.fixture(scope="module")
def lan_server(tmp: Path) -> Iterator[LanServer]:
    running = LanServer(tmp / "server", outward_address())
    yield running
    running.stop()
    running.engine.dispose()


@pytest.fixture(scope="module")
def app(tmp: Path, lan_server: LanServer) -> Iterator[UiKiosk]:
    with running_app(tmp, "server.allow_insecure_http=true", "server.retries=0", "kiosk.direction=in") as kiosk:
        yield kiosk


def test_a_scanned_code_for_a_plain_http_server_says_so_and_enrols_after_yes(
    app: UiKiosk, lan_server: LanServer, tmp: Path
) -> None:
    app.tap("admin")
    enter_pin(app, PIN)
    enter_pin(app, PIN)
    app.wait_state(lambda s: s["screen"] == "admin", "the admin screen")
    app.tap("menu_enrol")
    app.call("type", text=lan_server.enroll_qr())
    host = lan_server.url.removeprefix("http://")
    wait_for(lambda: app.call("text_of", id="offer_host") == host, "the question before enrolling")
    assert app.call("text_of", id="offer_plain") == "KHÔNG MÃ HOÁ (http): ai trên mạng cũng đọc được dữ liệu gửi đi."
    assert lan_server.requests("/api/v1/enroll") == 0  # asked first: nothing sent yet
    shot(app, tmp, "admin-enrol-confirm-http")
    app.tap("offer_enrol")
    wait_for(lambda: app.call("text_of", id="message").startswith("Đã đăng ký."), "the enrolment")
    assert app.call("text_of", id="message") == "Đã đăng ký. Điểm kiểm soát: Chốt Ngã ba Đăk Nhau"
    assert (tmp / "data" / "enrolment.json").is_file() and lan_server.requests("/api/v1/enroll") == 1


def test_the_status_line_stays_amber_while_sync_goes_over_plain_http(app: UiKiosk, lan_server: LanServer, tmp: Path) -> None:
    app.tap("back")
    app.call("type", text="0912345678")
    app.tap("admin")
    enter_pin(app, PIN)
    app.wait_state(lambda s: s["screen"] == "admin", "the admin screen")
    app.tap("menu_sync")
    app.tap("sync_now")
    wait_for(lambda: app.call("text_of", id="message") == "Đồng bộ xong.", "the sync")
    assert lan_server.count() == 1  # plain http, allowed: it works
    app.tap("back")
    state = app.wait_state(
        lambda s: "KHÔNG MÃ HOÁ (http)" in s["status"] and "0 lượt chờ gửi" in s["status"], "the status line after the sync"
    )
    assert "có mạng" in state["status"] and "đồng bộ bị lỗi" not in state["status"]
    assert state["status_colour"] == list(LEVEL_COLOURS["warn"])
    shot(app, tmp, "scan-insecure-http")
