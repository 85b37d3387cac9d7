"""Backups of the visit database to a folder (a USB stick), and restoring one.

A backup is taken with SQLite's online backup API in one step, so it is one consistent
snapshot even while the kiosk keeps recording (WAL lets writers go on meanwhile). It is
written under a hidden temporary name, checked (``quick_check``), fsync'd and renamed
into place: a stick pulled too early holds the old files and maybe a ``.part``, never a
half backup under a real name.

The enrolment (device token) is NOT in a backup. It is a credential: a stick left in a
drawer would let anyone send visits as this kiosk, and a backup restored on a second Pi
would make two kiosks share one identity. The token is revocable and a new one is one
enrolment code away; the visits themselves are what cannot be made again.

Restoring accepts only a file of exactly the schema the kiosk itself makes (no trigger,
view, index or table of anyone else's) whose every row has the shape the kiosk writes
(kiosk/restore_check.py), then copies the backup into the live database with the same API, in one
transaction, after the current contents are copied aside to
``visits.sqlite3.before-restore-<UTC time>`` (never deleted). It holds the run lock and an
exclusive SQLite lock throughout, so no kiosk or sync writes in between.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.catalog import bilingual
from kiosk.enrolment import durable_replace
from kiosk.messages import render_both
from kiosk.private import open_private
from kiosk.quarantine import kept_path, utc_stamp
from kiosk.restore_check import row_problems, schema_differences, shown
from kiosk.runlock import run_lock
from kiosk.store import BUSY_TIMEOUT_MS, DB_NAME, SCHEMA_VERSION, VisitStore, storage_error

BACKUP_SUFFIX = ".sqlite3"
ASIDE_MARK = ".before-restore-"
REQUIRED_TABLES = {"meta", "visits"}


class BackupError(Exception):
    """A backup or restore that was refused or failed; ``code`` is a kiosk.messages code."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return render_both(self.code, **self.params)


@dataclass(frozen=True)
class Counts:
    visits: int
    pending: int


@dataclass(frozen=True)
class BackupResult:
    path: Path
    counts: Counts
    size: int


@dataclass(frozen=True)
class RestoreResult:
    restored: Path
    aside: Path  # the database as it was before, kept
    counts: Counts  # what the kiosk holds now
    pending_dropped: int  # pending visits only in the database set aside (non-zero only with force)


def backup_name(checkpoint_code: str, device_id: str, now: datetime) -> str:
    """``kiosk-<checkpoint>-<device id, first 8>-<UTC time>.sqlite3``: copies an admin can tell apart."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", checkpoint_code).strip("-") or "kiosk"
    return f"kiosk-{safe}-{device_id[:8]}-{utc_stamp(now)}{BACKUP_SUFFIX}"


def counts(conn: sqlite3.Connection) -> Counts:
    visits, pending = conn.execute("SELECT count(*), coalesce(sum(sync_state = 'pending'), 0) FROM visits").fetchone()
    return Counts(visits, pending)


def backup(store: VisitStore, directory: Path, checkpoint_code: str, now: datetime) -> BackupResult:
    """A checked copy of the store in ``directory``, or BackupError (and no file left behind)."""
    if not directory.is_dir():
        raise BackupError("backup_no_folder", directory=directory)
    path = directory / backup_name(checkpoint_code, store.device_id, now)
    partial = path.with_name(f".{path.name}.part")
    try:
        os.close(open_private(partial))  # owner only whatever the umask (and a stale .part's mode)
        with closing(sqlite3.connect(partial, isolation_level=None)) as copy:
            store.copy_to(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            if copy.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
                raise BackupError("backup_failed", directory=directory, detail=bilingual("the copy failed its check"))
            result = counts(copy)
        _fsync(partial)
        durable_replace(partial, path)
    except BaseException as exc:
        _remove(partial, *(partial.with_name(partial.name + s) for s in ("-journal", "-wal", "-shm")))
        if isinstance(exc, (OSError, sqlite3.Error)):
            raise _target_error(exc, directory, store.path) from None
        raise
    return BackupResult(path, result, path.stat().st_size)


def _remove(*paths: Path) -> None:
    """Best effort: on a read-only stick even removing a file that is not there fails."""
    for path in paths:
        with suppress(OSError):
            path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _target_error(exc: OSError | sqlite3.Error, directory: Path, source: Path) -> BackupError:
    """What an admin can do about the folder: plug it in, unlock it, make room."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return BackupError("backup_no_folder", directory=directory)
    code = storage_error(exc, directory).code
    if code == "storage_full":
        return BackupError("backup_full", directory=directory, size=_needed(source.stat().st_size))
    if code == "storage_readonly" or (isinstance(exc, OSError) and exc.errno == errno.EPERM):
        return BackupError("backup_readonly", directory=directory)
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return BackupError("backup_failed", directory=directory, detail=detail)


def _needed(size: int) -> str:
    """Room to ask for, in MiB and never below 0.1: an admin frees whole files, not bytes."""
    return f"{max(size / 2**20, 0.1):.1f} MiB"


# --- restore ---------------------------------------------------------------------------


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """``path`` opened without writing to it (a stick may be read-only, the file someone else's)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def inspect(path: Path) -> Counts:
    """Check that ``path`` is a sound kiosk database this software can read, of exactly the
    schema the kiosk makes and with rows of its shape (kiosk/restore_check.py), or raise BackupError."""
    try:
        with _read_only(path) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if (
                not tables >= REQUIRED_TABLES
                or version < 1
                or not conn.execute("SELECT 1 FROM meta WHERE key = 'device_id'").fetchone()
            ):
                raise BackupError("restore_not_kiosk", file=path)
            if version > SCHEMA_VERSION:
                raise BackupError("restore_newer", file=path, version=version, supported=SCHEMA_VERSION)
            if conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
                raise BackupError("restore_damaged", file=path)
            if problems := schema_differences(conn, version):
                raise BackupError("restore_schema", file=path, problems=shown(problems))
            if problems := row_problems(conn):
                raise BackupError("restore_bad_rows", file=path, problems=shown(problems))
            return counts(conn)
    except sqlite3.Error as exc:
        corrupt = getattr(exc, "sqlite_errorname", "").startswith("SQLITE_CORRUPT")
        raise BackupError("restore_damaged" if corrupt else "restore_not_kiosk", file=path) from None


def restore(data_dir: Path, backup_file: Path, now: datetime, *, force: bool = False) -> RestoreResult:
    """Replace the kiosk's visits with ``backup_file``'s; the current ones are kept aside.

    Refused (BackupError, nothing changed) when the file is not a sound kiosk database
    of a schema this software knows, while a kiosk runs on ``data_dir`` (KioskRunning),
    while another program has the database open, and, unless ``force``, when pending
    visits of this kiosk are missing from the backup.
    """
    inspect(backup_file)
    live = Path(data_dir) / DB_NAME
    try:
        return _restore(live, backup_file, now, force)
    except (sqlite3.Error, OSError) as exc:
        raise storage_error(exc, live.parent) from exc


def _restore(live: Path, backup_file: Path, now: datetime, force: bool) -> RestoreResult:
    with run_lock(live.parent):
        VisitStore(live).close()  # brings the live file to this schema (or moves a damaged one aside)
        with _exclusive(live) as conn:
            conn.execute("ATTACH DATABASE ? AS backup", [f"{backup_file.resolve().as_uri()}?mode=ro"])
            missing = conn.execute(
                "SELECT count(*) FROM main.visits WHERE sync_state = 'pending' AND id NOT IN (SELECT id FROM backup.visits)"
            ).fetchone()[0]
            conn.execute("DETACH DATABASE backup")
            if missing and not force:
                raise BackupError("restore_pending", count=missing)
            aside = _copy_aside(conn, live, now)
            with _read_only(backup_file) as source:
                source.backup(conn)  # one write transaction: the old contents or the new, never a mix
        with VisitStore(live) as store:  # an older backup's schema is migrated here
            now_counts = counts(store.db.conn)
    return RestoreResult(backup_file, aside, now_counts, missing)


@contextmanager
def _exclusive(live: Path) -> Iterator[sqlite3.Connection]:
    """A connection that alone may read or write ``live`` until it closes, or restore_in_use."""
    conn = sqlite3.connect(live.as_uri(), uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("COMMIT")  # in WAL mode the exclusive lock is kept from here on
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise BackupError("restore_in_use") from None
            raise
        yield conn
    finally:
        conn.close()


def _copy_aside(conn: sqlite3.Connection, live: Path, now: datetime) -> Path:
    aside = kept_path(live, ASIDE_MARK, now)
    os.close(open_private(aside, exclusive=True))
    try:
        with closing(sqlite3.connect(aside, isolation_level=None)) as copy:
            conn.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
        _fsync(aside)
    except BaseException:
        aside.unlink(missing_ok=True)
        raise
    return aside
