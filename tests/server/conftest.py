"""Server fixtures: every server test runs on SQLite and on a real PostgreSQL.

PostgreSQL: one fresh database per test session (dropped at the end), one fresh schema
per test inside it, so tests start from an empty, migrated database without paying for
CREATE DATABASE each time. Without a reachable PostgreSQL the PostgreSQL half is skipped
with a hint, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import enrolment, officials, places
from server.app import create_app
from server.config import LimitsSection, Settings
from server.db import create_db_engine
from server.migrate import upgrade
from tests.pgscratch import admin_url, scratch_database

START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
PLACE = places.Place("Tỉnh Bình Phước", "Huyện Bù Đăng", "Xã Đăk Nhau")
CCCD_FIELDS = {
    "id_number": "070185004321",
    "old_id_number": "285123456",
    "name": "Nguyễn Thị Ánh Tuyết",
    "date_of_birth": "1985-07-14",
    "sex": "Nữ",
    "address": "Thôn 3, Xã Đăk Nhau",
    "issue_date": "2021-05-10",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """SQLAlchemy URL of a database made for this test session."""
    try:
        with scratch_database("cps_test") as url:
            yield url
    except psycopg.OperationalError as exc:
        if in_ci():
            pytest.fail(f"PostgreSQL at {admin_url()} is unreachable and CI is set: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL at {admin_url()} is unreachable; {START_HINT} (or set CHECKPOINT_TEST_PG)")


def fresh_pg_schema(database_url: str) -> str:
    """A new empty schema in the session database; the URL makes it the search path."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{database_url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """An empty database of each kind, not yet migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/server.sqlite3"
    return fresh_pg_schema(request.getfixturevalue("pg_database"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return (
        Settings()
        .model_copy(
            update={
                "limits": LimitsSection(device_batches_per_s=1000, device_burst=1000),
            }
        )
        .with_overrides(db=db_url, public_url="https://trungtam.budang.example")
    )


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as client:
        yield client


def add_checkpoint(
    engine: Engine, code: str = "BD-001", place: places.Place = PLACE, created_on: date = date(2026, 11, 1)
) -> dict[str, Any]:
    return places.add_checkpoint(engine, code, f"Chốt {code}", place, created_on)


def enrol(engine: Engine, checkpoint: str = "BD-001") -> tuple[str, str]:
    """A device enrolled at ``checkpoint``: (device_id, token)."""
    made = enrolment.create_enroll_code(engine, checkpoint, timedelta(hours=1), "https://x.example", "test")
    answer = enrolment.redeem(engine, made.code)
    return answer.device_id, answer.token


def official_token(engine: Engine, name: str = "Trần Văn Bình") -> str:
    return officials.add_official(engine, name, "test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def visit(checkpoint: str = "BD-001", *, at: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid visit as a kiosk sends it (a CCCD scan), with a fresh UUID."""
    data = {
        "id": str(uuid.uuid4()),
        "checkpoint": checkpoint,
        "direction": "in",
        "source": "serial",
        "kind": "cccd",
        "scanned_at": (at or datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat(),
        "fields": dict(CCCD_FIELDS),
        "clock_synchronised": True,
        "monotonic_ns": 123456789,
        "boot_id": "boot-1",
    }
    data.update(overrides)
    return data


@pytest.fixture
def device(engine: Engine) -> tuple[str, str]:
    add_checkpoint(engine)
    return enrol(engine)
