"""Schema upgrades with Alembic, driven from code so no alembic.ini has to be found.

``serve`` upgrades on start and every other command refuses a database that is behind,
so a district that installs a new version only has to restart the server.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

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
    return before, current_revision(engine) or ""


def require_current(engine: Engine) -> None:
    """Refuse to work on a database an older or newer version of the server left."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise DatabaseError(
            f"Cơ sở dữ liệu ở phiên bản {current or 'trống'}, cần {head}: chạy `checkpoint-server migrate`. "
            f"(Database schema is at {current or 'empty'}, expected {head}: run `checkpoint-server migrate`.)"
        )
