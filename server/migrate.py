"""Schema upgrades with Alembic, driven from code so no alembic.ini has to be found.

``serve`` upgrades on start and every other command refuses a database that is behind,
so a district that installs a new version only has to restart the server. Every upgrade,
even one with nothing to do, also makes the coming months' partitions of ``visits`` on
PostgreSQL (server/partitions.py), so ``migrate`` and ``serve`` start both prepare them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from kiosk.catalog import bilingual
from server import partitions
from server.db import DatabaseError, writing

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``target``; returns (revision before, revision after)."""
    before = current_revision(engine)
    config = alembic_config()
    with writing(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, target)
        if target == "head":
            partitions.ensure_ahead(conn, datetime.now(timezone.utc))
    return before, current_revision(engine) or ""


def known_revision(revision: str) -> bool:
    """Whether this version of the server knows ``revision`` (else a newer one wrote it)."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic raises its own lookup errors for an unknown id
        return False


def schema_problem(engine: Engine, name: str, migrate_command: str = "checkpoint-server migrate") -> str | None:
    """None when the schema is the one this code uses; else what is wrong with database
    ``name`` (its URL, password hidden) and what to do, Vietnamese then English."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return None
    if current is None:
        return bilingual("Database {name} is empty: run `{command}`.", name=name, command=migrate_command)
    if not known_revision(current):
        return bilingual(
            "Database {name} is at schema {current}, newer than this server's {head}: update checkpoint-server.",
            name=name,
            current=current,
            head=head,
        )
    return bilingual(
        "Database {name} is at schema {current}, expected {head}: run `{command}`.",
        name=name,
        current=current,
        head=head,
        command=migrate_command,
    )


def require_current(engine: Engine, name: str, migrate_command: str = "checkpoint-server migrate") -> None:
    """Refuse to work on a database an older or newer version of the server left."""
    problem = schema_problem(engine, name, migrate_command)
    if problem:
        raise DatabaseError(problem)
