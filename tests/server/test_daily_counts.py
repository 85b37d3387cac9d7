"""The daily and monthly counts reports read: kept by ingest, exact, unchanged by a purge, built for old databases.

Every figure here comes through the real paths (the HTTP API, ``ingest``, ``purge``, the
``checkpoint-server`` CLI, Alembic) on SQLite and on PostgreSQL, and is compared with a
full recount of the visits table.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import daily_counts, enrolment, places, reports, retention
from server.cli import main
from server.db import create_db_engine
from server.ingest import IngestRules, ingest
from server.migrate import upgrade
from server.schema import daily_visits, monthly_visits
from tests.server.conftest import PLACE, add_checkpoint, bearer, enrol, visit

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
RULES = IngestRules(max_future=timedelta(days=1), retention=timedelta(days=30))
# 23 Nov 16:59:59Z is 23:59:59 on the 23rd in Vietnam; one second later is the 24th there
LAST_SECOND_OF_23RD = datetime(2026, 11, 23, 16, 59, 59, tzinfo=timezone.utc)
FIRST_SECOND_OF_24TH = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)


def counts(engine: Engine) -> dict[tuple[str, str, str], int]:
    """(local day, direction, kind) -> visits, over all checkpoints."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(daily_visits)).all()
    return {(r.day.isoformat(), r.direction, r.kind): r.visits for r in rows}


def monthly(engine: Engine) -> dict[tuple[str, str, str], int]:
    """(first day of the local month, direction, kind) -> visits, over all checkpoints."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(monthly_visits)).all()
    return {(r.month.isoformat(), r.direction, r.kind): r.visits for r in rows}


def auth(engine: Engine, device_id: str, code: str = "BD-001") -> enrolment.DeviceAuth:
    return enrolment.DeviceAuth(device_id, places.checkpoint(engine, code)["id"], code)


def test_ingest_counts_what_it_created_by_local_day_direction_and_kind(engine: Engine) -> None:
    add_checkpoint(engine)
    mine, theirs = auth(engine, enrol(engine)[0]), auth(engine, enrol(engine)[0])
    late, early = visit(at=LAST_SECOND_OF_23RD), visit(at=FIRST_SECOND_OF_24TH, direction="out")
    wrong_clock = visit(scanned_at="9999-12-31T23:59:59+00:00")  # time unknown: counted on the day received
    old = visit(at=NOW - timedelta(days=90))  # stored already purged, still counted
    batch = [late, early, wrong_clock, old, visit(at=LAST_SECOND_OF_23RD, kind="bad"), dict(late)]  # invalid, repeated
    statuses = [r.status for r in ingest(engine, mine, batch, RULES, NOW)]
    assert statuses == ["created", "created", "created", "created", "rejected", "duplicate"]
    again = ingest(engine, mine, [late, early], RULES, NOW) + ingest(engine, theirs, [late], RULES, NOW)
    assert [r.status for r in again] == ["duplicate", "duplicate", "rejected"]  # a conflict adds nothing
    assert counts(engine) == {
        ("2026-11-23", "in", "cccd"): 1,
        ("2026-11-24", "out", "cccd"): 1,
        ("2026-11-24", "in", "cccd"): 1,  # the unknown time, received at 10:00 on the 24th in Vietnam
        ((NOW - timedelta(days=90)).date().isoformat(), "in", "cccd"): 1,
    }
    assert daily_counts.recount(engine) == []


def test_the_api_counts_and_reports_read_the_counts(engine: Engine, client: TestClient) -> None:
    add_checkpoint(engine)
    device_id, token = enrol(engine)
    sent = [visit(at=datetime(2026, 11, 20, 3, tzinfo=timezone.utc)) for _ in range(5)]
    answer = client.post("/api/v1/visits/batch", json={"device_id": device_id, "visits": sent}, headers=bearer(token))
    assert answer.status_code == 200 and {r["status"] for r in answer.json()["results"]} == {"created"}
    assert counts(engine) == {("2026-11-20", "in", "cccd"): 5}
    with engine.begin() as conn:  # a visit the counts do not know of: the report must not see it
        conn.execute(daily_visits.update().values(visits=daily_visits.c.visits + 2))
    report = reports.commune_report(engine, PLACE.district, date(2026, 11, 23), PLACE.province)
    assert report.total.visits == 7 and report.total.active == 1
    assert reports.year_report(engine, PLACE.district, date(2026, 11, 23), PLACE.province).total.visits == 7


def test_purge_changes_no_count_and_no_report(engine: Engine) -> None:
    add_checkpoint(engine)
    device = auth(engine, enrol(engine)[0])
    moments = [datetime(2026, 9, 1, 2, tzinfo=timezone.utc), datetime(2026, 11, 20, 2, tzinfo=timezone.utc)]
    ingest(engine, device, [visit(at=m) for m in moments], IngestRules(timedelta(days=1), timedelta(days=3650)), NOW)
    before = counts(engine), monthly(engine), reports.year_report(engine, PLACE.district, date(2026, 11, 23), PLACE.province)
    assert retention.purge(engine, 30, "test", now=NOW) == 1
    after = counts(engine), monthly(engine), reports.year_report(engine, PLACE.district, date(2026, 11, 23), PLACE.province)
    assert after == before and before[2].total.visits == 2
    assert before[1] == {("2026-09-01", "in", "cccd"): 1, ("2026-11-01", "in", "cccd"): 1}
    assert daily_counts.recount(engine) == []


def test_check_counts_command_says_equal_or_lists_each_difference(engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    ingest(engine, auth(engine, enrol(engine)[0]), [visit(at=LAST_SECOND_OF_23RD)], RULES, NOW)
    ok = CliRunner().invoke(main, ["check-counts", "--db", db_url])
    assert ok.exit_code == 0 and "khớp" in ok.output and "equal a full recount" in ok.output
    with engine.begin() as conn:
        conn.execute(daily_visits.update().values(visits=3))
    bad = CliRunner().invoke(main, ["check-counts", "--db", db_url, "--json"])
    assert bad.exit_code == 1
    assert '"counted": 3' in bad.output and '"stored": 1' in bad.output and '"day": "2026-11-23"' in bad.output
    text = CliRunner().invoke(main, ["check-counts", "--db", db_url])
    assert text.exit_code == 1 and "lệch" in text.output and "2026-11-23 in cccd: 3/1" in text.output


def test_0005_builds_the_counts_of_an_existing_database(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0003")
    add_checkpoint(engine)
    device = auth(engine, enrol(engine)[0])
    with engine.begin() as conn:  # visits as the server at 0003 stored them, including the local-midnight edge
        for moment, direction in [(LAST_SECOND_OF_23RD, "in"), (FIRST_SECOND_OF_24TH, "out"), (FIRST_SECOND_OF_24TH, "out")]:
            conn.execute(
                sa.text(
                    "INSERT INTO visits (id, checkpoint_id, device_id, direction, source, kind, scanned_at, occurred_at, "
                    "clock_synchronised, received_at) VALUES (:id, :cp, :dev, :dir, 'serial', 'cccd', :at, :at, true, :at)"
                ),
                {
                    "id": uuid.uuid4().hex if engine.dialect.name == "sqlite" else uuid.uuid4(),
                    "cp": device.checkpoint_id,
                    "dev": device.device_id,
                    "dir": direction,
                    "at": moment if engine.dialect.name != "sqlite" else moment.replace(tzinfo=None),
                },
            )
    assert upgrade(engine)[0] == "0003"
    assert counts(engine) == {("2026-11-23", "in", "cccd"): 1, ("2026-11-24", "out", "cccd"): 2}
    assert monthly(engine) == {("2026-11-01", "in", "cccd"): 1, ("2026-11-01", "out", "cccd"): 2}
    assert daily_counts.recount(engine) == []
    engine.dispose()


def test_recount_finds_a_count_without_visits_and_visits_without_a_count(engine: Engine) -> None:
    add_checkpoint(engine)
    device = auth(engine, enrol(engine)[0])
    ingest(engine, device, [visit(at=LAST_SECOND_OF_23RD), visit(at=FIRST_SECOND_OF_24TH)], RULES, NOW)
    with engine.begin() as conn:
        conn.execute(daily_visits.delete().where(daily_visits.c.day == date(2026, 11, 24)))
        conn.execute(
            daily_visits.insert().values(
                checkpoint_id=device.checkpoint_id, day=date(2026, 11, 1), direction="out", kind="phone", visits=4
            )
        )
    found = [
        (m.table, m.recounted_from, m.day.isoformat(), m.direction, m.kind, m.counted, m.stored)
        for m in daily_counts.recount(engine)
    ]
    assert found == [
        ("daily_visits", "visits", "2026-11-01", "out", "phone", 4, 0),
        ("daily_visits", "visits", "2026-11-24", "in", "cccd", 0, 1),
        # the months still equal the visits, so they now differ from the tampered days
        ("monthly_visits", "daily_visits", "2026-11-01", "in", "cccd", 2, 1),
        ("monthly_visits", "daily_visits", "2026-11-01", "out", "phone", 0, 4),
    ]


def test_recount_finds_a_month_that_differs_from_its_visits_and_its_days(engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    ingest(engine, auth(engine, enrol(engine)[0]), [visit(at=LAST_SECOND_OF_23RD)], RULES, NOW)
    with engine.begin() as conn:
        conn.execute(monthly_visits.update().values(visits=5))
    found = [(m.table, m.recounted_from, m.day.isoformat(), m.counted, m.stored) for m in daily_counts.recount(engine)]
    assert found == [("monthly_visits", "daily_visits", "2026-11-01", 5, 1), ("monthly_visits", "visits", "2026-11-01", 5, 1)]
    text = CliRunner().invoke(main, ["check-counts", "--db", db_url])
    assert text.exit_code == 1 and "monthly_visits visits" in text.output and "2026-11-01 in cccd: 5/1" in text.output


# Local month edges: 31 Oct 17:00Z is already 1 Nov in Vietnam (its UTC date is still 31 Oct);
# 31 Dec 17:00Z is 1 Jan of the next year there.
LAST_SECOND_OF_OCTOBER = datetime(2026, 10, 31, 16, 59, 59, tzinfo=timezone.utc)
FIRST_SECOND_OF_NOVEMBER = datetime(2026, 10, 31, 17, 0, tzinfo=timezone.utc)
FIRST_SECOND_OF_2027 = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)
LATER = datetime(2027, 1, 2, 3, 0, tzinfo=timezone.utc)
LONG_RULES = IngestRules(max_future=timedelta(days=1), retention=timedelta(days=3650))


def ingest_across_months(engine: Engine) -> None:
    """Visits on both sides of local month and year edges, with duplicates and a conflict."""
    add_checkpoint(engine)
    mine, theirs = auth(engine, enrol(engine)[0]), auth(engine, enrol(engine)[0])
    edges = [visit(at=m) for m in (LAST_SECOND_OF_OCTOBER, FIRST_SECOND_OF_NOVEMBER, FIRST_SECOND_OF_2027)]
    spread = [visit(at=datetime(2026, 1, 1, 0, tzinfo=timezone.utc) + timedelta(hours=37 * i), direction="out") for i in range(200)]
    assert {r.status for r in ingest(engine, mine, edges + spread, LONG_RULES, LATER)} == {"created"}
    again = ingest(engine, mine, [edges[0], spread[5]], LONG_RULES, LATER) + ingest(engine, theirs, [edges[1]], LONG_RULES, LATER)
    assert [r.status for r in again] == ["duplicate", "duplicate", "rejected"]  # a conflict adds nothing


def test_months_follow_the_local_month_edge_and_equal_a_recount(engine: Engine) -> None:
    ingest_across_months(engine)
    edges = {k: v for k, v in monthly(engine).items() if k[1] == "in"}
    assert edges == {("2026-10-01", "in", "cccd"): 1, ("2026-11-01", "in", "cccd"): 1, ("2027-01-01", "in", "cccd"): 1}
    assert sum(monthly(engine).values()) == sum(counts(engine).values()) == 203
    assert daily_counts.recount(engine) == []


def test_year_to_date_equals_the_sum_of_its_days(engine: Engine) -> None:
    """Whole months come from the roll-up and the rest from the days: every split must add up
    to the days' own sum (first and last days of months, of the year, and between)."""
    ingest_across_months(engine)
    days = counts(engine)
    throughs = [date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 1), date(2026, 6, 17)]
    throughs += [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 31), date(2027, 1, 1)]
    for through in throughs:
        expected = sum(n for (day, _, _), n in days.items() if date(through.year, 1, 1) <= date.fromisoformat(day) <= through)
        assert reports.year_report(engine, PLACE.district, through, PLACE.province).total.visits == expected, through
    assert reports.year_report(engine, PLACE.district, date(2026, 12, 31), PLACE.province).total.visits == 202


def test_any_window_sums_months_and_days_like_the_days_alone(engine: Engine) -> None:
    ingest_across_months(engine)
    days = counts(engine)
    checkpoint_ids = sa.select(sa.literal(places.checkpoint(engine, "BD-001")["id"]))
    rng = random.Random(17)
    windows = [(date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 2, 2), date(2026, 2, 27))]
    windows += [tuple(sorted(date(2026, 1, 1) + timedelta(days=rng.randrange(400)) for _ in range(2))) for _ in range(40)]
    with engine.connect() as conn:
        for first, last in windows:
            expected = sum(n for (day, _, _), n in days.items() if first <= date.fromisoformat(day) <= last)
            assert sum(daily_counts.per_checkpoint(conn, checkpoint_ids, first, last).values()) == expected, (first, last)


def test_0010_builds_the_months_of_an_existing_database_and_covers_the_count(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0007")
    add_checkpoint(engine)
    checkpoint_id = places.checkpoint(engine, "BD-001")["id"]
    with engine.begin() as conn:  # daily counts as the server at 0007 kept them
        conn.execute(
            daily_visits.insert(),
            [
                {"checkpoint_id": checkpoint_id, "day": day, "direction": "in", "kind": "cccd", "visits": n}
                for day, n in [(date(2026, 10, 31), 3), (date(2026, 11, 1), 4), (date(2026, 11, 30), 5), (date(2027, 1, 1), 6)]
            ],
        )
    assert upgrade(engine)[0] == "0007"
    assert monthly(engine) == {("2026-10-01", "in", "cccd"): 3, ("2026-11-01", "in", "cccd"): 9, ("2027-01-01", "in", "cccd"): 6}
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            keys = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname IN ('pk_daily_visits', 'pk_monthly_visits') "
                "AND schemaname = current_schema()"
            ).scalars()
            assert [k.endswith("INCLUDE (visits)") for k in keys] == [True, True]
            options = conn.exec_driver_sql(
                "SELECT reloptions FROM pg_class WHERE relname = 'monthly_visits' AND relnamespace = current_schema()::regnamespace"
            ).scalar_one()
            assert "autovacuum_vacuum_insert_scale_factor=0.01" in options
    engine.dispose()
