"""Visits keyed by (district, visit id), partitioned by month on PostgreSQL (issue 17).

Through the real paths on SQLite and PostgreSQL: the HTTP batch API for the conflict rule,
``ingest`` for times, the retention turn the server's timer runs, ``check-counts`` and
Alembic for an upgrade of a database holding visits. The partition tests need PostgreSQL
(``pg_engine``: like every server test, a failure and not a skip in CI).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine

from server import daily_counts, enrolment, partitions, places, retention
from server.cli import main
from server.config import RetentionSection
from server.db import create_db_engine, writing
from server.ingest import IngestRules, count_visits, ingest
from server.migrate import upgrade
from server.partitions import Month
from server.schema import daily_visits, visit_keys, visits
from tests.server.conftest import PLACE, add_checkpoint, bearer, enrol, fresh_pg_schema, visit

BATCH = "/api/v1/visits/batch"
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)  # 10:00 on 1 December in Vietnam
RULES = IngestRules(max_future=timedelta(days=1), retention=timedelta(days=30))
OTHER_DISTRICT = places.Place(PLACE.province, "Huyện Bù Gia Mập", "Xã Phú Nghĩa")


def send(client: TestClient, device: tuple[str, str], sent: list[dict[str, object]]) -> list[tuple[str, str | None]]:
    device_id, token = device
    answer = client.post(BATCH, json={"device_id": device_id, "visits": sent}, headers=bearer(token))
    assert answer.status_code == 200
    return [(r["status"], r.get("code")) for r in answer.json()["results"]]


def auth(engine: Engine, code: str = "BD-001") -> enrolment.DeviceAuth:
    return enrolment.DeviceAuth(enrol(engine, code)[0], places.checkpoint(engine, code)["id"], code)


def partition_of(conn: Connection, visit_id: str) -> str:
    return str(
        conn.exec_driver_sql(
            "SELECT tableoid::regclass::text FROM visits WHERE id = %(id)s", {"id": uuid.UUID(visit_id)}
        ).scalar_one()
    )


@pytest.fixture
def pg_engine(pg_database: str) -> Iterator[Engine]:
    engine = create_db_engine(fresh_pg_schema(pg_database))
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_visit_id_is_a_conflict_within_a_district_and_two_visits_across_districts(client: TestClient, engine: Engine) -> None:
    add_checkpoint(engine, "BD-001")
    add_checkpoint(engine, "BD-002")  # same commune, same district
    add_checkpoint(engine, "BGM-001", OTHER_DISTRICT)
    first, same_district, other_district = enrol(engine, "BD-001"), enrol(engine, "BD-002"), enrol(engine, "BGM-001")
    shared = visit("BD-001")
    assert send(client, first, [shared]) == [("created", None)]
    assert send(client, first, [shared]) == [("duplicate", None)]
    assert send(client, same_district, [{**shared, "checkpoint": "BD-002"}]) == [("rejected", "conflict")]
    assert send(client, other_district, [{**shared, "checkpoint": "BGM-001"}]) == [("created", None)]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(visits.c.district_id, visits.c.device_id).where(visits.c.id == uuid.UUID(shared["id"])))
        keys = conn.execute(sa.select(visit_keys.c.district_id, visit_keys.c.device_id))
        assert (
            sorted(stored.all())
            == sorted(keys.all())
            == sorted([(district(engine, PLACE), first[0]), (district(engine, OTHER_DISTRICT), other_district[0])])
        )
    assert count_visits(engine) == 2 and daily_counts.recount(engine) == []


def district(engine: Engine, place: places.Place) -> int:
    with engine.connect() as conn:
        return places.district_id(conn, place.district)


def test_migrate_makes_this_month_and_the_next_two_and_a_turn_makes_the_coming_ones(pg_engine: Engine) -> None:
    this_month = Month.of(datetime.now(timezone.utc))
    with pg_engine.connect() as conn:
        assert partitions.existing(conn) == [this_month, this_month.plus(1), this_month.plus(2)]
        assert partitions.has_default(conn)
    later = this_month.plus(1).start + timedelta(days=3)
    retention.retention_turn(pg_engine, RetentionSection(), later)
    retention.retention_turn(pg_engine, RetentionSection(), later)  # again: nothing more to make
    with pg_engine.connect() as conn:
        assert partitions.existing(conn) == [this_month.plus(n) for n in range(4)]


def test_a_visit_in_no_month_lands_in_the_default_partition_and_moves_when_its_month_is_made(pg_engine: Engine) -> None:
    add_checkpoint(pg_engine)
    device = auth(pg_engine)
    wild = visit(at=datetime(2021, 3, 5, 2, 0, tzinfo=timezone.utc))  # a kiosk clock years off, still a possible time
    now = visit(at=NOW - timedelta(hours=1))
    assert [r.status for r in ingest(pg_engine, device, [wild, now], RULES, NOW)] == ["created", "created"]
    with pg_engine.connect() as conn:
        assert partition_of(conn, wild["id"]) == partitions.DEFAULT
        assert partition_of(conn, now["id"]) == Month.of(NOW).table
    with writing(pg_engine) as conn:
        assert partitions.ensure(conn, [Month(2021, 3)]) == [Month(2021, 3)]
    with pg_engine.connect() as conn:
        assert partition_of(conn, wild["id"]) == "visits_p2021_03"
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {partitions.DEFAULT}").scalar_one() == 0
    assert [r.status for r in ingest(pg_engine, device, [wild], RULES, NOW)] == ["duplicate"]
    assert count_visits(pg_engine) == 2 and daily_counts.recount(pg_engine) == []


def test_retention_drops_whole_old_months_and_keeps_the_counts(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine)
    add_checkpoint(engine)
    device = auth(engine)
    old_month, kept_month = Month(2025, 9), Month.of(NOW).plus(-3)
    with writing(engine) as conn:
        partitions.ensure(conn, [old_month, kept_month])
    old = [visit(at=old_month.start + timedelta(days=d, hours=1)) for d in (0, 10, 29)]
    wild = visit(at=datetime(2021, 3, 5, tzinfo=timezone.utc))  # in the default partition on PostgreSQL
    kept = [visit(at=kept_month.start + timedelta(days=2)), visit(at=NOW - timedelta(hours=1))]
    ingest(engine, device, [*old, wild, *kept], IngestRules(max_future=timedelta(days=1), retention=timedelta(days=3650)), NOW)
    with engine.connect() as conn:
        counts_before = conn.execute(sa.select(sa.func.sum(daily_visits.c.visits))).scalar_one()
    rules = RetentionSection(rows_days=365)  # keeps from December 2025 on: September goes, as does 2021
    cleared, dropped = retention.retention_turn(engine, rules, NOW)
    assert dropped.rows == 4
    assert dropped.months == ([old_month] if engine.dialect.name == "postgresql" else [])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(daily_visits.c.visits))).scalar_one() == counts_before == 6
        assert sorted(conn.execute(sa.select(visits.c.id)).scalars()) == sorted(uuid.UUID(v["id"]) for v in kept)
        assert sorted(conn.execute(sa.select(visit_keys.c.id)).scalars()) == sorted(uuid.UUID(v["id"]) for v in kept)
        if engine.dialect.name == "postgresql":
            assert old_month not in partitions.existing(conn) and kept_month in partitions.existing(conn)
            assert conn.exec_driver_sql("SELECT to_regclass('visits_p2025_09')").scalar() is None
    assert retention.kept_since(engine) == Month(2025, 12).start.date()
    checked = CliRunner().invoke(main, ["check-counts", "--db", db_url])
    assert checked.exit_code == 0, checked.output
    assert retention.retention_turn(engine, rules, NOW)[1].rows == 0  # again: nothing left to drop
    assert cleared == 5  # the purge ran first, as before: every visit older than 30 days lost its personal data
    engine.dispose()


def test_0008_upgrades_a_database_holding_visits(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0007")
    add_checkpoint(engine)
    add_checkpoint(engine, "BGM-001", OTHER_DISTRICT)
    devices = {code: enrol(engine, code)[0] for code in ("BD-001", "BGM-001")}
    sqlite = engine.dialect.name == "sqlite"
    stored = [("BD-001", datetime(2026, 10, 31, 17, 30, tzinfo=timezone.utc)), ("BD-001", NOW), ("BGM-001", NOW)]
    ids = []
    with engine.begin() as conn:  # visits as the server at 0007 stored them
        for code, moment in stored:
            ids.append(uuid.uuid4())
            conn.execute(
                sa.text(
                    "INSERT INTO visits (id, checkpoint_id, device_id, direction, source, kind, scanned_at, occurred_at, "
                    "clock_synchronised, received_at, id_number) "
                    "VALUES (:id, :cp, :dev, 'in', 'serial', 'cccd', :at, :at, true, :at, '070185004321')"
                ),
                {
                    "id": ids[-1].hex if sqlite else ids[-1],
                    "cp": places.checkpoint(engine, code)["id"],
                    "dev": devices[code],
                    "at": moment.replace(tzinfo=None) if sqlite else moment,
                },
            )
    migrated = CliRunner().invoke(main, ["migrate", "--db", db_url])
    assert migrated.exit_code == 0, migrated.output
    assert "schema 0007 → " in migrated.stdout  # then every later migration to the head
    district_of = {"BD-001": district(engine, PLACE), "BGM-001": district(engine, OTHER_DISTRICT)}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(visits.c.id, visits.c.district_id, visits.c.id_number).order_by(visits.c.occurred_at))
        assert {(r.id, r.district_id, r.id_number) for r in rows} == {
            (ids[0], district_of["BD-001"], "070185004321"),
            (ids[1], district_of["BD-001"], "070185004321"),
            (ids[2], district_of["BGM-001"], "070185004321"),
        }
        assert conn.execute(sa.select(sa.func.count()).select_from(visit_keys)).scalar_one() == 3
        if not sqlite:  # 17:30Z on 31 October is 00:30 on 1 November in Vietnam: November's partition
            assert partition_of(conn, str(ids[0])) == "visits_p2026_11"
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {partitions.DEFAULT}").scalar_one() == 0
    again = {"id": str(ids[1]), "scanned_at": NOW.isoformat()}
    mine = enrolment.DeviceAuth(devices["BD-001"], places.checkpoint(engine, "BD-001")["id"], "BD-001")
    assert [r.status for r in ingest(engine, mine, [visit(**again)], RULES, NOW)] == ["duplicate"]
    theirs = auth(engine)
    assert [(r.status, r.code) for r in ingest(engine, theirs, [visit(**again)], RULES, NOW)] == [("rejected", "conflict")]
    engine.dispose()
