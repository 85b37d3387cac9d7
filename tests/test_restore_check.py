"""Restore accepts only the schema the kiosk makes and rows of its shape; a refusal names what
is wrong and changes nothing."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kiosk.backup import ASIDE_MARK, backup
from kiosk.config import load_config
from kiosk.restore_check import expected_schema, row_problems, schema_differences
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import DB_NAME, SCHEMA_VERSION, VisitStore
from tests.conftest import FakeClock, mark_synced, run_cli
from tests.test_backup import EXIT_REFUSED, cccd, rows, said

PLANTED_TRIGGER = (
    "CREATE TRIGGER mark_synced AFTER INSERT ON visits BEGIN UPDATE visits SET sync_state = 'synced' WHERE id = new.id; END"
)


def kiosk_with_backup(tmp_path: Path) -> tuple[Path, Path]:
    """A kiosk with visits (one delivered) and a backup of it, made by the kiosk's own code."""
    config, _ = load_config(None, [f"storage.data_dir={tmp_path / 'data'}"])
    clock = FakeClock()
    with VisitStore.in_dir(config.data_dir) as store:
        service = ScanService(config, store, clock=clock)
        ids = [service.handle(ScanEvent(source="serial", text=cccd(n))).visit_id for n in range(3)]
        mark_synced(store, ids[:1], clock.wall)
        usb = tmp_path / "usb"
        usb.mkdir()
        made = backup(store, usb, config.checkpoint.code, datetime(2026, 11, 23, tzinfo=timezone.utc))
    return config.data_dir, made.path


def tamper(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA ignore_check_constraints = 1")  # as a hand-made file can
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def refused(data_dir: Path, copy: Path, code: str, **params: object) -> None:
    before = rows(data_dir / DB_NAME)
    result = run_cli("restore", str(copy), data_dir=data_dir)
    assert result.code == EXIT_REFUSED, result
    said(result, code, file=copy, **params)
    assert rows(data_dir / DB_NAME) == before
    assert not list(data_dir.glob(f"*{ASIDE_MARK}*"))


def test_the_expected_schema_is_the_one_a_new_kiosk_makes(tmp_path: Path) -> None:
    with VisitStore.in_dir(tmp_path) as store:
        assert schema_differences(store.db.conn, SCHEMA_VERSION) == []
        assert row_problems(store.db.conn) == []
    kinds = {kind for kind, *_ in expected_schema(SCHEMA_VERSION)}
    assert kinds == {"table", "index"}  # the kiosk makes no trigger and no view


@pytest.mark.parametrize("respell", [False, True], ids=["as-made", "older-sqlite-utils-quoting"])
def test_a_backup_the_kiosk_made_is_restored(tmp_path: Path, respell: bool) -> None:
    data_dir, copy = kiosk_with_backup(tmp_path)
    if respell:  # sqlite-utils 3 wrote [brackets]: the same index, spelled otherwise
        tamper(copy, "DROP INDEX idx_visits_scanned_at", "CREATE INDEX [idx_visits_scanned_at] ON [visits] ([scanned_at])")
    result = run_cli("restore", str(copy), "--json", "--force", data_dir=data_dir)
    assert (result.code, result.json()["visits"], result.json()["pending"]) == (0, 3, 2), result


@pytest.mark.parametrize(
    "statements, problems",
    [
        ((PLANTED_TRIGGER,), "extra trigger mark_synced on visits"),
        (("CREATE VIEW everyone AS SELECT fields, raw FROM visits",), "extra view everyone"),
        (("CREATE TABLE notes (visit TEXT, note TEXT)",), "extra table notes"),
        (("DROP INDEX idx_visits_scanned_at",), "missing index idx_visits_scanned_at"),
        (
            ("DROP INDEX idx_visits_scanned_at", "CREATE INDEX idx_visits_scanned_at ON visits (fields)"),
            "changed index idx_visits_scanned_at on visits",
        ),
    ],
    ids=["planted-trigger", "planted-view", "extra-table", "missing-index", "changed-index"],
)
def test_a_schema_the_kiosk_does_not_make_is_refused_by_name(tmp_path: Path, statements: tuple[str, ...], problems: str) -> None:
    data_dir, copy = kiosk_with_backup(tmp_path)
    tamper(copy, *statements)
    refused(data_dir, copy, "restore_schema", problems=problems)


@pytest.mark.parametrize(
    "statement, problems",
    [
        ("UPDATE visits SET sync_state = 'sent' WHERE seq = 2", "visits.sync_state: 1 rows"),
        ("UPDATE visits SET direction = 'up' WHERE seq = 2", "visits.direction: 1 rows"),
        ("UPDATE visits SET kind = 'passport' WHERE seq = 2", "visits.clear: 1 rows; visits.fields: 1 rows; visits.kind: 1 rows"),
        ("UPDATE visits SET monotonic_ns = 'soon' WHERE seq > 1", "visits.monotonic_ns: 2 rows"),
        ("UPDATE visits SET checkpoint_code = printf('%.65c', 'X')", "visits.checkpoint_code: 3 rows"),
        ("UPDATE visits SET id = 'not-a-uuid' WHERE seq = 3", "visits.id: 1 rows"),
        ("UPDATE visits SET fields = json_remove(fields, '$.id_number') WHERE seq = 1", "visits.fields: 1 rows"),
        ("INSERT INTO meta VALUES ('sync.rejections_seen_through', 'all')", "meta.sync.rejections_seen_through: 1 rows"),
    ],
    ids=["status", "direction", "kind", "type", "length", "uuid", "fields", "meta-counter"],
)
def test_a_row_of_the_wrong_shape_is_refused_naming_the_column(tmp_path: Path, statement: str, problems: str) -> None:
    data_dir, copy = kiosk_with_backup(tmp_path)
    tamper(copy, statement)
    refused(data_dir, copy, "restore_bad_rows", problems=problems)


def test_a_truncated_backup_is_refused(tmp_path: Path) -> None:
    data_dir, copy = kiosk_with_backup(tmp_path)
    whole = copy.read_bytes()
    copy.write_bytes(whole[: len(whole) // 2])
    refused(data_dir, copy, "restore_damaged")
