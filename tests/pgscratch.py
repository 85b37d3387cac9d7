"""Throw-away PostgreSQL databases for tests and benchmarks: uniquely named, always dropped."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """Where to create scratch databases; $CHECKPOINT_TEST_PG overrides the local default."""
    return os.environ.get("CHECKPOINT_TEST_PG", DEFAULT_ADMIN_URL)


@contextmanager
def scratch_database(prefix: str, admin: str | None = None) -> Iterator[str]:
    """A new empty database for the block; yields its SQLAlchemy URL. Raises psycopg.OperationalError
    when PostgreSQL cannot be reached."""
    admin = admin or admin_url()
    conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin)
    try:
        yield (
            f"postgresql+psycopg://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/{name}"
        )
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
