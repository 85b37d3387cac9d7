"""Retention on the kiosk: it happens in the running kiosk and on command, leaves no clear
bytes behind, never touches pending visits, and keeps how many it dropped."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from drivers.runtime import KioskRuntime
from kiosk.config import Config, load_config
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import DB_NAME, Purged, VisitStore
from tests.conftest import FakeClock, mark_rejected, mark_synced, run_cli
from tests.waiting import wait_for

# A name, an ID number and an address no other test writes, to look for in the raw bytes.
CCCD = "052301009876||Đinh Thị Ngọc Hường|17081993|Nữ|Thôn Hoà Mỹ, Xã Ea Tiêu, Huyện Cư Kuin, Tỉnh Đắk Lắk|01022022"
SECRETS = ("Đinh Thị Ngọc Hường", "052301009876", "Thôn Hoà Mỹ")
OLD = datetime(2021, 11, 1, 2, 0, tzinfo=timezone.utc)  # years before the real clock the commands and the runtime read


def service_in(data_dir: Path, clock: FakeClock, *overrides: str) -> ScanService:
    config, _ = load_config(None, [f"storage.data_dir={data_dir}", *overrides])
    return ScanService(config, VisitStore.in_dir(config.data_dir), clock=clock)


def raw_bytes(data_dir: Path) -> bytes:
    """Every byte of the database, its WAL and its shared memory file, as a thief reads them."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob(DB_NAME + "*")))


def hits(blob: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode("utf-8") in blob]


def test_a_purged_visit_leaves_no_clear_bytes_in_the_database_or_its_wal(tmp_path: Path, clock: FakeClock) -> None:
    data = tmp_path / "data"
    service = service_in(data, clock)
    scanned = service.handle(ScanEvent(source="serial", text=CCCD, device="/dev/ttyACM0"))
    for n in range(40):  # neighbours on the same pages, which stay
        service.handle(ScanEvent(source="serial", text=f"09123{n:05d}", device="/dev/ttyACM0"))
    # delivery rewrites the row (its sync state grows), which moves it within its page
    mark_synced(service.store, [scanned.visit_id], clock.wall)
    assert hits(raw_bytes(data)) == list(SECRETS)  # the search finds them while they are kept
    clock.advance(31 * 86400)
    assert service.purge() == Purged(synced=1, rejected=0)
    assert service.store.get(scanned.visit_id) is None and service.store.count("pending") == 40
    assert hits(raw_bytes(data)) == []
    service.store.close()
    assert hits(raw_bytes(data)) == []


def test_rejected_visits_go_after_their_own_limit_and_the_counts_stay(tmp_path: Path, clock: FakeClock) -> None:
    service = service_in(tmp_path / "data", clock, "storage.retention_days=7", "storage.rejected_retention_days=20")
    ids = [service.handle(ScanEvent(source="cli", text=f"09876{n:05d}")).visit_id for n in range(5)]
    mark_synced(service.store, ids[:2], clock.wall)
    for visit_id in ids[2:4]:
        mark_rejected(service.store, visit_id, "invalid_visit", "fields.name", clock.wall)
    assert service.store.purge_record().last_at is None
    clock.advance(10 * 86400)
    assert service.purge() == Purged(synced=2, rejected=0)  # rejected ones are kept longer
    clock.advance(11 * 86400)
    assert service.purge() == Purged(synced=0, rejected=2)
    assert [v["id"] for v in service.store.visits()] == [ids[4]]  # pending: never
    record = service.store.purge_record()
    assert record.last_at == clock.wall and record.last == Purged(0, 2) and record.total == Purged(2, 2)
    clock.advance(400 * 86400)
    assert service.purge() == Purged(0, 0) and service.store.purge_record().total == Purged(2, 2)


def test_the_running_kiosk_purges_without_being_asked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = Config.model_validate({"storage": {"data_dir": str(data), "retention_days": 1}})
    with VisitStore.in_dir(data) as store:
        clock = FakeClock(OLD)
        old = ScanService(config, store, clock=clock).handle(ScanEvent(source="cli", text="0912345678")).visit_id
        mark_synced(store, [old], clock.wall)
        pending = ScanService(config, store, clock=clock).handle(ScanEvent(source="cli", text="0987654321")).visit_id
    with KioskRuntime(config, lambda _ev, _res: None, sync=False) as runtime:
        assert "retention" in runtime.running
        wait_for(lambda: runtime.store.purge_record().total == Purged(1, 0), "the runtime's retention pass")
        assert [v["id"] for v in runtime.store.visits()] == [pending]


def test_purge_status_and_doctor_say_what_retention_dropped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clock = FakeClock(OLD)
    service = service_in(data, clock)
    ids = [service.handle(ScanEvent(source="cli", text=f"09876{n:05d}")).visit_id for n in range(3)]
    mark_rejected(service.store, ids[0], "invalid_visit", "fields.name", clock.wall)
    mark_synced(service.store, ids[1:], clock.wall)
    service.store.close()

    never = run_cli("status", "--json", data_dir=data).json()["retention"]
    assert never["last_purge_at"] is None and never["purged_total"] == {"synced": 0, "rejected": 0}
    done = run_cli("--set", "storage.retention_days=1", "--set", "storage.rejected_retention_days=1", "purge", data_dir=data)
    assert done.code == 0, done.stderr
    assert "Đã xoá 2 lượt đã gửi quá 1 ngày và 1 lượt bị từ chối quá 1 ngày" in done.stdout
    assert "Purged 2 delivered visits older than 1 days and 1 rejected visits" in done.stdout

    status = run_cli("status", "--json", data_dir=data).json()
    assert status["rejected"] == 0 and status["retention"]["purged_total"] == {"synced": 2, "rejected": 1}
    text = run_cli("status", data_dir=data).stdout
    assert "Đã xoá theo hạn lưu giữ: 2 lượt đã gửi, 1 lượt bị từ chối" in text
    assert "Purged by retention: 2 delivered, 1 rejected visits" in text

    report = json.loads(run_cli("doctor", "--json", data_dir=data).stdout)
    found = [f for f in report["findings"] if f["check"] == "retention"]
    assert [(f["level"], f["code"], f["params"]["rejected_total"]) for f in found] == [("ok", "retention_record", 1)]
