"""The visit store on a real SQLite file: pragmas, migrations, columns, repeats, outbox, purge."""

from __future__ import annotations

import json
import sqlite3
import stat
import uuid
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st

from kiosk.clock import ClockAnchor
from kiosk.config import Config
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import DB_NAME, MIGRATIONS, SCHEMA_VERSION, Delivery, NewVisit, Repeat, StorageError, VisitStore, iso
from tests.conftest import FakeClock, kept, mark_rejected, mark_synced

NAME = "Nguyễn Thị Ánh Tuyết"
ADDRESS = "Xã Đăk Nhau, Huyện Đăk Glong, Tỉnh Đắk Nông"
CCCD = f"066190000123||{NAME}|12031990|Nữ|{ADDRESS}|01072021"
WINDOW = 2.5


@pytest.fixture
def store(tmp_path: Path):
    with VisitStore.in_dir(tmp_path / "data") as opened:
        yield opened


def visit(clock: FakeClock, key: str = "cccd:066190000123", **changes: Any) -> NewVisit:
    """A visit as the scan service builds it, read from ``clock`` now; a fresh UUID each time."""
    base = NewVisit(
        id=str(uuid.uuid4()),
        checkpoint_code="DNO-DG-01",
        direction="in",
        source="serial",
        reader="/dev/ttyACM0",
        kind="cccd",
        credential_key=key,
        fields={"name": NAME},
        raw=None,
        clock=clock.read(),
    )
    return replace(base, **changes)


def record_many(store: VisitStore, clock: FakeClock, count: int, **changes: Any) -> list[str]:
    """``count`` people never seen before, one second apart; their visit ids in order."""
    ids = []
    for _ in range(count):
        ids.append(store.record(visit(clock, key=f"person:{uuid.uuid4()}", **changes), WINDOW))
        clock.advance(1)
    return ids


def stored_ids(store: VisitStore, **filters: Any) -> list[str]:
    return [row["id"] for row in store.visits(limit=None, oldest_first=True, **filters)]


def schema(path: Path) -> dict[str, Any]:
    """Tables with their columns, and indexes with their columns: what a migration must produce."""
    db = sqlite_utils.Database(path)
    try:
        return {
            "tables": {t.name: [c.name for c in t.columns] for t in db.tables},
            "indexes": sorted((t.name, i.name, tuple(i.columns), i.unique) for t in db.tables for i in t.indexes),
        }
    finally:
        db.close()


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def service_for(store: VisitStore, clock: FakeClock, **storage: Any) -> ScanService:
    config = Config.model_validate({"storage": {"data_dir": str(store.path.parent), **storage}})
    return ScanService(config, store, clock=clock)


# --- opening -------------------------------------------------------------------------------


def test_connection_is_wal_with_full_sync(store: VisitStore) -> None:
    conn = store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_personal_data_is_readable_by_the_kiosk_user_only(tmp_path: Path, clock: FakeClock) -> None:
    data_dir = tmp_path / "new" / "data"
    with VisitStore.in_dir(data_dir) as store:
        store.record(visit(clock), WINDOW)
        files = [store.path, *(store.path.with_name(DB_NAME + suffix) for suffix in ("-wal", "-shm"))]
        assert all(f.exists() for f in files)  # the WAL holds visits too while the store is open
        assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


# --- migrations ----------------------------------------------------------------------------


def test_empty_file_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    path.touch()
    with VisitStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert {"visits", "meta"} <= set(store.db.table_names())


SEALING_MOVES = ("fields", "raw", "credential_key")


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_every_older_schema_is_migrated_and_keeps_its_rows(tmp_path: Path, version: int) -> None:
    old = tmp_path / "old" / DB_NAME
    old.parent.mkdir()
    db = sqlite_utils.Database(old)
    for number, migrate in enumerate(MIGRATIONS[:version]):
        migrate(db)
        db.execute(f"PRAGMA user_version = {number + 1}")
    if "visits" in db.table_names():
        db["visits"].insert(
            {
                "id": "3f0e2a3c-0000-4000-8000-000000000001",
                "checkpoint_code": "OLD-01",
                "device_id": "old-device",
                "direction": "out",
                "source": "camera",
                "kind": "phone",
                "credential_key": "phone:0912345678",
                "fields": '{"phone": "0912345678"}',
                "scanned_at": "2021-08-01T02:00:00.000000+00:00",
                "monotonic_ns": 1,
                "boot_id": "b",
                "clock_synchronised": 0,
            }
        )
    before = {name: list(db[name].rows) for name in db.table_names()}
    db.close()

    assert user_version(old) == version
    with VisitStore(old) as store:
        assert store.schema_version == SCHEMA_VERSION
        for table, rows in before.items():
            moved = SEALING_MOVES if table == "visits" else ()  # v4 keeps personal data apart (kiosk/seal.py)
            columns = [c for c in rows[0] if c not in moved] if rows else []
            kept = [{column: row[column] for column in columns} for row in store.db[table].rows]
            assert all({c: row[c] for c in columns} in kept for row in rows), table
        if before.get("visits"):  # the fields wait in clear for a district key; only masked ones are shown
            stored = store.db.execute("SELECT fields, clear, credential_key FROM visits").fetchone()
            assert json.loads(stored[0]) == {"phone": "***5678"}
            assert json.loads(stored[1]) == {"fields": {"phone": "0912345678"}, "raw": None}
            assert stored[2] != "phone:0912345678"
            assert store.unsealed() == 1  # an old pending visit is still in the outbox, uncorrected and never exported
            assert [v.id for v in store.pending_after(0, 10)] == [before["visits"][0]["id"]]
            assert {k: store.get(before["visits"][0]["id"])[k] for k in ("corrected_at", "exported_at")} == {
                "corrected_at": None,
                "exported_at": None,
            }
    with VisitStore(tmp_path / "fresh" / DB_NAME):
        pass
    assert schema(old) == schema(tmp_path / "fresh" / DB_NAME)


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer version") as refused:
        VisitStore(path)
    assert refused.value.code == "storage_error"
    assert user_version(path) == SCHEMA_VERSION + 1
    assert schema(path) == {"tables": {}, "indexes": []}


def test_reopening_keeps_the_device_id(tmp_path: Path) -> None:
    with VisitStore.in_dir(tmp_path) as first:
        device_id = first.device_id
    with VisitStore.in_dir(tmp_path) as again:
        assert again.device_id == device_id
    with VisitStore.in_dir(tmp_path / "other") as other:
        assert other.device_id != device_id
    uuid.UUID(device_id)


# --- recording -----------------------------------------------------------------------------


def test_record_stores_every_column_as_given(store: VisitStore, clock: FakeClock) -> None:
    clock.synchronised = False
    new = visit(
        clock,
        direction="out",
        source="manual",
        reader=None,
        kind="phone",
        credential_key="phone:0912345678",
        fields={"phone": "0912345678", "name": NAME, "address": ADDRESS},
        raw=CCCD,
        operator="Trần Văn Bảo",
        shown={"phone": "***5678", "name": "Nguyễn T. Á. T."},
    )
    assert store.record(new, WINDOW) == new.id
    row = store.get(new.id)
    assert row == {
        "seq": row["seq"],
        "id": new.id,
        "checkpoint_code": "DNO-DG-01",
        "device_id": store.device_id,
        "direction": "out",
        "source": "manual",
        "reader": None,
        "kind": "phone",
        "credential_key": "phone:0912345678",
        "fields": {"phone": "***5678", "name": "Nguyễn T. Á. T."},  # only the masked ones come back
        "raw": None,
        "sealed": False,  # no district key yet: the rest waits in clear, never shown
        "key_id": None,
        "scanned_at": iso(clock.wall),
        "monotonic_ns": clock.monotonic_ns,
        "boot_id": "boot-1",
        "clock_synchronised": False,
        "operator": "Trần Văn Bảo",
        "sync_state": "pending",
        "sync_code": None,
        "sync_reason": None,
        "synced_at": None,
        "corrected_at": None,
        "exported_at": None,
        "rejection_no": None,
    }
    assert datetime.fromisoformat(row["scanned_at"]) == clock.wall


def test_vietnamese_text_is_stored_as_text_not_escapes(store: VisitStore, clock: FakeClock) -> None:
    store.record(visit(clock, fields={"name": NAME, "address": ADDRESS}, shown={"name": "Nguyễn T. Á. T."}), WINDOW)
    fields_sql, clear_sql = store.db.execute("SELECT fields, clear FROM visits").fetchone()
    assert "Nguyễn T. Á. T." in fields_sql  # the masked name, as the screens show it
    assert NAME in clear_sql and ADDRESS in clear_sql  # no district key yet: sealed as they are once one comes


def test_a_scanned_id_card_comes_back_exactly(store: VisitStore, clock: FakeClock) -> None:
    result = service_for(store, clock).handle(ScanEvent(source="serial", raw=CCCD.encode("utf-8")))
    assert result.accepted
    fields = kept(store, result.visit_id)["fields"]
    assert (fields["name"], fields["address"], fields["id_number"]) == (NAME, ADDRESS, "066190000123")


def test_sequence_only_grows_even_after_a_purge(store: VisitStore, clock: FakeClock) -> None:
    ids = record_many(store, clock, 3)
    seqs = [store.get(i)["seq"] for i in ids]
    assert seqs == sorted(set(seqs))
    mark_synced(store, [ids[-1]], clock.wall)
    assert store.purge(clock.wall, clock.wall, clock.wall).synced == 1
    later = store.record(visit(clock, key="phone:0999999999"), WINDOW)
    assert store.get(later)["seq"] > seqs[-1]


# --- repeat check --------------------------------------------------------------------------


def test_repeat_within_the_window_returns_the_first_visit(store: VisitStore, clock: FakeClock) -> None:
    first = visit(clock, direction="in")
    store.record(first, WINDOW)
    clock.advance(2.0)
    again = visit(clock, direction="out")
    assert store.record(again, WINDOW) == Repeat(first.id, first.clock.wall, "in")
    assert store.get(again.id) is None
    assert stored_ids(store) == [first.id]


@pytest.mark.parametrize(("elapsed", "repeat"), [(WINDOW, True), (WINDOW + 0.001, False), (60, False)])
def test_window_edge(store: VisitStore, clock: FakeClock, elapsed: float, repeat: bool) -> None:
    store.record(visit(clock), WINDOW)
    clock.advance(elapsed)
    assert isinstance(store.record(visit(clock), WINDOW), Repeat) is repeat
    assert len(stored_ids(store)) == (1 if repeat else 2)


def test_window_counts_from_the_latest_stored_visit(store: VisitStore, clock: FakeClock) -> None:
    store.record(visit(clock), WINDOW)
    clock.advance(WINDOW + 1)
    second = store.record(visit(clock), WINDOW)
    clock.advance(1)
    assert store.record(visit(clock), WINDOW).visit_id == second


@pytest.mark.parametrize("wall_jump", [timedelta(hours=-1), timedelta(days=1)])
def test_same_boot_trusts_the_monotonic_clock_over_a_wall_clock_jump(
    store: VisitStore, clock: FakeClock, wall_jump: timedelta
) -> None:
    first = store.record(visit(clock), WINDOW)
    clock.wall += wall_jump  # NTP (or an admin) corrected the clock between two scans
    clock.advance(1)
    assert store.record(visit(clock), WINDOW).visit_id == first
    clock.wall -= wall_jump  # wall clock 1 s after the first scan, monotonic clock 11 s: a new visit
    clock.monotonic_ns += 10 * 10**9
    assert isinstance(store.record(visit(clock), WINDOW), str)


def test_a_scan_read_just_before_the_stored_one_is_a_repeat(store: VisitStore, clock: FakeClock) -> None:
    """Two readers (or two processes) at once: the later commit can carry the earlier reading."""
    earlier = visit(clock)
    clock.advance(0.002)
    stored = visit(clock)
    assert store.record(stored, WINDOW) == stored.id
    assert isinstance(store.record(earlier, WINDOW), Repeat)
    assert stored_ids(store) == [stored.id]


def test_after_a_reboot_the_wall_clock_decides(store: VisitStore, clock: FakeClock) -> None:
    first = store.record(visit(clock), WINDOW)
    clock.reboot()  # the monotonic clock restarts near zero, far below the stored value
    clock.wall += timedelta(seconds=1)
    assert store.record(visit(clock), WINDOW).visit_id == first
    clock.wall += timedelta(seconds=WINDOW)
    assert isinstance(store.record(visit(clock), WINDOW), str)


def test_after_a_reboot_a_wall_clock_behind_the_last_visit_is_not_trusted(store: VisitStore, clock: FakeClock) -> None:
    store.record(visit(clock), WINDOW)
    clock.reboot()
    clock.wall -= timedelta(seconds=1)  # no RTC: the clock came back behind the last visit
    assert isinstance(store.record(visit(clock), WINDOW), str)
    assert len(stored_ids(store)) == 2


def test_camera_and_scanner_windows(store: VisitStore, clock: FakeClock) -> None:
    service = service_for(store, clock)
    assert (service.window_for("camera"), service.window_for("serial"), service.window_for("hid")) == (5.0, 2.5, 2.5)
    outcomes = {}
    for source, phone in (("camera", "0912345678"), ("serial", "0987654321")):
        first = service.handle(ScanEvent(source=source, text=phone))
        clock.advance(4)  # outside the scanner's window, inside the camera's
        again = service.handle(ScanEvent(source=source, text=phone))
        outcomes[source] = (first.status, again.status, again.visit_id == first.visit_id)
    assert outcomes == {"camera": ("accepted", "repeat", True), "serial": ("accepted", "accepted", False)}
    assert store.count("pending") == 3


# --- outbox and sync states ----------------------------------------------------------------


def test_outbox_is_pending_only_oldest_first(store: VisitStore, clock: FakeClock) -> None:
    ids = record_many(store, clock, 3)
    clock.wall -= timedelta(hours=5)  # a wrong wall clock must not reorder the outbox
    ids += record_many(store, clock, 3, source="camera")
    mark_synced(store, [ids[0], ids[3]], clock.wall)
    mark_rejected(store, ids[1], "bad_checkpoint", "Unknown checkpoint", clock.wall)
    pending = [ids[2], ids[4], ids[5]]
    assert [row["id"] for row in store.visits(state="pending", limit=2, oldest_first=True)] == pending[:2]
    assert [row["id"] for row in store.visits(state="pending", limit=100, oldest_first=True)] == pending
    assert (store.count("pending"), store.count("synced"), store.count("rejected")) == (3, 2, 1)


def test_mark_synced_and_rejected_change_states(store: VisitStore, clock: FakeClock) -> None:
    ids = record_many(store, clock, 3)
    assert mark_synced(store, ids[:2] + ["no-such-visit"], clock.wall) == 2
    mark_rejected(store, ids[2], "invalid", "Trường họ tên trống", clock.wall)
    rows = {i: store.get(i) for i in ids}
    assert [(rows[i]["sync_state"], rows[i]["synced_at"]) for i in ids[:2]] == [("synced", iso(clock.wall))] * 2
    assert {k: rows[ids[2]][k] for k in ("sync_state", "sync_code", "sync_reason")} == {
        "sync_state": "rejected",
        "sync_code": "invalid",
        "sync_reason": "Trường họ tên trống",
    }
    mark_synced(store, [ids[2]], clock.wall)  # accepted on a later retry: the reason goes
    assert (store.get(ids[2])["sync_code"], store.count("rejected")) == (None, 0)


def test_pending_after_walks_the_outbox_by_cursor(store: VisitStore, clock: FakeClock) -> None:
    ids = record_many(store, clock, 5)
    mark_synced(store, [ids[1]], clock.wall)
    first = store.pending_after(0, 2)
    assert [v.id for v in first] == [ids[0], ids[2]]
    assert [v.id for v in store.pending_after(first[-1].seq, 10)] == ids[3:]
    assert json.loads(first[0].clear or "")["fields"] == {"name": NAME} and first[0].boot_id == "boot-1"


def test_deliveries_and_sync_state_are_applied_together(store: VisitStore, clock: FakeClock) -> None:
    ids = record_many(store, clock, 3)
    changed = store.apply_deliveries(
        [
            Delivery(ids[0], "synced", corrected_at="2026-11-23T01:00:00.000000+00:00"),
            Delivery(ids[1], "rejected", "wrong_checkpoint", "Lượt ghi thuộc điểm kiểm soát khác"),
        ],
        clock.wall,
        meta={"sync.last_success_at": iso(clock.wall)},
    )
    assert changed == 2
    assert (store.get(ids[0])["sync_state"], store.get(ids[0])["corrected_at"]) == ("synced", "2026-11-23T01:00:00.000000+00:00")
    assert (store.get(ids[1])["sync_code"], store.get(ids[2])["sync_state"]) == ("wrong_checkpoint", "pending")
    assert store.meta("sync.") == {"sync.last_success_at": iso(clock.wall)}
    store.write_meta({"sync.last_success_at": None, "sync.last_error": "server_unreachable"})
    assert store.meta("sync.") == {"sync.last_error": "server_unreachable"}


def test_rejections_stay_unseen_until_acknowledged_and_a_new_one_is_unseen_again(store: VisitStore, clock: FakeClock) -> None:
    ids = record_many(store, clock, 5)
    wrong = "Lượt ghi thuộc điểm kiểm soát khác với thiết bị (visit belongs to another checkpoint than the device)"
    store.apply_deliveries(
        [
            Delivery(ids[0], "rejected", "wrong_checkpoint", wrong),
            Delivery(ids[1], "rejected", "invalid_visit", "invalid visit: fields.name"),
            Delivery(ids[2], "rejected", "invalid_visit", "invalid visit: scanned_at"),
            Delivery(ids[3], "synced"),
        ],
        clock.wall,
    )
    seen = store.rejections()
    assert (seen.total, seen.unseen, store.unseen_rejections()) == (3, 3, 3)
    assert [(g.code, g.count, g.reasons) for g in seen.groups] == [("invalid_visit", 2, 2), ("wrong_checkpoint", 1, 1)]
    assert seen.groups[0].reason == "invalid visit: scanned_at"  # the newest one's words
    assert seen.by_code() == {"invalid_visit": 2, "wrong_checkpoint": 1}

    store.acknowledge_rejections(seen.newest)
    assert (store.rejections().unseen, store.unseen_rejections()) == (0, 0)
    mark_rejected(store, ids[0], "wrong_checkpoint", wrong, clock.wall)  # told again: still the one already seen
    assert store.unseen_rejections() == 0
    mark_rejected(store, ids[4], "conflict", "visit id already stored from another device", clock.wall)
    assert (store.unseen_rejections(), store.rejections().total) == (1, 4)
    store.acknowledge_rejections(seen.newest)  # a look at an older list acknowledges nothing newer
    assert store.unseen_rejections() == 1

    store.acknowledge_rejections(store.rejections().newest)
    assert store.requeue_rejected() == 4  # an admin's retry: rejected again, they are new again
    assert store.unseen_rejections() == 0
    store.apply_deliveries([Delivery(i, "rejected", "conflict", "x") for i in (ids[0], ids[4])], clock.wall)
    assert (store.unseen_rejections(), store.rejections().total) == (2, 2)
    mark_synced(store, [ids[0]], clock.wall)
    assert (store.unseen_rejections(), store.get(ids[0])["rejection_no"]) == (1, None)


def test_visits_rejected_before_the_upgrade_count_as_not_yet_seen(tmp_path: Path) -> None:
    old = tmp_path / DB_NAME
    db = sqlite_utils.Database(old)
    for number, migrate in enumerate(MIGRATIONS[:2]):
        migrate(db)
        db.execute(f"PRAGMA user_version = {number + 1}")
    for n, state in enumerate(("rejected", "synced", "rejected", "pending")):
        db["visits"].insert(
            {
                "id": f"3f0e2a3c-0000-4000-8000-00000000000{n}",
                "checkpoint_code": "OLD-01",
                "device_id": "old-device",
                "direction": "in",
                "source": "camera",
                "kind": "phone",
                "credential_key": f"phone:091234567{n}",
                "fields": "{}",
                "scanned_at": "2021-08-01T02:00:00.000000+00:00",
                "monotonic_ns": n,
                "boot_id": "b",
                "clock_synchronised": 0,
                "sync_state": state,
                "sync_code": "too_old" if state == "rejected" else None,
                "sync_reason": "visit is older than the retention period" if state == "rejected" else None,
            }
        )
    db.close()
    with VisitStore(old) as store:
        rejections = store.rejections()
        assert (rejections.total, rejections.unseen, rejections.by_code()) == (2, 2, {"too_old": 2})
        store.acknowledge_rejections(rejections.newest)
        assert store.unseen_rejections() == 0


def test_a_boot_keeps_its_first_good_time(store: VisitStore, clock: FakeClock) -> None:
    clock.synchronised = False
    record_many(store, clock, 1)
    assert store.clock_anchor("boot-1") is None  # no good time seen in this boot yet
    clock.synchronised = True
    synced = store.get(record_many(store, clock, 1)[0])
    assert store.clock_anchor("boot-1") == ClockAnchor("boot-1", synced["monotonic_ns"], clock.wall - timedelta(seconds=1), "visit")
    server = ClockAnchor("boot-1", 7, datetime(2026, 11, 23, 2, tzinfo=timezone.utc), "server")
    store.add_clock_anchor(server)
    store.add_clock_anchor(ClockAnchor("boot-1", 9, datetime(2030, 1, 1, tzinfo=timezone.utc), "server"))
    assert store.clock_anchor("boot-1") == server
    assert server.wall_at(7 + 90 * 10**9) == server.wall + timedelta(seconds=90)


def test_counts_since_groups_directions_and_sources(store: VisitStore, clock: FakeClock) -> None:
    record_many(store, clock, 2, direction="out")  # yesterday
    clock.advance(86400)
    since = clock.wall
    record_many(store, clock, 3, source="camera")
    record_many(store, clock, 1, source="camera", direction="out")
    record_many(store, clock, 1, source="manual", direction="out")
    record_many(store, clock, 2, source="serial", direction="out")
    assert store.counts_since(since) == {"in": 3, "out": 4, "total": 7, "by_source": {"camera": 4, "manual": 1, "serial": 2}}


# --- purge ---------------------------------------------------------------------------------


def test_purge_deletes_old_delivered_and_old_rejected_visits_never_pending_ones(store: VisitStore, clock: FakeClock) -> None:
    start = clock.wall
    old = dict(zip(("synced", "pending", "rejected"), record_many(store, clock, 3), strict=True))
    mark_synced(store, [old["synced"]], clock.wall)
    clock.advance(86400 * 40)
    mark_rejected(store, old["rejected"], "invalid", "x", clock.wall)  # learned 40 days after the scan
    recent_synced = record_many(store, clock, 1)[0]
    mark_synced(store, [recent_synced], clock.wall)
    far_past = start - timedelta(days=1)
    assert store.purge(clock.wall - timedelta(days=30), far_past, clock.wall) == (1, 0)
    assert set(stored_ids(store)) == {old["pending"], old["rejected"], recent_synced}
    # a rejection ages from when the kiosk learned of it, not from the scan
    assert store.purge(clock.wall - timedelta(days=30), clock.wall - timedelta(days=1), clock.wall) == (0, 0)
    never = clock.wall + timedelta(days=3650)
    assert store.purge(never, never, clock.wall) == (1, 1)
    assert stored_ids(store) == [old["pending"]]  # pending visits stay at any age


def test_scan_service_purges_after_retention_days(store: VisitStore, clock: FakeClock) -> None:
    now = clock.wall
    ids = {}
    for age in (8, 6):
        clock.wall = now - timedelta(days=age)
        ids[age] = record_many(store, clock, 1)[0]
    clock.wall = now
    mark_synced(store, list(ids.values()), now)
    assert service_for(store, clock, retention_days=7).purge() == (1, 0)
    assert stored_ids(store) == [ids[6]]


@given(st.datetimes(timezones=st.timezones()))
def test_iso_is_isoformat_in_utc_to_the_microsecond(moment: datetime) -> None:
    """``iso`` writes its text with ``%`` for speed; it must be exactly what isoformat writes."""
    assert iso(moment) == moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
