"""Opening the district database by URL: SQLite for a small district, PostgreSQL for real ones.

SQLite gets WAL and ``synchronous=FULL`` (a visit acknowledged to a kiosk may be deleted
there, so it must survive a power cut here) and a long busy timeout, so concurrent
uploads queue for the write lock instead of failing.

Engines hide statement parameters from errors and logs (``hide_parameters``): the
parameters of an ingest are ID numbers, names and dates of birth, and a lock timeout
must not copy them into the journal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from kiosk.catalog import bilingual
from kiosk.private import PRIVATE_DIR, make_private

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(Exception):
    """The database cannot be opened or is not at the expected schema; says what to do."""


def error_kind(exc: BaseException) -> str:
    """Safe to log: the driver's error class and SQLSTATE, never the message (PostgreSQL
    quotes the failing row in it) nor the parameters (engines hide them too)."""
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None)
    return f"{type(orig).__name__}" + (f" SQLSTATE {state}" if state else "")


def display_url(url: str) -> str:
    """The database as people are told about it: the URL as configured, password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: say so without echoing what may be a secret
        return f"({bilingual('invalid URL')})"


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by _sqlite_begin, not by pysqlite's guesswork
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA secure_delete = ON")  # what a purge clears is zeroed, not left in free space
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock at BEGIN: a reader that upgrades later can fail at once in WAL mode."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writing") else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it waits for the write lock up front (busy timeout)."""
    with engine.connect() as conn:
        conn.execution_options(writing=True)
        with conn.begin():
            yield conn


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``. A new SQLite file is made here, mode 0600 whatever the umask (its
    -wal and -shm files take the same mode from SQLite), in a directory made 0700: it holds
    personal data. An existing file keeps the mode an admin gave it (docs/server.md)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            if not path.exists():
                make_private(path)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)
