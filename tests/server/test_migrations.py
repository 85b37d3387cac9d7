"""Migrations build, from an empty database, exactly the schema the code uses, on both databases."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from server import enrolment
from server.cli import main
from server.db import create_db_engine
from server.migrate import current_revision, head_revision, upgrade
from server.partitions import is_partition_name
from server.schema import enroll_codes, metadata


def test_upgrade_from_empty_matches_the_tables_in_code(db_url: str) -> None:
    engine = create_db_engine(db_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == (None, head_revision())
    with engine.connect() as conn:
        # visits' monthly partitions are tables the server makes, not tables of the schema in code
        not_partition = {"include_name": lambda name, kind, _parent: kind != "table" or not is_partition_name(name)}
        context = MigrationContext.configure(conn, opts={"compare_type": True, **not_partition})
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


def test_0002_adds_the_nonce_column_and_keeps_the_codes_already_issued(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:  # a district's data at 0001: a checkpoint and a code not yet redeemed
        place = conn.execute(sa.text("INSERT INTO provinces (name) VALUES ('Tỉnh Bình Phước') RETURNING id")).scalar()
        place = conn.execute(
            sa.text("INSERT INTO districts (province_id, name) VALUES (:p, 'Huyện Bù Đăng') RETURNING id"), {"p": place}
        ).scalar()
        place = conn.execute(
            sa.text("INSERT INTO communes (district_id, name) VALUES (:d, 'Xã Đăk Nhau') RETURNING id"), {"d": place}
        ).scalar()
        conn.execute(
            sa.text("INSERT INTO checkpoints (code, name, commune_id, created_on) VALUES ('BD-001', 'Chốt', :c, '2026-11-01')"),
            {"c": place},
        )
    code = enrolment.create_enroll_code(engine, "BD-001", timedelta(hours=1), "https://x.example", "test").code
    assert upgrade(engine) == ("0001", head_revision())
    with engine.connect() as conn:
        assert conn.execute(sa.select(enroll_codes.c.nonce_hash)).scalar_one() is None
    assert enrolment.redeem(engine, code, "n" * 16).device_id == enrolment.redeem(engine, code, "n" * 16).device_id
    engine.dispose()
