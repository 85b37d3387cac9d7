"""The visit store: one SQLite file that must survive pulled plugs and full SD cards.

WAL with ``synchronous=FULL`` means a visit that ``record`` returned is on disk, so the
guard only sees green for what a power cut cannot take away. The same file is the outbox:
visits stay ``pending`` until the server acknowledges them, and pending visits are never
purged (delivered ones go after ``retention_days``, rejected ones after their own limit,
with ``secure_delete`` on so what is purged leaves no clear bytes; kiosk/retention.py).
Each rejection gets a number in the order the kiosk heard of it,
so "rejections an admin has not seen yet" is one number kept beside the visits (the newest
one acknowledged), never a wall time: a Raspberry Pi's clock can jump back after a reboot.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import re
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, NamedTuple

import sqlite_utils

from kiosk.clock import ClockAnchor, ClockReading
from kiosk.contract import Direction, Kind
from kiosk.credentials import credential_from_fields
from kiosk.masking import masked_fields
from kiosk.quarantine import CORRUPT_MARK, SIDE_FILES, is_corruption, quarantine, quarantine_warning, salvage_device_id
from kiosk.runlock import KioskRunning, run_lock
from kiosk.seal import DistrictKey, Prepared, SealPool, UnusableKey, seal

DB_NAME = "visits.sqlite3"
BUSY_TIMEOUT_MS = 5000
# Below this much free space SQLite cannot even size its 32 KiB -shm file, let alone write.
LOW_SPACE_BYTES = 64 * 1024

log = logging.getLogger("checkpoint_kiosk.store")

# Stores open in this process, by file: a damaged file one of them still writes to is not
# moved aside under it (the kiosk's sync worker opens its own store beside the scan path's).
_open_here: Counter[Path] = Counter()
_open_here_lock = threading.Lock()


class StorageError(Exception):
    """The store refused a write; ``code`` is a message code (storage_full, ...)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def storage_error(exc: sqlite3.Error | OSError, directory: Path | None = None) -> StorageError:
    """Map SQLite and OS failures to what an admin can act on.

    SQLite reports some OS failures only as "disk I/O error" (SQLITE_IOERR_SHMSIZE when a
    full disk cannot hold the -shm file, SQLITE_IOERR_WRITE on EROFS) or "unable to open
    database file" (SQLITE_CANTOPEN when a read-only filesystem cannot hold the -shm file),
    so for those the filesystem holding ``directory`` is asked what is wrong with it.
    """
    name = getattr(exc, "sqlite_errorname", "") or ""
    errno_ = getattr(exc, "errno", None)
    if is_corruption(exc):
        return StorageError("storage_corrupt", str(exc))
    if name.startswith("SQLITE_FULL") or errno_ == errno.ENOSPC:
        return StorageError("storage_full", str(exc))
    if name.startswith("SQLITE_READONLY") or errno_ in (errno.EACCES, errno.EROFS):
        return StorageError("storage_readonly", str(exc))
    state = _filesystem_state(directory) if directory is not None else None
    return StorageError(state or "storage_error", str(exc))


def _filesystem_state(directory: Path) -> str | None:
    try:
        fs = os.statvfs(directory)
    except OSError:
        return None
    if fs.f_flag & os.ST_RDONLY:
        return "storage_readonly"
    if fs.f_bavail * fs.f_frsize < LOW_SPACE_BYTES:
        return "storage_full"
    return None


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
    visits = db.table("visits")
    visits.create_index(["sync_state", "seq"])
    visits.create_index(["credential_key", "seq"])
    visits.create_index(["scanned_at"])
    db.table("meta").insert({"key": "device_id", "value": str(uuid.uuid4())})


def _v2(db: sqlite_utils.Database) -> None:
    """Sync: the corrected scan time, the USB export mark, and each boot's first good time."""
    db.execute("ALTER TABLE visits ADD COLUMN corrected_at TEXT")
    db.execute("ALTER TABLE visits ADD COLUMN exported_at TEXT")
    db.execute(
        "CREATE TABLE clock_anchors (boot_id TEXT PRIMARY KEY, monotonic_ns INTEGER NOT NULL, "
        "wall TEXT NOT NULL, source TEXT NOT NULL)"
    )


def _v3(db: sqlite_utils.Database) -> None:
    """Rejections numbered in the order they were learned, for "not yet seen by an admin".

    Visits rejected before this version are numbered by their sequence, with nothing
    acknowledged: an upgraded kiosk shows the rejections nobody may ever have noticed.
    """
    db.execute("ALTER TABLE visits ADD COLUMN rejection_no INTEGER")
    db.execute("UPDATE visits SET rejection_no = seq WHERE sync_state = 'rejected'")
    db.execute("CREATE INDEX visits_rejection_no ON visits (rejection_no) WHERE rejection_no IS NOT NULL")


def _v4(db: sqlite_utils.Database) -> None:
    """Sealing (kiosk/seal.py): ``fields`` keeps only the masked, screen-safe fields; the full
    fields and the raw payload go into ``sealed`` (to the district key ``key_id``), or into
    ``clear`` while the kiosk has no district key, to be sealed when one arrives.

    Existing visits move their fields into ``clear`` and their plain-hash repeat keys (a
    12-digit ID number is guessable from its hash) are replaced by random ones; the
    store seals them as soon as a district key is there.
    """
    db.execute("ALTER TABLE visits ADD COLUMN sealed BLOB")
    db.execute("ALTER TABLE visits ADD COLUMN key_id TEXT")
    db.execute("ALTER TABLE visits ADD COLUMN clear TEXT")
    rows = db.execute("SELECT seq, kind, fields, raw FROM visits").fetchall()
    for seq, kind, fields_text, raw in rows:
        shown, clear = unsealed_form(kind, fields_text, raw)
        db.execute(
            "UPDATE visits SET fields = ?, raw = NULL, clear = ?, credential_key = ? WHERE seq = ?",
            [shown, clear, uuid.uuid4().hex, seq],
        )


def unsealed_form(kind: str, fields_text: str, raw: str | None) -> tuple[str, str]:
    """A visit stored before sealing (schema < 4) as schema 4 keeps it: (masked fields, clear JSON)."""
    fields = json.loads(fields_text)
    try:
        credential = credential_from_fields(kind, fields)
    except (KeyError, TypeError):  # fields the server would refuse: nothing to show, still kept for it
        shown = {}
    else:
        shown = masked_fields(credential, name=fields.get("name"), id_number=fields.get("id_number"))
    return _json(shown), _json({"fields": fields, "raw": raw})


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # made once: json.dumps with options makes one a call


def _json(value: Any) -> str:
    return _JSON.encode(value)


# What a scan writes; also what a salvage copies back from a damaged file (kiosk/salvage.py).
RECOVERED_COLUMNS = (
    "id",
    "checkpoint_code",
    "device_id",
    "direction",
    "source",
    "reader",
    "kind",
    "credential_key",
    "fields",
    "raw",
    "scanned_at",
    "monotonic_ns",
    "boot_id",
    "clock_synchronised",
    "operator",
    "sealed",
    "key_id",
    "clear",
)
_INSERT_SQL = f"INSERT INTO visits ({', '.join(RECOVERED_COLUMNS)}) VALUES ({', '.join('?' * len(RECOVERED_COLUMNS))})"

_PENDING_SQL = (
    "SELECT seq, id, checkpoint_code, direction, source, reader, kind, sealed, key_id, clear, scanned_at, monotonic_ns, "
    "boot_id, clock_synchronised, operator FROM visits WHERE sync_state = 'pending' AND seq > ? ORDER BY seq LIMIT ?"
)

# Index i upgrades a database from user_version i to i + 1. Append; never edit.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4]
SCHEMA_VERSION = len(MIGRATIONS)
# The number of the newest rejection an admin has seen (the touchscreen's Sync panel).
REJECTIONS_SEEN = "sync.rejections_seen_through"
# Retention: which visits go, by the age of what. Delivered ones by when they happened (the
# corrected time when the server fixed the clock); rejected ones by when the kiosk learned of
# the rejection, so an admin always has the whole limit to see one. Pending ones never go.
SyncState = Literal["pending", "synced", "rejected"]  # as the visits table's CHECK has them
PurgedState = Literal["synced", "rejected"]
PURGE_RULES: dict[PurgedState, str] = {"synced": "coalesce(corrected_at, scanned_at)", "rejected": "synced_at"}
PURGE_BATCH = 500
PURGED_TOTAL = "retention.purged_total."  # + state: every purge's sum
PURGED_LAST = "retention.last_purged."  # + state: the last pass's
PURGED_LAST_AT = "retention.last_at"

# The district's public key (base64) and its fingerprint: what new visits are sealed to.
DISTRICT_KEY = "district.public_key"
DISTRICT_FINGERPRINT = "district.fingerprint"
_KEY_SQL = f"SELECT value FROM meta WHERE key = '{DISTRICT_KEY}'"
# The scan's one statement: the visit, unless the latest visit of the same credential is the
# same scan again, or the district key is no longer the one this process sealed it to (the
# sync process stored another). "The same scan again": within one boot the monotonic clock is
# exact and shared by every process, and a scan read just *before* the stored one but
# committed after it (two readers or two processes at once) is the same scan, so look both
# ways; across a reboot only the wall clock is left, and a wall clock behind the stored visit
# cannot be trusted, so store it (times compare as text, exactly: ``iso``).
_LATEST_REPEATED = (
    "SELECT latest.id, latest.scanned_at, latest.direction FROM (SELECT id, scanned_at, monotonic_ns, boot_id, "
    "direction FROM visits WHERE credential_key = :credential_key ORDER BY seq DESC LIMIT 1) AS latest "
    "WHERE CASE WHEN latest.boot_id = :boot_id THEN abs(:monotonic_ns - latest.monotonic_ns) <= :window_ns "
    "ELSE latest.scanned_at BETWEEN :earliest AND :scanned_at END"
)
_RECORD_PARAMS = (*RECOVERED_COLUMNS, "key_text", "window_ns", "earliest")


def _numbered(sql: str) -> str:
    """``:name`` → ``?N``, its place in ``_RECORD_PARAMS``: the statement is bound from a list, by
    position, which costs a fraction of binding a dict by name (about 50,000 instructions per
    scan, counted with callgrind)."""
    return re.sub(r":([a-z_]+)", lambda m: f"?{_RECORD_PARAMS.index(m.group(1)) + 1}", sql)


_RECORD_SQL = _numbered(
    f"INSERT INTO visits ({', '.join(RECOVERED_COLUMNS)}) SELECT {', '.join(':' + c for c in RECOVERED_COLUMNS)} "
    f"WHERE ({_KEY_SQL}) IS :key_text AND NOT EXISTS ({_LATEST_REPEATED})"
)
# When it wrote nothing: which of the two it was, read in one statement.
_NOT_RECORDED_SQL = _numbered(f"SELECT ({_KEY_SQL}), repeated.* FROM (SELECT 1) LEFT JOIN ({_LATEST_REPEATED}) AS repeated")
# Each miss means another process changed the key or the credential's latest visit just now;
# after this many the scan is refused as a storage error (a review saw it only with a key
# rewritten in a tight loop, 61 of 1,200 scans; a district rotates its key a few times a year).
RECORD_TRIES = 5


@dataclass(frozen=True)
class NewVisit:
    """A visit about to be stored; its id was made at scan time and never changes."""

    id: str
    checkpoint_code: str
    direction: Direction
    source: str
    reader: str | None
    kind: Kind
    credential_key: str  # a keyed hash whose key is never written (kiosk/scan.py)
    fields: dict[str, Any]  # every field, for the district only: sealed before it is written
    raw: str | None  # the payload as read, when it is kept (a certificate): sealed with the fields
    clock: ClockReading
    operator: str | None = None
    shown: dict[str, Any] = field(default_factory=dict)  # the masked fields the screens show (kiosk/masking.py), in clear

    @functools.cached_property
    def scanned_at(self) -> str:
        """The wall time as stored (``iso``), made once: the contract check and the insert both
        need it (``iso``: 12,600 instructions, callgrind)."""
        return iso(self.clock.wall)


class Outgoing(NamedTuple):
    """A pending visit as the sync client reads it: columns as stored. Either ``sealed`` (to
    the key ``key_id``) or ``clear`` (JSON of the fields and raw payload, no key yet) is set."""

    seq: int
    id: str
    checkpoint_code: str
    direction: Direction
    source: str
    reader: str | None
    kind: Kind
    sealed: bytes | None
    key_id: str | None
    clear: str | None
    scanned_at: str
    monotonic_ns: int
    boot_id: str
    clock_synchronised: int
    operator: str | None


class Delivery(NamedTuple):
    """The server's verdict on one visit: ``synced``, or ``rejected`` with its code and reason."""

    visit_id: str
    state: str
    code: str | None = None
    reason: str | None = None
    corrected_at: str | None = None  # the scan time corrected from the server clock, if it was


@dataclass(frozen=True)
class RejectionGroup:
    """Rejected visits kept here with one server code: how many, and the server's words.

    ``reason`` is that of the newest one (reasons never hold personal data); ``reasons`` is
    how many different ones there are (``invalid_visit`` names the fields, which vary).
    """

    code: str
    count: int
    reason: str
    reasons: int


@dataclass(frozen=True)
class Rejections:
    """Every rejected visit on the kiosk, by code, and how many no admin has seen yet."""

    total: int
    unseen: int
    newest: int  # the number of the newest rejection: what seeing them all acknowledges
    groups: tuple[RejectionGroup, ...]  # the largest first

    def by_code(self) -> dict[str, int]:
        return {g.code: g.count for g in self.groups}


class Purged(NamedTuple):
    """How many visits retention deleted, of each state it deletes."""

    synced: int
    rejected: int


@dataclass(frozen=True)
class PurgeRecord:
    """Kept beside the visits: the last purge (None when there was none yet) and every purge's sum."""

    last_at: datetime | None
    last: Purged
    total: Purged


@dataclass(frozen=True)
class Repeat:
    """The same credential was stored moments ago; nothing new was written."""

    visit_id: str
    first_seen_at: datetime
    direction: Direction


def iso(moment: datetime) -> str:
    """One text form for every stored time, so SQL string order is time order.

    ``isoformat(timespec="microseconds")`` of the time in UTC, written with ``%``: the same
    text (tests/test_store.py) in 12,600 instructions instead of 19,300 (callgrind), and each
    scan writes two.
    """
    utc = moment.astimezone(timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00" % (  # noqa: UP031  (an f-string is slower here)
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
    )


class VisitStore:
    """Thread-safe access to the visit database of one kiosk.

    On a full or read-only disk an existing store still opens for reading (status, lists,
    exports) and every write raises the StorageError that says why; each write first
    tries to reopen for writing, so a kiosk recovers once the admin has freed space.

    A database that fails SQLite's ``quick_check`` at open is moved aside and replaced by
    an empty one (kiosk/quarantine.py); ``quarantined`` then holds where it went, and the
    sentence is logged at error level (a CLI command without logging set up prints it on
    stderr). The check reads the whole file: about 0.05 s for 100k visits here
    (bench/store_open_check.py), paid once per process.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.write_error: StorageError | None = None  # set while the store is read-only
        self.quarantined: Path | None = None  # where this open moved a damaged database
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise storage_error(exc, self.path.parent) from exc
        try:
            if self.path.exists():
                _quick_check(self.path)
            self.db = self._open_for_writing()
        except StorageError as exc:
            if exc.code == "storage_corrupt":
                self.db = self._replace_corrupt(exc)
            elif exc.code == "storage_error" or not self.path.exists():
                raise
            else:
                self.db = self._open_for_reading(exc)
                self.write_error = exc
        try:
            self.device_id = self.db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
        except sqlite3.Error as exc:
            self.db.close()
            raise storage_error(exc, self.path.parent) from exc
        self._key: Path | None = self.path.resolve()
        self._key_cache: tuple[str, SealPool] | None = None  # the district key new visits are sealed to
        with _open_here_lock:
            _open_here[self._key] += 1

    def _open_for_writing(self) -> sqlite_utils.Database:
        conn = None
        try:
            new = not self.path.exists()
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            if new:
                os.chmod(self.path, 0o600)  # personal data: the kiosk user only
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db = sqlite_utils.Database(conn)
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.enable_wal()
            conn.execute("PRAGMA synchronous = FULL")
            # Freed cells and pages are zeroed: a purged visit, or the copy an UPDATE leaves
            # behind when a row moves, keeps no clear bytes in the file (kiosk/retention.py).
            conn.execute("PRAGMA secure_delete = ON")
            self._migrate(db)
            return db
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise storage_error(exc, self.path.parent) from exc
            raise

    def _replace_corrupt(self, cause: StorageError) -> sqlite_utils.Database:
        """Move the damaged database aside and open a fresh one that keeps the device id if it can.

        Under the run lock, and only when this process has no other store open on it: a
        kiosk still writing to the old file would otherwise go on recording into the file
        just moved aside. The kiosk's own first open (it holds the lock) may.
        """
        with _open_here_lock:
            if _open_here[self.path.resolve()]:
                raise StorageError("storage_corrupt", f"{cause.detail}; still open in this process")
        try:
            with run_lock(self.path.parent):
                self.quarantined = quarantine(self.path)
                log.error(quarantine_warning(self.quarantined))
                device_id = salvage_device_id(self.quarantined)
                db = self._open_for_writing()
                if device_id is not None:
                    with _immediate(db):
                        _put_meta(db, {"device_id": device_id})
        except KioskRunning as running:
            raise StorageError("storage_corrupt", f"{cause.detail}; {running}") from cause
        except (OSError, sqlite3.Error) as exc:
            raise storage_error(exc, self.path.parent) from exc
        log.info("device id %s", "kept from the damaged database" if device_id else "unreadable there: a new one was made")
        return db

    def _open_for_reading(self, cause: StorageError) -> sqlite_utils.Database:
        """A full or read-only disk: open without writing anything, or raise ``cause``.

        ``mode=ro`` needs a usable -shm file; ``immutable`` needs none but ignores the WAL,
        so it is only used when no committed visit can be waiting in a WAL.
        """
        queries = ["mode=ro"]
        wal = self.path.with_name(self.path.name + "-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            queries.append("mode=ro&immutable=1")
        for query in queries:
            conn = sqlite3.connect(f"{self.path.as_uri()}?{query}", uri=True, isolation_level=None, check_same_thread=False)
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                conn.execute("SELECT count(*) FROM visits").fetchone()
            except sqlite3.Error:
                conn.close()
                continue
            if version != SCHEMA_VERSION:
                conn.close()
                raise (_newer_version(self.path, version) if version > SCHEMA_VERSION else cause)
            return sqlite_utils.Database(conn)
        raise cause

    @classmethod
    def in_dir(cls, data_dir: Path) -> VisitStore:
        return cls(Path(data_dir) / DB_NAME)

    def close(self) -> None:
        with self._lock:
            self.db.close()
            if self._key_cache is not None:
                self._key_cache[1].close()
                self._key_cache = None
            with _open_here_lock:
                if self._key is not None:
                    _open_here[self._key] -= 1
                    self._key = None

    def __enter__(self) -> VisitStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self, db: sqlite_utils.Database) -> None:
        with _immediate(db):
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _newer_version(self.path, version)
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](db)
                db.execute(f"PRAGMA user_version = {number + 1}")

    def _reopen_for_writing(self, write_error: StorageError) -> None:
        """Leave read-only mode (entered because of write_error) once the disk is writable again, else raise why not."""
        try:
            db = self._open_for_writing()
        except StorageError as exc:
            raise (write_error if exc.code == "storage_error" else exc) from None
        self.db.close()
        self.db = db
        self.write_error = None

    @contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """One transaction, BEGIN IMMEDIATE: what it reads and writes is one state across processes."""
        with self._writing(), _immediate(self.db):
            yield self.db

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection for writing (autocommit: each statement its own transaction unless
        ``_write`` opened one); a database error becomes a ``StorageError``."""
        with self._lock:
            if self.write_error is not None:
                self._reopen_for_writing(self.write_error)
            try:
                yield self.db.conn
            except (sqlite3.Error, OSError) as exc:
                raise storage_error(exc, self.path.parent) from exc

    def next_visit(self) -> tuple[str, Prepared | None]:
        """The id for the next visit, with its seal prepared in idle time when one is ready
        (``prepare_seal``), for ``record``; a fresh random id otherwise."""
        with self._lock:
            pool = self._key_cache[1] if self._key_cache is not None else None
        prepared = pool.take() if pool is not None else None
        return (prepared.visit_id, prepared) if prepared is not None else (str(uuid.uuid4()), None)

    def record(self, visit: NewVisit, repeat_window_s: float, prepared: Prepared | None = None) -> str | Repeat:
        """Store the visit durably and return its id, or the earlier visit it repeats.

        The scan path is one SQL statement (``_RECORD_SQL``): the connection is in autocommit
        mode, so SQLite takes the write lock before the statement reads anything, the
        repeat check and the insert see one state across processes, and the statement's own
        commit is the durable one. The write lock is held for that statement only, not while
        Python seals and encodes, as it was under BEGIN IMMEDIATE … COMMIT around five
        statements; the instructions a scan costs are about the same either way (callgrind:
        SQLite copies the row through a temporary table because the SELECT reads ``visits``,
        which eats what four fewer statements save; bench/README.md). The district key it
        seals to is the one this process last read; when the database holds another,
        nothing is written, the key is read again and the visit sealed anew.
        """
        secret = {"fields": visit.fields, "raw": visit.raw}
        values: list[Any] = [  # in the order of _RECORD_PARAMS
            visit.id,
            visit.checkpoint_code,
            self.device_id,
            visit.direction,
            visit.source,
            visit.reader,
            visit.kind,
            visit.credential_key,
            _json(visit.shown),
            None,
            visit.scanned_at,
            visit.clock.monotonic_ns,
            visit.clock.boot_id,
            int(visit.clock.synchronised),
            visit.operator,
            None,  # sealed, key_id, clear: below, for the key of each try
            None,
            None,
            None,  # the key text it was sealed to
            int(repeat_window_s * 1e9),
            iso(visit.clock.wall - timedelta(seconds=repeat_window_s)),
        ]
        with self._writing() as conn:
            key_text = self._key_cache[0] if self._key_cache is not None else None
            for _ in range(RECORD_TRIES):
                pool = self._pool_for(key_text)
                if pool is not None:
                    values[15:19] = pool.seal(visit.id, secret, prepared), pool.key.fingerprint, None, key_text
                else:
                    values[15:19] = None, None, _json(secret), None
                if conn.execute(_RECORD_SQL, values).rowcount == 1:
                    return visit.id
                key_now, *repeated = conn.execute(_NOT_RECORDED_SQL, values).fetchone()
                if key_now == key_text and repeated[0] is not None:
                    return Repeat(repeated[0], datetime.fromisoformat(repeated[1]), repeated[2])
                key_text = key_now
        raise StorageError("storage_error", f"{self.path}: the visit was not written in {RECORD_TRIES} tries")

    def _seal_pool(self, db: sqlite_utils.Database) -> SealPool | None:
        """What seals to the key new visits are sealed to, read in the write transaction (the
        sync process may have just stored it); one pool per distinct value (kiosk/seal.py)."""
        row = db.conn.execute(_KEY_SQL).fetchone()
        return self._pool_for(row[0] if row is not None else None)

    def _pool_for(self, key_text: str | None) -> SealPool | None:
        if key_text is None:
            return None
        if self._key_cache is None or self._key_cache[0] != key_text:
            if self._key_cache is not None:
                self._key_cache[1].close()
            self._key_cache = (key_text, SealPool(DistrictKey.from_text(key_text)))
        return self._key_cache[1]

    def prepare_seal(self) -> bool:
        """Idle time: prepare one coming visit's seal (its id, encapsulation and key schedule; kiosk/seal.py).
        False when there is nothing to do: no district key yet, or enough are ready."""
        with self._lock:
            try:
                pool = self._key_cache[1] if self._key_cache is not None else self._seal_pool(self.db)
            except (sqlite3.Error, UnusableKey):  # the next scan's record says what is wrong
                return False
        return pool.prepare_one() if pool is not None else False

    def district_key(self) -> DistrictKey | None:
        """The district key this kiosk seals to; None before enrolment or ``district-key``."""
        with self._lock:
            row = self.db.conn.execute(_KEY_SQL).fetchone()
        try:
            return DistrictKey.from_text(row[0]) if row else None
        except UnusableKey:
            return None

    def unsealed(self) -> int:
        """Visits still waiting for a district key, their personal data in clear."""
        with self._lock:
            return self.db.execute("SELECT count(*) FROM visits WHERE clear IS NOT NULL").fetchone()[0]

    def set_district_key(self, key: DistrictKey) -> int:
        """Seal new visits to ``key`` from now on, and seal every visit still in clear; returns how many.

        With ``secure_delete`` the clear text overwritten is zeroed in its page, and the WAL
        that still holds the pages as they were is checkpointed into the file and truncated
        to nothing, so no clear copy is left in the database, its free pages or the WAL.
        """
        with self._write() as db:
            _put_meta(db, {DISTRICT_KEY: key.text(), DISTRICT_FINGERPRINT: key.fingerprint})
            sealed = _seal_backlog(db, key)
        self.scrub()
        return sealed

    def scrub(self) -> None:
        """Fold the WAL into the database and truncate it to zero bytes (old page images gone)."""
        with self._lock:
            try:
                self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path.parent) from exc

    def copy_to(self, target: sqlite3.Connection) -> None:
        """Every page into ``target`` in one step of SQLite's online backup API: one read
        transaction, so one consistent snapshot while other processes go on writing."""
        with self._lock:
            self.db.conn.backup(target)

    def import_visits(self, rows: Sequence[Sequence[Any]]) -> int:
        """Visits read back from a copy of this kiosk's database (``RECOVERED_COLUMNS``), stored
        pending with their own ids; one already here is skipped. Returns how many were added."""
        with self._write() as db:
            before = db.conn.total_changes
            db.conn.executemany(_INSERT_SQL.replace("INSERT", "INSERT OR IGNORE", 1), rows)
            added = db.conn.total_changes - before
            pool = self._seal_pool(db)
            if pool is not None:  # what came back in clear is sealed before it is committed
                _seal_backlog(db, pool.key)
        return added

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

    def count(self, state: str) -> int:
        with self._lock:
            return self.db["visits"].count_where("sync_state = ?", [state])

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest visit still waiting to be sent was scanned (by the outbox's index)."""
        with self._lock:
            row = self.db.conn.execute("SELECT scanned_at FROM visits WHERE sync_state = 'pending' ORDER BY seq LIMIT 1").fetchone()
        return datetime.fromisoformat(row[0]) if row else None

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

    def pending_after(self, seq: int, limit: int) -> list[Outgoing]:
        """The outbox by cursor: pending visits after ``seq``, oldest first.

        A cursor rather than "the first N pending", so one sync pass walks past a visit it
        had to leave pending instead of offering it again and again.
        """
        with self._lock:
            rows = self.db.conn.execute(_PENDING_SQL, [seq, limit]).fetchall()
        return [Outgoing._make(row) for row in rows]

    def apply_deliveries(self, deliveries: Sequence[Delivery], at: datetime, meta: Mapping[str, str | None] | None = None) -> int:
        """What the server said about visits, in one transaction with the sync state.

        A crash leaves either all of a batch's answers or none, and resending the rest is
        safe (the server answers ``duplicate``). Returns how many visits changed.
        A visit newly rejected gets the next rejection number (one already rejected keeps
        its own), so the screens know it has not been seen yet.
        """
        when = iso(at)
        with self._write() as db:
            before = db.conn.total_changes
            number = _newest_rejection(db)
            db.conn.executemany(
                "UPDATE visits SET sync_state = ?, sync_code = ?, sync_reason = ?, synced_at = ?, "
                "corrected_at = coalesce(?, corrected_at), rejection_no = CASE WHEN ? = 'rejected' THEN "
                "coalesce(CASE WHEN sync_state = 'rejected' THEN rejection_no END, ?) END WHERE id = ?",
                [
                    (d.state, d.code, d.reason, when, d.corrected_at, d.state, number + i, d.visit_id)
                    for i, d in enumerate(deliveries, start=1)
                ],
            )
            changed = db.conn.total_changes - before
            _put_meta(db, meta or {})
        return changed

    def requeue_rejected(self) -> int:
        """An admin's deliberate retry of rejected visits (e.g. after fixing the checkpoint)."""
        with self._write() as db:
            return db.execute(
                "UPDATE visits SET sync_state = 'pending', sync_code = NULL, sync_reason = NULL, synced_at = NULL, "
                "rejection_no = NULL WHERE sync_state = 'rejected'"
            ).rowcount

    def unseen_rejections(self) -> int:
        """Rejected visits no admin has seen on the Sync panel yet (cheap: the status line asks often)."""
        with self._lock:
            return self.db.execute(
                "SELECT count(*) FROM visits WHERE rejection_no > ? AND +sync_state = 'rejected'",  # by the new ones' index
                [_seen_through(self.db)],
            ).fetchone()[0]

    def rejections(self) -> Rejections:
        """Every rejected visit kept here, grouped by the server's code, and how many are unseen."""
        with self._lock:
            seen = _seen_through(self.db)
            # SQLite gives the bare column sync_reason from the row holding max(rejection_no)
            rows = self.db.execute(
                "SELECT sync_code, sync_reason, max(rejection_no), count(*), count(DISTINCT sync_reason), "
                "sum(rejection_no > ?) FROM visits WHERE sync_state = 'rejected' GROUP BY sync_code",
                [seen],
            ).fetchall()
        groups = sorted(
            (RejectionGroup(code or "", count, reason or "", reasons) for code, reason, _newest, count, reasons, _unseen in rows),
            key=lambda g: (-g.count, g.code),
        )
        return Rejections(
            total=sum(g.count for g in groups),
            unseen=sum(r[5] or 0 for r in rows),
            newest=max((r[2] or 0 for r in rows), default=0),
            groups=tuple(groups),
        )

    def acknowledge_rejections(self, through: int) -> None:
        """An admin has seen the rejections numbered up to ``through``; later ones stay unseen."""
        with self._write() as db:
            if through > _seen_through(db):
                _put_meta(db, {REJECTIONS_SEEN: str(through)})

    def mark_exported(self, visit_ids: Sequence[str], at: datetime) -> None:
        """Written to a USB stick; the visits stay pending until the server confirms them."""
        with self._write() as db:
            db.conn.executemany("UPDATE visits SET exported_at = ? WHERE id = ?", [(iso(at), i) for i in visit_ids])

    def count_exported(self) -> int:
        """Pending visits already on a USB stick, awaiting the server's confirmation."""
        with self._lock:
            return self.db.execute(
                "SELECT count(*) FROM visits WHERE sync_state = 'pending' AND exported_at IS NOT NULL"
            ).fetchone()[0]

    def meta(self, prefix: str) -> dict[str, str]:
        """Key/value state kept beside the visits (the sync client's, under ``sync.``)."""
        with self._lock:
            rows = self.db.execute("SELECT key, value FROM meta WHERE key LIKE ? || '%'", [prefix]).fetchall()
        return dict(rows)

    def write_meta(self, values: Mapping[str, str | None]) -> None:
        """Set keys; None removes one."""
        with self._write() as db:
            _put_meta(db, values)

    def add_clock_anchor(self, anchor: ClockAnchor) -> None:
        """Keep the first good time seen in a boot; later ones add nothing."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO clock_anchors (boot_id, monotonic_ns, wall, source) VALUES (?, ?, ?, ?)",
                [anchor.boot_id, anchor.monotonic_ns, iso(anchor.wall), anchor.source],
            )

    def clock_anchor(self, boot_id: str) -> ClockAnchor | None:
        """A known-good time in ``boot_id``: the first one recorded, else its first visit taken
        with a synchronised clock. None when that boot never saw a good time."""
        with self._lock:
            row = (
                self.db.execute("SELECT monotonic_ns, wall, source FROM clock_anchors WHERE boot_id = ?", [boot_id]).fetchone()
                or self.db.execute(
                    "SELECT monotonic_ns, scanned_at, 'visit' FROM visits WHERE boot_id = ? AND clock_synchronised = 1 "
                    "ORDER BY seq LIMIT 1",
                    [boot_id],
                ).fetchone()
            )
        return ClockAnchor(boot_id, row[0], datetime.fromisoformat(row[1]), row[2]) if row else None

    def purge(self, delivered_before: datetime, rejected_before: datetime, at: datetime) -> Purged:
        """Delete delivered visits scanned (or corrected to) before ``delivered_before`` and
        rejected visits whose rejection was learned before ``rejected_before``; pending ones
        always stay. Returns how many of each went; the running totals and the time ``at``
        are kept in ``meta`` in the same transactions, so an admin can still say how many
        rejected visits were dropped.

        In batches of ``PURGE_BATCH`` (the scan path waits for one batch, not a backlog), with
        ``secure_delete`` on (the connection's, see ``_open_for_writing``: freed cells and
        pages are zeroed), then a ``TRUNCATE`` checkpoint so the WAL keeps no old page
        either. A checkpoint another connection's reader blocks is left to SQLite's next one.
        """
        removed = {state: 0 for state in PURGE_RULES}
        cutoffs = {"synced": iso(delivered_before), "rejected": iso(rejected_before)}
        for state, where in PURGE_RULES.items():
            while True:
                with self._write() as db:
                    n = db.execute(
                        f"DELETE FROM visits WHERE seq IN (SELECT seq FROM visits WHERE sync_state = ? AND {where} < ? LIMIT ?)",
                        [state, cutoffs[state], PURGE_BATCH],
                    ).rowcount
                    removed[state] += n
                    if n:
                        totals = _purge_totals(db)
                        _put_meta(db, {PURGED_TOTAL + state: str(totals[state] + n)})
                if n < PURGE_BATCH:
                    break
        with self._write() as db:
            _put_meta(db, {PURGED_LAST_AT: iso(at), **{PURGED_LAST + s: str(n) for s, n in removed.items()}})
        with self._lock, suppress(sqlite3.Error):  # not done now: done by a later checkpoint, the rows are gone
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return Purged(removed["synced"], removed["rejected"])

    def purge_record(self) -> PurgeRecord:
        """What retention has deleted here: the last pass (when, how many of each) and the totals."""
        with self._lock:
            meta = dict(self.db.execute("SELECT key, value FROM meta WHERE key LIKE 'retention.%'").fetchall())
            totals = _purge_totals(self.db)
        last_at = meta.get(PURGED_LAST_AT)
        return PurgeRecord(
            last_at=datetime.fromisoformat(last_at) if last_at else None,
            last=Purged(int(meta.get(PURGED_LAST + "synced", 0)), int(meta.get(PURGED_LAST + "rejected", 0))),
            total=Purged(totals["synced"], totals["rejected"]),
        )


def _purge_totals(db: sqlite_utils.Database) -> dict[PurgedState, int]:
    rows = dict(db.execute("SELECT key, value FROM meta WHERE key LIKE ? || '%'", [PURGED_TOTAL]).fetchall())
    return {state: int(rows.get(PURGED_TOTAL + state, 0)) for state in PURGE_RULES}


def _seal_backlog(db: sqlite_utils.Database, key: DistrictKey) -> int:
    """Seal every visit still in clear (in the caller's transaction); how many."""
    rows = db.conn.execute("SELECT seq, id, clear FROM visits WHERE clear IS NOT NULL").fetchall()
    db.conn.executemany(
        "UPDATE visits SET sealed = ?, key_id = ?, clear = NULL WHERE seq = ?",
        [(seal(key, visit_id, json.loads(clear)), key.fingerprint, seq) for seq, visit_id, clear in rows],
    )
    return len(rows)


def _seen_through(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [REJECTIONS_SEEN]).fetchone()
    return int(row[0]) if row else 0


def _newest_rejection(db: sqlite_utils.Database) -> int:
    """The highest rejection number given or acknowledged: the next one is above both, so a
    visit rejected again after a retry is new even when every earlier one has been requeued."""
    row = db.execute("SELECT max(rejection_no) FROM visits WHERE rejection_no IS NOT NULL").fetchone()
    return max(row[0] or 0, _seen_through(db))


def _put_meta(db: sqlite_utils.Database, values: Mapping[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            db.execute("DELETE FROM meta WHERE key = ?", [key])
        else:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]
            )


def integrity_problems(path: Path, *, as_on_disk: bool = False) -> list[str]:
    """What SQLite's ``quick_check`` finds wrong with the file (pages, records, free list); [] when sound.

    On a read-only connection: closing the last read-write connection checkpoints the WAL
    into the file and deletes it, which would destroy what a damaged file still had, and a
    check beside a running kiosk must change nothing. With ``as_on_disk``, a database whose
    -shm cannot be made here (a full or read-only disk) is read as it is on disk
    (``immutable``). Only SQLite's own verdict (corrupt, not a database) is a problem; any
    other failure (permissions, a busy file) raises its sqlite3.Error.
    """
    last: sqlite3.Error | None = None
    for query in ("mode=ro", "mode=ro&immutable=1")[: 2 if as_on_disk else 1]:
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True, isolation_level=None)) as conn:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                answer = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
            return [] if answer == ["ok"] else answer
        except sqlite3.Error as exc:
            if is_corruption(exc):
                return [str(exc)]
            last = exc
    assert last is not None
    raise last


def _quick_check(path: Path) -> None:
    """Raise storage_corrupt when the file is damaged; other failures (a full disk, a busy
    file) are left to the real open to report."""
    try:
        problems = integrity_problems(path)
    except sqlite3.Error:
        return
    if problems:
        raise StorageError("storage_corrupt", "; ".join(problems[:3]))


def quarantined_databases(data_dir: Path) -> list[Path]:
    """Every damaged database kept aside in ``data_dir``, oldest first (their -wal/-shm not listed)."""
    kept = Path(data_dir).glob(f"{DB_NAME}{CORRUPT_MARK}*")
    return sorted(p for p in kept if not p.name.endswith(SIDE_FILES))


def _newer_version(path: Path, version: int) -> StorageError:
    return StorageError("storage_error", f"{path} was written by a newer version (schema {version} > {SCHEMA_VERSION})")


@contextmanager
def _immediate(db: sqlite_utils.Database) -> Iterator[None]:
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """A stored visit for the screens and the CLI: ``fields`` are the masked ones; whether the
    rest is sealed (True) or still waiting for a district key (False); never the clear text."""
    row = dict(row)
    row["fields"] = json.loads(row["fields"])
    row["sealed"] = row.pop("clear", None) is None
    row["clock_synchronised"] = bool(row["clock_synchronised"])
    return row
