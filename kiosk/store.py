"""The visit store: one SQLite file that must survive pulled plugs and full SD cards.

WAL with ``synchronous=FULL`` means a visit that ``record`` returned is on disk, so the
guard only sees green for what a power cut cannot take away. The same file is the outbox:
visits stay ``pending`` until the server acknowledges them, and pending or rejected
visits are never purged.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.clock import ClockReading

DB_NAME = "visits.sqlite3"
BUSY_TIMEOUT_MS = 5000


class StorageError(Exception):
    """The store refused a write; ``code`` is a message code (storage_full, ...)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def storage_error(exc: sqlite3.Error | OSError) -> StorageError:
    """Map SQLite and OS failures to what an admin can act on."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    errno_ = getattr(exc, "errno", None)
    if name.startswith("SQLITE_FULL") or errno_ == 28:  # ENOSPC
        return StorageError("storage_full", str(exc))
    if name.startswith("SQLITE_READONLY") or errno_ in (13, 30):  # EACCES, EROFS
        return StorageError("storage_readonly", str(exc))
    return StorageError("storage_error", str(exc))


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        """
        CREATE TABLE visits (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            checkpoint_code TEXT NOT NULL,
            device_id TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
            source TEXT NOT NULL,
            reader TEXT,
            kind TEXT NOT NULL,
            credential_key TEXT NOT NULL,
            fields TEXT NOT NULL,
            raw TEXT,
            scanned_at TEXT NOT NULL,
            monotonic_ns INTEGER NOT NULL,
            boot_id TEXT NOT NULL,
            clock_synchronised INTEGER NOT NULL,
            operator TEXT,
            sync_state TEXT NOT NULL DEFAULT 'pending'
                CHECK (sync_state IN ('pending', 'synced', 'rejected')),
            sync_code TEXT,
            sync_reason TEXT,
            synced_at TEXT
        )
        """
    )
    db["visits"].create_index(["sync_state", "seq"])
    db["visits"].create_index(["credential_key", "seq"])
    db["visits"].create_index(["scanned_at"])
    db["meta"].insert({"key": "device_id", "value": str(uuid.uuid4())})


_LATEST_SQL = (
    "SELECT id, scanned_at, monotonic_ns, boot_id, direction FROM visits "
    "WHERE credential_key = ? ORDER BY seq DESC LIMIT 1"
)
_INSERT_SQL = (
    "INSERT INTO visits (id, checkpoint_code, device_id, direction, source, reader, kind, credential_key, fields, raw, "
    "scanned_at, monotonic_ns, boot_id, clock_synchronised, operator) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# Index i upgrades a database from user_version i to i + 1. Append; never edit.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class NewVisit:
    """A visit about to be stored; its id was made at scan time and never changes."""

    id: str
    checkpoint_code: str
    direction: str
    source: str
    reader: str | None
    kind: str
    credential_key: str
    fields: dict[str, Any]
    raw: str | None
    clock: ClockReading
    operator: str | None = None


@dataclass(frozen=True)
class Repeat:
    """The same credential was stored moments ago; nothing new was written."""

    visit_id: str
    first_seen_at: datetime
    direction: str


def iso(moment: datetime) -> str:
    """One text form for every stored time, so SQL string order is time order."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


class VisitStore:
    """Thread-safe access to the visit database of one kiosk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            new = not self.path.exists()
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            if new:
                os.chmod(self.path, 0o600)  # personal data: the kiosk user only
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db = sqlite_utils.Database(conn)
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.enable_wal()
            conn.execute("PRAGMA synchronous = FULL")
            self._migrate()
            self.device_id = self.db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
        except (sqlite3.Error, OSError) as exc:
            raise storage_error(exc) from exc

    @classmethod
    def in_dir(cls, data_dir: Path) -> VisitStore:
        return cls(Path(data_dir) / DB_NAME)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> VisitStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        with self._write():
            version = self.schema_version
            if version > SCHEMA_VERSION:
                raise StorageError(
                    "storage_error",
                    f"{self.path} was written by a newer version (schema {version} > {SCHEMA_VERSION})",
                )
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](self.db)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """BEGIN IMMEDIATE: the repeat check and the insert see one state across processes."""
        with self._lock:
            conn = self.db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                raise storage_error(exc) from exc

    def record(self, visit: NewVisit, repeat_window_s: float) -> str | Repeat:
        """Store the visit durably and return its id, or the earlier visit it repeats.

        The scan path: plain SQL on the connection (a repeat-check SELECT, one INSERT, the
        COMMIT), because sqlite-utils' table helpers look the schema up on every call and
        that doubled the time a guard waits for green (bench/scan_latency.py).
        """
        with self._write() as db:
            previous = db.conn.execute(_LATEST_SQL, [visit.credential_key]).fetchone()
            if previous is not None:
                elapsed = self._elapsed_s(previous, visit.clock)
                if 0 <= elapsed <= repeat_window_s:
                    return Repeat(previous[0], datetime.fromisoformat(previous[1]), previous[4])
            db.conn.execute(
                _INSERT_SQL,
                [
                    visit.id,
                    visit.checkpoint_code,
                    self.device_id,
                    visit.direction,
                    visit.source,
                    visit.reader,
                    visit.kind,
                    visit.credential_key,
                    json.dumps(visit.fields, ensure_ascii=False, sort_keys=True),
                    visit.raw,
                    iso(visit.clock.wall),
                    visit.clock.monotonic_ns,
                    visit.clock.boot_id,
                    int(visit.clock.synchronised),
                    visit.operator,
                ],
            )
        return visit.id

    @staticmethod
    def _elapsed_s(previous: tuple[Any, ...], now: ClockReading) -> float:
        _, scanned_at, monotonic_ns, boot, _ = previous
        if boot == now.boot_id:
            return (now.monotonic_ns - monotonic_ns) / 1e9
        return (now.wall - datetime.fromisoformat(scanned_at)).total_seconds()

    def get(self, visit_id: str) -> dict[str, Any] | None:
        with self._lock:
            rows = list(self.db["visits"].rows_where("id = ?", [visit_id]))
        return _decoded(rows[0]) if rows else None

    def visits(
        self, *, state: str | None = None, since: datetime | None = None, limit: int | None = 50, oldest_first: bool = False
    ) -> list[dict[str, Any]]:
        """Visits filtered by sync state and time; newest first unless ``oldest_first`` (the outbox order)."""
        clauses, args = [], []
        if state:
            clauses.append("sync_state = ?")
            args.append(state)
        if since:
            clauses.append("scanned_at >= ?")
            args.append(iso(since))
        order = "seq" if oldest_first else "seq desc"
        with self._lock:
            rows = self.db["visits"].rows_where(" and ".join(clauses) or None, args, order_by=order, limit=limit)
            return [_decoded(r) for r in rows]

    def outbox(self, limit: int) -> list[dict[str, Any]]:
        """The next visits to upload: pending, oldest first by local sequence."""
        return self.visits(state="pending", limit=limit, oldest_first=True)

    def count(self, state: str) -> int:
        with self._lock:
            return self.db["visits"].count_where("sync_state = ?", [state])

    def counts_since(self, since: datetime) -> dict[str, Any]:
        """Entries, exits and visits per source since a moment (the start of today)."""
        with self._lock:
            rows = self.db.query(
                "SELECT direction, source, count(*) AS n FROM visits WHERE scanned_at >= ? GROUP BY direction, source",
                [iso(since)],
            )
            counts: dict[str, Any] = {"in": 0, "out": 0, "total": 0, "by_source": {}}
            for row in rows:
                counts[row["direction"]] += row["n"]
                counts["total"] += row["n"]
                counts["by_source"][row["source"]] = counts["by_source"].get(row["source"], 0) + row["n"]
        return counts

    def mark_synced(self, visit_ids: list[str], at: datetime) -> int:
        with self._write() as db:
            marks = ",".join("?" * len(visit_ids))
            cursor = db.execute(
                f"UPDATE visits SET sync_state = 'synced', sync_code = NULL, sync_reason = NULL, synced_at = ? "
                f"WHERE id IN ({marks})",
                [iso(at), *visit_ids],
            )
            return cursor.rowcount

    def mark_rejected(self, visit_id: str, code: str, reason: str, at: datetime) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE visits SET sync_state = 'rejected', sync_code = ?, sync_reason = ?, synced_at = ? WHERE id = ?",
                [code, reason, iso(at), visit_id],
            )

    def purge(self, older_than: datetime) -> int:
        """Delete synced visits scanned before ``older_than``; pending and rejected ones stay."""
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM visits WHERE sync_state = 'synced' AND scanned_at < ?", [iso(older_than)]
            )
            return cursor.rowcount


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["fields"] = json.loads(row["fields"])
    row["clock_synchronised"] = bool(row["clock_synchronised"])
    return row
