"""No cut word on any screen: the real app with the worst content a kiosk can hold, at
800×480, 1024×600, 1280×800 and 480×800, every shown label checked against its widget.

The kiosk holds 99,999 entries waiting to be sent and 99,999 exits the server rejected
(five-digit counts, a six-digit total), every reader enabled and none connected, the clock
not synchronised, a plain http:// server off this machine, sync failing and asking to be
enrolled again, a damaged database kept aside, a long checkpoint name and long Vietnamese
names. For the scan screen (ready, green, orange, red), history, manual entry, the PIN and
each admin panel, ``cut_labels`` (tests/ui_harness.py) measures every shown label's text
laid out without shortening and fails on any that would be cut, run out of its widget or the
window, wrap a button onto two lines, or be smaller than 16 px. Screenshots go to the
test's directory, or to ``$UI_SHOTS_DIR`` (``docs/screenshots`` keeps them: see
docs/kiosk.md), named by screen and size.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.clock import LOCAL_TZ
from kiosk.enrolment import Enrolment, write_enrolment
from kiosk.store import RECOVERED_COLUMNS, Delivery, VisitStore, iso
from kiosk.syncstate import LAST_ERROR, LAST_SUCCESS, NEEDS_REENROLMENT
from tests.conftest import SAMPLES
from tests.ui_harness import UiKiosk, running_app
from ui.pin import PinStore

SIZES = [(800, 480), (1024, 600), (1280, 800), (480, 800)]
PIN = "2468"
N = 99_999
LONG_NAME = "Công Tằng Tôn Nữ Hoàng Thị Ngọc Bích Phương Thảo"
LONG_CHECKPOINT = "Chốt kiểm soát dịch Quốc lộ 14, cửa ngõ phía Bắc xã Đăk Nhau, huyện Bù Đăng"
CCCD = f"070185004321|285123456|{LONG_NAME}|14071985|Nữ|Thôn 3, xã Đăk Nhau, huyện Bù Đăng, tỉnh Bình Phước|10052021"
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-fit")


def crowded(data: Path) -> None:
    """The data directory of the worst day a kiosk could have, written through the store."""
    now = datetime.now(timezone.utc)
    # Spread over the last hour, but never before the local midnight: the panel counts today
    # (Vietnam time), so between 00:00 and 01:00 there an hour's spread fell partly on yesterday.
    today = (now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)).astimezone(timezone.utc)
    spread = max(1, min(3600, int((now - today).total_seconds())))
    with VisitStore.in_dir(data) as store:

        def row(n: int, direction: str) -> tuple:
            fields = {"phone": f"09{n:08d}", "name": LONG_NAME}
            return (
                str(uuid.uuid4()),
                "DEMO-01",
                store.device_id,
                direction,
                "manual",
                None,
                "phone",
                f"phone:{direction}{n}",
                json.dumps(fields, ensure_ascii=False),
                None,
                iso(now - timedelta(seconds=n % spread)),
                n,
                "b",
                0,
                None,
                None,  # sealed, key_id, clear: the screens read the fields column only
                None,
                None,
            )

        entries, exits = [row(n, "in") for n in range(N)], [row(n, "out") for n in range(N)]
        assert len(entries[0]) == len(RECOVERED_COLUMNS)
        assert store.import_visits(entries + exits) == 2 * N
        store.apply_deliveries(
            [
                Delivery(
                    r[0],
                    "rejected",
                    "wrong_checkpoint",
                    "Lượt ghi thuộc điểm kiểm soát khác với thiết bị (visit belongs to another checkpoint than the device)",
                )
                for r in exits
            ],
            now,
        )
        store.write_meta({LAST_SUCCESS: iso(now - timedelta(days=3)), LAST_ERROR: "server_unreachable", NEEDS_REENROLMENT: "1"})
    write_enrolment(
        data,
        Enrolment(
            server="http://192.0.2.1:9",
            device_id=str(uuid.uuid4()),
            token="t" * 43,
            checkpoint={
                "code": "DEMO-01",
                "name": LONG_CHECKPOINT,
                "commune": "Xã Đăk Nhau",
                "district": "Huyện Bù Đăng",
                "province": "Tỉnh Bình Phước",
            },
            enrolled_at=now,
        ),
    )
    (data / "visits.sqlite3.corrupt-20261123T010203Z").write_bytes(b"not a database")
    PinStore(data).set_pin(PIN)


@pytest.fixture(scope="module")
def app(tmp: Path) -> Iterator[UiKiosk]:
    crowded(tmp / "data")
    trust = tmp / "trust"
    trust.mkdir()
    vector = json.loads((SAMPLES / "dcc" / "DE_2DCode_raw_1.json").read_text())
    (trust / "de.der").write_bytes(base64.b64decode(vector["TESTCTX"]["CERTIFICATE"]))
    with running_app(
        tmp,
        "scanners.hid.enabled=true",
        "scanners.serial.enabled=true",
        f"scanners.serial.port={tmp / 'no-such-port'}",
        "scanners.camera.enabled=true",
        f"scanners.camera.device={tmp / 'no-such-camera.mp4'}",
        f"checkpoint.name={LONG_CHECKPOINT}",
        "server.allow_insecure_http=true",
        f"dcc.trust_dir={trust}",
        "ui.result_seconds=60",
        "ui.admin_timeout_s=3600",
        "kiosk.repeat_window_s=0",
    ) as kiosk:
        kiosk.wait_state(lambda s: "99999" in s["counts"] and s["alert"], "the counts and the damaged database")
        yield kiosk


def shots_dir(tmp: Path) -> Path:
    return Path(os.environ.get("UI_SHOTS_DIR") or tmp / "shots")


def every_size_fits(app: UiKiosk, tmp: Path, name: str) -> None:
    """The current screen at every size: a screenshot, and no label cut; back at 800×480 afterwards."""
    cut = {}
    for width, height in SIZES:
        assert app.call("size", width=width, height=height) == [width, height]
        shot = Path(app.call("shot", path=str(shots_dir(tmp) / f"{name}-{width}x{height}.png")))
        if shot.name != f"{name}-{width}x{height}.png":  # Kivy numbers screenshots: keep the plain name
            shot.replace(shot.with_name(f"{name}-{width}x{height}.png"))
        problems = app.call("cut_labels")
        if problems:
            cut[f"{width}x{height}"] = problems
    app.call("size", width=800, height=480)
    assert cut == {}, json.dumps(cut, ensure_ascii=False, indent=1)


def open_admin(app: UiKiosk) -> None:
    if app.state()["screen"] == "admin":
        return
    if app.state()["screen"] != "scan":
        app.tap("back")
    app.tap("admin")
    for digit in PIN:
        app.tap("keypad", text=digit)
    app.tap("ok")
    app.wait_state(lambda s: s["screen"] == "admin", "the admin screen")


def test_the_ready_scan_screen_with_every_warning(app: UiKiosk, tmp: Path) -> None:
    state = app.state()
    assert state["status"].startswith(f"{N} lượt BỊ TỪ CHỐI")
    assert state["counts"] == f"Vào {N} · Ra {N} · Tổng {2 * N}"
    every_size_fits(app, tmp, "scan-worst-ready")


def test_a_long_name_on_green(app: UiKiosk, tmp: Path) -> None:
    app.call("type", text=CCCD)
    app.wait_state(lambda s: s["panel"]["state"] == "accepted", "the green panel")
    every_size_fits(app, tmp, "scan-worst-accepted")


def test_an_expired_certificate_on_orange(app: UiKiosk, tmp: Path) -> None:
    vector = json.loads((SAMPLES / "dcc" / "DE_2DCode_raw_1.json").read_text())
    app.call("type", text=vector["PREFIX"])
    app.wait_state(lambda s: s["panel"]["state"] == "certificate", "the orange panel")
    every_size_fits(app, tmp, "scan-worst-certificate")


def test_the_longest_reason_on_red(app: UiKiosk, tmp: Path) -> None:
    app.call("type", text="HC1:NOT-A-CERTIFICATE")
    app.wait_state(lambda s: s["panel"]["state"] == "rejected", "the red panel")
    every_size_fits(app, tmp, "scan-worst-rejected")


def test_history_and_manual_entry(app: UiKiosk, tmp: Path) -> None:
    app.tap("history")
    app.wait_state(lambda s: s["screen"] == "history", "the history screen")
    every_size_fits(app, tmp, "history-worst")
    app.tap("back")
    app.tap("manual")
    for digit in "0987654321":
        app.tap("keypad", text=digit)
    every_size_fits(app, tmp, "manual-worst")
    app.tap("cancel")
    app.wait_state(lambda s: s["screen"] == "scan", "the scan screen")


@pytest.mark.parametrize("panel", ["sync", "export", "enrol", "device", "readers", "checkup"])
def test_each_admin_panel(app: UiKiosk, tmp: Path, panel: str) -> None:
    open_admin(app)
    app.tap(f"menu_{panel}")
    if panel == "checkup":
        app.wait_state(lambda s: not app.call("prop", id="checkup_again", name="disabled"), "the check-up")
    every_size_fits(app, tmp, f"admin-{panel}-worst")
