"""Rejected visits on the touchscreen, for real: the app in a subprocess, enrolled with a real
``checkpoint-server serve``, its own background sync getting visits rejected. The guard's
status line leads with the count, in red, until an admin has opened Admin → Sync, which
lists them by the server's code and reason; a rejection after that shows again. Then a
kiosk holding 99,999 rejected visits, photographed at 800×480 (status line, Sync panel).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.store import RECOVERED_COLUMNS, Delivery, VisitStore, iso
from tests.sync.conftest import CHECKPOINT, Kiosk, Server
from tests.ui_harness import UiKiosk, running_app
from tests.waiting import wait_for
from ui.formatting import LEVEL_COLOURS

PIN = "2468"
WRONG_CHECKPOINT = (
    "wrong_checkpoint ×2 — Lượt ghi thuộc điểm kiểm soát khác với thiết bị (visit belongs to another checkpoint than the device)"
)
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-rejections")


@pytest.fixture(scope="module")
def server(tmp: Path) -> Iterator[Server]:
    running = Server(tmp / "server")
    yield running
    running.stop()
    running.engine.dispose()


def enrolled(root: Path, server: Server) -> Kiosk:
    kiosk = Kiosk(root)
    kiosk.enroll(server)
    assert kiosk.cli("set-pin", "--pin", PIN).code == 0
    return kiosk


def app_for(tmp: Path, kiosk: Kiosk) -> Iterator[UiKiosk]:
    return running_app(
        tmp,
        f"storage.data_dir={kiosk.data_dir}",
        "server.interval_s=1",
        "server.retries=2",
        "server.backoff_max_s=0.2",
        "server.probe_max_s=0.5",
        "ui.result_seconds=1",
    )


def enter_pin(app: UiKiosk) -> None:
    for digit in PIN:
        app.tap("keypad", text=digit)
    app.tap("ok")


def open_admin(app: UiKiosk) -> None:
    app.tap("admin")
    enter_pin(app)
    app.wait_state(lambda s: s["screen"] == "admin", "the admin screen")


def shot(app: UiKiosk, tmp: Path, name: str) -> None:
    assert Path(app.call("shot", path=str(tmp / "shots" / f"{name}.png"))).is_file()


def insert_unfit(kiosk: Kiosk) -> str:
    """A stored visit the server's models refuse (an older kiosk's bug): rejected invalid_visit."""
    visit_id = str(uuid.uuid4())
    with closing(sqlite3.connect(kiosk.data_dir / "visits.sqlite3")) as conn, conn:
        conn.execute(
            "INSERT INTO visits (id, checkpoint_code, device_id, direction, source, kind, credential_key, fields, clear, "
            "scanned_at, monotonic_ns, boot_id, clock_synchronised) VALUES (?, ?, 'x', 'in', 'cli', 'phone', ?, '{}', ?, "
            "strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'), 1, 'b', 1)",
            [visit_id, CHECKPOINT, visit_id, json.dumps({"fields": {"phone": "0912"}})],
        )
    return visit_id


def test_rejections_by_the_background_sync_stay_on_the_status_line_until_the_sync_panel_is_opened(
    tmp: Path, server: Server
) -> None:
    kiosk = Kiosk(tmp / "k")
    kiosk.record(2)  # the demo checkpoint's, before enrolment: the server rejects them wrong_checkpoint
    kiosk = enrolled(tmp / "k", server)
    with app_for(tmp, kiosk) as app:
        app.wait_state(
            lambda s: s["status"].startswith("2 lượt BỊ TỪ CHỐI: xem Quản trị · "),
            "the background sync's rejections on the status line",
        )
        assert app.call("text_of", id="status").startswith("2 lượt BỊ TỪ CHỐI: xem Quản trị")  # first, whole
        assert app.call("status_colour") == list(LEVEL_COLOURS["error"])
        shot(app, tmp, "status-rejected")

        open_admin(app)  # the admin screen opens on the Sync panel
        assert app.call("text_of", id="rejected_title") == "Bị máy chủ từ chối: 2 · 2 lượt mới"
        assert app.call("text_of", id="rejected_codes") == "Các lượt này chưa đến được huyện.\n" + WRONG_CHECKPOINT
        shot(app, tmp, "admin-sync-rejected")
        app.tap("back")
        app.wait_state(
            lambda s: s["screen"] == "scan" and "TỪ CHỐI" not in s["status"],
            "the status line without the rejections the admin has seen",
        )
        assert app.call("status_colour") != list(LEVEL_COLOURS["error"])

        insert_unfit(kiosk)  # a new rejection after the admin looked: shown again
        app.wait_state(lambda s: s["status"].startswith("1 lượt BỊ TỪ CHỐI"), "the new rejection")
        open_admin(app)
        title = app.call("text_of", id="rejected_title")
        assert title == "Bị máy chủ từ chối: 3 · 1 lượt mới"
        codes = app.call("text_of", id="rejected_codes")
        assert WRONG_CHECKPOINT in codes and "invalid_visit ×1 — Lượt ghi không hợp lệ (invalid visit)" in codes
        app.tap("menu_device")  # still shown, but no longer new
        app.tap("menu_sync")
        assert app.call("text_of", id="rejected_title") == "Bị máy chủ từ chối: 3"
        app.tap("back")
        app.wait_state(lambda s: s["screen"] == "scan" and "TỪ CHỐI" not in s["status"], "the status line again")
    with VisitStore.in_dir(kiosk.data_dir) as store:
        assert (store.rejections().total, store.unseen_rejections()) == (3, 0)


def test_sync_now_shows_its_result_with_a_fresh_status_and_a_dead_server_shows_as_offline_promptly(tmp: Path) -> None:
    own = Server(tmp / "own-server")  # this test stops it
    try:
        kiosk = enrolled(tmp / "fresh", own)
        (tmp / "fresh-app").mkdir()
        with running_app(
            tmp / "fresh-app",
            f"storage.data_dir={kiosk.data_dir}",
            "server.interval_s=3600",
            "server.retries=0",
            "server.probe_max_s=0.5",
            "ui.result_seconds=1",
        ) as app:
            app.wait_state(lambda s: "có mạng" in s["status"], "the first pass")
            kiosk.record(2)  # the next pass is an hour away
            app.wait_state(lambda s: "2 lượt chờ gửi" in s["status"], "two visits waiting")
            open_admin(app)
            app.tap("sync_now")
            wait_for(lambda: "còn chờ 0" in app.call("text_of", id="counts"), "the result of Sync now")
            assert "0 lượt chờ gửi" in app.call("text_of", id="sync_status")  # the line under it agrees
            shot(app, tmp, "admin-sync-done")
            app.tap("back")
            kiosk.record(1, start=10)
            app.wait_state(lambda s: "1 lượt chờ gửi" in s["status"] and "có mạng" in s["status"], "one waiting")
            own.stop()
            app.wait_state(lambda s: "mất mạng" in s["status"], "offline without waiting for the next pass")
            assert app.call("text_of", id="status").startswith("Đồng hồ chưa đồng bộ · mất mạng") or app.call(
                "text_of", id="status"
            ).startswith("mất mạng")  # first, whole
    finally:
        own.stop()
        own.engine.dispose()


REASONS = {
    "conflict": "Mã lượt ghi đã có từ thiết bị khác (visit id already stored from another device)",
    "wrong_checkpoint": "Lượt ghi thuộc điểm kiểm soát khác với thiết bị (visit belongs to another checkpoint than the device)",
    "invalid_visit": "Lượt ghi không hợp lệ (invalid visit): credential fields do not fit kind phone: fields.phone "
    "(string_pattern_mismatch)",
}


def test_99999_rejected_fit_the_status_line_and_the_sync_panel_at_800x480(tmp: Path, server: Server) -> None:
    """The worst case a district could produce (a kiosk enrolled for the wrong checkpoint for
    weeks): the answers are written through the store as a sync would apply them."""
    kiosk = enrolled(tmp / "crowded", server)
    now = datetime.now(timezone.utc)
    week_ago = iso(now - timedelta(days=7))
    with VisitStore.in_dir(kiosk.data_dir) as store:
        rows = [
            (
                str(uuid.uuid4()),
                CHECKPOINT,
                store.device_id,
                "in",
                "manual",
                None,
                "phone",
                f"phone:{n}",
                json.dumps({"phone": f"09{n:08d}"}),
                None,
                week_ago,
                n,
                "b",
                1,
                None,
                None,  # sealed, key_id, clear: nothing personal to keep for these
                None,
                None,
            )
            for n in range(99_999)
        ]
        assert len(rows[0]) == len(RECOVERED_COLUMNS) and store.import_visits(rows) == 99_999
        codes = ["conflict"] * 60_000 + ["wrong_checkpoint"] * 30_000 + ["invalid_visit"] * 9_999
        store.apply_deliveries(
            [Delivery(row[0], "rejected", code, REASONS[code]) for row, code in zip(rows, codes, strict=True)], now
        )
    (tmp / "crowded-app").mkdir()
    with app_for(tmp / "crowded-app", kiosk) as app:
        state = app.wait_state(
            lambda s: s["status"].startswith("99999 lượt BỊ TỪ CHỐI: xem Quản trị · "), "the count on the status line"
        )
        assert app.call("fits", id="status", text=state["status"].split(" · ")[0])  # the rest may be cut
        shot(app, tmp, "status-99999-rejected-800x480")
        open_admin(app)
        assert app.call("text_of", id="rejected_title") == "Bị máy chủ từ chối: 99999 · 99999 lượt mới"
        assert app.call("text_of", id="rejected_codes").splitlines()[1:] == [
            f"conflict ×60000 — {REASONS['conflict']}",
            f"wrong_checkpoint ×30000 — {REASONS['wrong_checkpoint']}",
            f"invalid_visit ×9999 — {REASONS['invalid_visit']}",
        ]
        for widget in ("rejected_title", "rejected_codes", "sync_status"):
            assert app.call("fits", id=widget), widget
        shot(app, tmp, "admin-sync-99999-rejected-800x480")
        app.tap("back")
        app.wait_state(lambda s: s["screen"] == "scan" and "TỪ CHỐI" not in s["status"], "the status line, seen")


def test_rejected_visits_past_their_limit_are_deleted_by_the_running_app_and_the_sync_panel_counts_them(
    tmp: Path, server: Server
) -> None:
    kiosk = enrolled(tmp / "aged", server)
    now = datetime.now(timezone.utc)
    with VisitStore.in_dir(kiosk.data_dir) as store:
        rows = [
            (str(uuid.uuid4()), CHECKPOINT, store.device_id, "in", "manual", None, "phone", f"phone:{n}",
             json.dumps({"phone": f"***{n:04d}"}), None, iso(now - timedelta(days=120)), n, "b", 1, None,
             None, None, json.dumps({"fields": {"phone": f"09{n:08d}"}, "raw": None}))
            for n in range(4)
        ]  # fmt: skip
        assert store.import_visits(rows) == 4
        store.apply_deliveries(
            [Delivery(row[0], "rejected", "conflict", REASONS["conflict"]) for row in rows[:3]], now - timedelta(days=91)
        )
        store.apply_deliveries([Delivery(rows[3][0], "rejected", "conflict", REASONS["conflict"])], now)
    (tmp / "aged-app").mkdir()
    with app_for(tmp / "aged-app", kiosk) as app:
        wait_for(lambda: dropped(kiosk) == 3, "the running app's retention pass")
        open_admin(app)
        assert app.call("text_of", id="rejected_dropped") == "3 lượt bị từ chối đã được xoá sau 90 ngày (theo hạn lưu giữ)."
        assert app.call("text_of", id="rejected_title") == "Bị máy chủ từ chối: 1 · 1 lượt mới"
        assert app.call("fits", id="rejected_dropped")
        shot(app, tmp, "admin-sync-rejected-deleted")
    assert dropped(kiosk) == 3


def dropped(kiosk: Kiosk) -> int:
    with VisitStore.in_dir(kiosk.data_dir) as store:
        return store.purge_record().total.rejected
