"""A kiosk rebooted without network has a wrong clock: its visits reach the server with corrected times.

The kiosk side runs in this process with a controllable clock (the store, scan service
and sync service are the real ones); the server is the real process with the real clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.config import load_config
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import VisitStore
from sync.service import SyncService
from tests.conftest import FakeClock
from tests.sync.conftest import Kiosk, Server, cccd

TOLERANCE = timedelta(seconds=30)  # loopback round trips and process start-up, far below the error corrected


def test_visits_taken_with_a_wrong_clock_after_a_reboot_get_the_servers_time(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    kiosk.enroll(server)
    config = kiosk.config()
    real_now = datetime.now(timezone.utc)
    clock = FakeClock(wall=real_now - timedelta(hours=2), synchronised=True)  # boot 1: NTP had synced
    with VisitStore.in_dir(config.data_dir) as store:
        scans = ScanService(config, store, clock=clock)
        good = scans.handle(ScanEvent(source="serial", text=cccd(1))).visit_id
        clock.reboot("boot-2")  # power cut; the Pi comes back with no network and no RTC:
        wrong_start = real_now - timedelta(days=3)  # fake-hwclock restored the time it last saved
        clock.wall, clock.synchronised = wrong_start, False
        wrong = []
        for n in range(3):
            wrong.append(scans.handle(ScanEvent(source="serial", text=cccd(10 + n))).visit_id)
            clock.advance(600)  # ten minutes between visits, by the monotonic clock too
        clock.advance(1200)  # the last visit was half an hour before the sync (600 + 1200 s)
        summary = SyncService(load_config(kiosk.config_file)[0], store, clock=clock).sync()
        local = {row["id"]: row for row in store.visits(limit=None)}
    assert (summary.created, summary.rejected, summary.pending) == (4, 0, 0), summary

    stored = server.visits()
    synced_at = datetime.now(timezone.utc)
    for age_s, visit_id in zip((1800 + 1200, 1800 + 600, 1800), wrong, strict=True):
        row = stored[visit_id]
        assert row["scanned_at"] == wrong_start + timedelta(seconds=3000 - age_s)  # the original is kept
        expected = synced_at - timedelta(seconds=age_s)
        assert abs(row["corrected_at"] - expected) < TOLERANCE
        assert row["occurred_at"] == row["corrected_at"] and row["clock_synchronised"] is False  # reports use it
        assert datetime.fromisoformat(local[visit_id]["corrected_at"]) == row["corrected_at"]
    assert stored[good]["corrected_at"] is None and stored[good]["occurred_at"] == stored[good]["scanned_at"]
