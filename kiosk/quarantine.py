"""A damaged visit database is moved aside, never deleted, and a fresh one takes its place.

A power cut on a worn SD card can leave ``visits.sqlite3`` unreadable ("file is not a
database", "database disk image is malformed"). Recording into it would fail or, worse,
half-work; refusing to start would stop the checkpoint. So the store renames the file
(with its ``-wal`` and ``-shm``) to ``visits.sqlite3.corrupt-<UTC time>`` in the same
directory, starts an empty database and says so loudly; the kept file is what an admin
or a recovery tool works from, and ``doctor`` lists it (``kiosk.store.quarantined_databases``).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from kiosk.messages import render_both

CORRUPT_MARK = ".corrupt-"
SIDE_FILES = ("-wal", "-shm", "-journal")
CORRUPTION = ("SQLITE_NOTADB", "SQLITE_CORRUPT")


def is_corruption(exc: BaseException) -> bool:
    """SQLite's own verdict that the file is not (or no longer) a usable database."""
    return getattr(exc, "sqlite_errorname", "").startswith(CORRUPTION)


def quarantine(db_path: Path, now: datetime | None = None) -> Path:
    """Rename the database and its side files to ``<name>.corrupt-<UTC time>``; the new path.

    The side files keep the suffixes SQLite looks for, so the kept copy still opens with
    the WAL it had (what a recovery tool needs).
    """
    return move_database(db_path, kept_path(db_path, CORRUPT_MARK, now or datetime.now(timezone.utc)))


def utc_stamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def kept_path(db_path: Path, mark: str, now: datetime) -> Path:
    """``<name><mark><UTC time>`` beside the database, for a copy kept aside; never one that exists
    (two in one second get ``-2``, ``-3``…)."""
    target = db_path.with_name(f"{db_path.name}{mark}{utc_stamp(now)}")
    number = 1
    while target.exists():
        number += 1
        target = db_path.with_name(f"{db_path.name}{mark}{utc_stamp(now)}-{number}")
    return target


def move_database(db_path: Path, target: Path) -> Path:
    """Rename a database with its side files, which keep the suffixes SQLite looks for."""
    for suffix in SIDE_FILES:
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    db_path.rename(target)
    return target


def salvage_device_id(path: Path) -> str | None:
    """The device id from a damaged database, if that much of it can still be read."""
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row and isinstance(row[0], str) and row[0] else None


def quarantine_warning(path: Path) -> str:
    """The loud sentence for logs and stderr, Vietnamese then English."""
    return render_both("database_quarantined", path=path)
