"""Migrations build, from an empty database, exactly the schema the code uses, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from server.cli import main
from server.db import create_db_engine
from server.migrate import current_revision, head_revision, upgrade
from server.schema import metadata


def test_upgrade_from_empty_matches_the_tables_in_code(db_url: str) -> None:
    engine = create_db_engine(db_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == (None, head_revision())
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert upgrade(engine) == (head_revision(), head_revision())  # again: nothing to do
    engine.dispose()


def test_cli_migrate_then_commands_work_and_refuse_an_empty_database(db_url: str) -> None:
    runner = CliRunner()
    refused = runner.invoke(main, ["checkpoint", "list", "--db", db_url])
    assert refused.exit_code == 3
    assert "checkpoint-server migrate" in refused.stderr
    done = runner.invoke(main, ["migrate", "--db", db_url])
    assert done.exit_code == 0, done.output
    assert f"empty → {head_revision()}" in done.stdout
    assert runner.invoke(main, ["migrate", "--db", db_url]).stdout.strip().endswith("(up to date)")
    assert runner.invoke(main, ["checkpoint", "list", "--db", db_url]).exit_code == 0


def test_unreachable_database_is_one_sentence_not_a_traceback() -> None:
    result = CliRunner().invoke(main, ["migrate", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 3
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.output


def test_sqlite_is_durable_and_waits_for_writers(tmp_path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/s.sqlite3")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
