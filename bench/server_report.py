"""Report query time over many visits and checkpoints, on SQLite and PostgreSQL.

Default, the worst case for one district's table: all 6,500 checkpoints in one district
(130 communes of 50), 1,000,000 visits spread over the --days (60) before the report
date. City scale (issue 17): ``--checkpoints 637533 --districts 30 --visits 10000000`` is
Hà Nội's 637,533 QR locations in its 30 district-level units, reported for one of them.
Visits are loaded by a bulk path (sqlite3 executemany in one transaction; PostgreSQL
makes them itself, INSERT … SELECT from generate_series), then the daily counts are
built from them as migration 0005 builds them, and the monthly ones from those as
migration 0010 does (equal to what ingest keeps, see
``checkpoint-server check-counts``), then ANALYZE. The timed calls
are the server's own report functions (the ones the CLI and the API use), each run --runs
times, beside two bare queries in the same run: the floor (one SUM over the window's
daily counts for the district's checkpoints, the least any report must read; for the
year-to-date also one SUM over the whole months of the monthly counts and the current
month's days, what it reads since issue 17) and the COUNT over the visits themselves that
reports ran before they read counts.

Target: report ≤ 1 s. Usage:
    .venv/bin/python bench/server_report.py [--visits 1000000] [--checkpoints 6500] [--districts 1] [--days 60]
        [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from server import daily_counts, partitions, reports  # noqa: E402
from server.db import create_db_engine, writing  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.schema import checkpoints, communes, daily_visits, devices, districts, monthly_visits, provinces, visits  # noqa: E402
from tests.pgscratch import scratch_database  # noqa: E402

DISTRICT, PROVINCE = "Huyện Bù Đăng", "Tỉnh Bình Phước"
REPORT_DAY = date(2026, 11, 23)
DAYS = 60
PER_COMMUNE = 50
VISIT_COLUMNS = [
    "district_id",
    "id",
    "checkpoint_id",
    "device_id",
    "direction",
    "source",
    "kind",
    "scanned_at",
    "occurred_at",
    "clock_synchronised",
    "received_at",
    "id_number",
]


def load_places(engine: Any, n_checkpoints: int, n_districts: int) -> list[int]:
    """Checkpoints in communes of 50, the communes dealt round the districts (district 1 is reported)."""
    with writing(engine) as conn:
        conn.execute(provinces.insert().values(id=1, name=PROVINCE))
        names = [DISTRICT] + [f"Quận số {d:02d}" for d in range(2, n_districts + 1)]
        conn.execute(districts.insert(), [{"id": d + 1, "province_id": 1, "name": name} for d, name in enumerate(names)])
        n_communes = -(-n_checkpoints // PER_COMMUNE)
        conn.execute(
            communes.insert(),
            [{"id": i + 1, "district_id": i % n_districts + 1, "name": f"Xã số {i + 1:05d}"} for i in range(n_communes)],
        )
        conn.execute(
            checkpoints.insert(),
            [
                {
                    "id": i + 1,
                    "code": f"BD-{i + 1:05d}",
                    "name": f"Chốt {i + 1}",
                    "commune_id": i // PER_COMMUNE + 1,
                    "created_on": date(2026, 1, 1) + timedelta(days=i % 320),
                    "active": True,
                }
                for i in range(n_checkpoints)
            ],
        )
        conn.execute(
            devices.insert(),
            [
                {"id": f"dev-{i + 1}", "checkpoint_id": i + 1, "enrolled_at": datetime(2026, 1, 1, tzinfo=timezone.utc)}
                for i in range(n_checkpoints)
            ],
        )
    return list(range(1, n_checkpoints + 1))


def district_of(checkpoint_id: int, n_districts: int) -> int:
    """The district ``load_places`` put a checkpoint in (communes of 50, dealt round)."""
    return (checkpoint_id - 1) // PER_COMMUNE % n_districts + 1


def visit_rows(n: int, checkpoint_ids: list[int], days: int, n_districts: int = 1) -> Iterator[tuple[Any, ...]]:
    """SQLite's visits, made here (PostgreSQL makes its own: GENERATE). Reports read neither
    the visits' keys nor ``visit_keys``, so the bench loads the visits alone."""
    rng = random.Random(7)
    end = datetime.combine(REPORT_DAY + timedelta(days=1), datetime.min.time(), reports.LOCAL_TZ).astimezone(timezone.utc)
    span = days * 86400
    active = checkpoint_ids[: int(len(checkpoint_ids) * 0.8)]  # a fifth of the checkpoints are never used
    for i in range(n):
        cp = rng.choice(active)
        at = end - timedelta(seconds=rng.randrange(span))
        when = at.replace(tzinfo=None).isoformat(sep=" ")
        vid = uuid.UUID(int=rng.getrandbits(128)).hex
        yield (
            district_of(cp, n_districts),
            vid,
            cp,
            f"dev-{cp}",
            "in" if i % 2 else "out",
            "serial",
            "cccd",
            when,
            when,
            True,
            when,
            f"{i:012d}",
        )


def load_sqlite(engine: Any, rows: Iterator[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("BEGIN")
        cursor.executemany(f"INSERT INTO visits ({', '.join(VISIT_COLUMNS)}) VALUES ({', '.join('?' * len(VISIT_COLUMNS))})", rows)
        cursor.execute("COMMIT")
    finally:
        raw.close()


# PostgreSQL makes the visits itself (10 million through Python would time the generator):
# the same shape as visit_rows, random checkpoints among the first 80 %, random times.
GENERATE = f"""
INSERT INTO visits ({", ".join(VISIT_COLUMNS)})
SELECT (cp - 1) / {PER_COMMUNE} %% %(districts)s::int + 1, gen_random_uuid(), cp, 'dev-' || cp,
       CASE WHEN i %% 2 = 1 THEN 'in' ELSE 'out' END, 'serial', 'cccd',
       t, t, true, t, lpad(i::text, 12, '0')
FROM (SELECT i, 1 + floor(random() * %(active)s::int)::int AS cp,
             %(end)s::timestamptz - random() * %(span)s::int * interval '1 second' AS t
      FROM generate_series(%(first)s::int, %(last)s::int) AS i) AS g
"""


def load_postgresql(engine: Any, n: int, n_checkpoints: int, days: int, n_districts: int) -> None:
    """As a bulk restore does: the secondary indexes of visits dropped, the rows made, the
    same indexes built again (10 million random UUIDs into a live index would time the load);
    the months' partitions made first, as the server makes them."""
    end = datetime.combine(REPORT_DAY + timedelta(days=1), datetime.min.time(), reports.LOCAL_TZ)
    step = 1_000_000  # a million a transaction
    with writing(engine) as conn:
        month, months = partitions.Month.of(end - timedelta(days=days + 1)), []
        while month <= partitions.Month.of(end):
            months, month = [*months, month], month.plus(1)
        partitions.ensure(conn, months)
    with engine.connect() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'visits' AND indexname <> 'pk_visits' "
            "AND schemaname = current_schema()"
        ).all()
        for name, _ in indexes:
            constraint = conn.exec_driver_sql("SELECT 1 FROM pg_constraint WHERE conname = %(n)s", {"n": name}).first()
            conn.exec_driver_sql(f"ALTER TABLE visits DROP CONSTRAINT {name}" if constraint else f"DROP INDEX {name}")
        conn.exec_driver_sql("SELECT setseed(0.7)")
        conn.commit()
        for first in range(0, n, step):
            last = min(n, first + step) - 1
            conn.exec_driver_sql(
                GENERATE,
                {
                    "active": int(n_checkpoints * 0.8),
                    "end": end,
                    "span": days * 86400,
                    "first": first,
                    "last": last,
                    "districts": n_districts,
                },
            )
            conn.commit()
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:  # on the partitioned table: built on every partition
            conn.exec_driver_sql(definition.replace(" ON ONLY ", " ON "))
        conn.commit()


def build_counts(engine: Any) -> None:
    """The daily counts of the loaded visits, as migration 0005 builds them, and the monthly
    ones from those, as migration 0010 does, then statistics."""
    with writing(engine) as conn:
        built = daily_counts.recount_sql(conn.dialect.name)
        conn.execute(daily_visits.insert().from_select(["checkpoint_id", "day", "direction", "kind", "visits"], built))
        months = daily_counts.monthly_from_daily_sql(conn.dialect.name)
        conn.execute(monthly_visits.insert().from_select(["checkpoint_id", "month", "direction", "kind", "visits"], months))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")


def district_checkpoints() -> Any:
    return sa.select(checkpoints.c.id).join(communes).where(communes.c.district_id == 1)


def floor_sum(engine: Any, window: reports.Window) -> int:
    """The least a report reads: one SUM over the window's counts of the district's checkpoints."""
    with engine.connect() as conn:
        query = sa.select(sa.func.sum(daily_visits.c.visits)).where(
            daily_visits.c.checkpoint_id.in_(district_checkpoints()),
            daily_visits.c.day.between(window.first_day, window.last_day),
        )
        return int(conn.execute(query).scalar_one() or 0)


def floor_rollup(engine: Any, window: reports.Window) -> int:
    """The least a year-to-date reads: one SUM over the window's whole months of the monthly
    counts and the current month's days of the daily counts (a year always starts on the 1st)."""
    month = window.last_day.replace(day=1)
    whole = month if window.last_day.month == 12 and window.last_day.day == 31 else None
    with engine.connect() as conn:
        months = sa.select(monthly_visits.c.visits).where(
            monthly_visits.c.checkpoint_id.in_(district_checkpoints()),
            monthly_visits.c.month.between(window.first_day, whole or month - timedelta(days=1)),
        )
        days = sa.select(daily_visits.c.visits).where(
            daily_visits.c.checkpoint_id.in_(district_checkpoints()),
            daily_visits.c.day.between(month, window.last_day),
        )
        both = sa.union_all(months, days).subquery() if whole is None else months.subquery()
        return int(conn.execute(sa.select(sa.func.sum(both.c.visits))).scalar_one() or 0)


def scan_visits(engine: Any, window: reports.Window) -> int:
    """What reports did before the counts: COUNT the window's visits themselves."""
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(
            visits.c.checkpoint_id.in_(district_checkpoints()),
            visits.c.occurred_at >= window.start,
            visits.c.occurred_at < window.end,
        )
        return int(conn.execute(query).scalar_one())


def timed(runs: int, func: Any) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "max_s": max(times), "first_s": times[0]}


def run_one(kind: str, url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    engine = create_db_engine(url)
    upgrade(engine)
    ids = load_places(engine, args.checkpoints, args.districts)
    started = time.perf_counter()
    if engine.dialect.name == "sqlite":
        load_sqlite(engine, visit_rows(args.visits, ids, args.days, args.districts))
    else:
        load_postgresql(engine, args.visits, len(ids), args.days, args.districts)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    build_counts(engine)
    counts_s = time.perf_counter() - started
    table = reports.commune_report(engine, DISTRICT, REPORT_DAY)
    week, year = reports.Window.days_ending(REPORT_DAY), reports.Window.year_to(REPORT_DAY)
    assert table.total.visits == floor_sum(engine, week) == scan_visits(engine, week), table.total
    ytd = reports.year_report(engine, DISTRICT, REPORT_DAY).total.visits
    assert ytd == floor_sum(engine, year) == floor_rollup(engine, year) == scan_visits(engine, year)
    results = [
        {"db": kind, "what": "bulk load", "seconds": load_s},
        {"db": kind, "what": "counts built, ANALYZE", "seconds": counts_s},
    ]
    for name, func in (
        ("floor: SUM of week's counts", lambda: floor_sum(engine, week)),
        ("before: COUNT week's visits", lambda: scan_visits(engine, week)),
        ("floor: SUM of year's counts", lambda: floor_sum(engine, year)),
        ("floor: SUM of months + days", lambda: floor_rollup(engine, year)),
        ("before: COUNT year's visits", lambda: scan_visits(engine, year)),
        ("district table (communes)", lambda: reports.commune_report(engine, DISTRICT, REPORT_DAY)),
        ("per-checkpoint view", lambda: reports.checkpoint_report(engine, DISTRICT, REPORT_DAY)),
        ("year to date", lambda: reports.year_report(engine, DISTRICT, REPORT_DAY)),
    ):
        results.append({"db": kind, "what": name, **timed(args.runs, func)})
    next(r for r in results if r["what"].startswith("district table"))["window_visits"] = table.total.visits
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", type=int, default=6_500)
    parser.add_argument("--districts", type=int, default=1, help="checkpoints spread over this many districts")
    parser.add_argument("--days", type=int, default=DAYS, help="visits spread over this many days before the report date")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else None
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="server-report-", dir=base) as tmp:
        for kind in args.db.split(","):
            where = scratch_database("cps_bench") if kind == "postgresql" else nullcontext(f"sqlite:///{tmp}/report.sqlite3")
            with where as url:
                results += run_one(kind, url, args)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    in_district = sum(1 for c in range(-(-args.checkpoints // PER_COMMUNE)) if c % args.districts == 0) * PER_COMMUNE
    print(
        f"{args.visits} visits over {args.days} days, {args.checkpoints} checkpoints in {args.districts} district(s), "
        f"the reported one with about {min(in_district, args.checkpoints)}; {args.runs} runs each"
    )
    for r in results:
        if "seconds" in r:
            print(f"{r['db']:<11} {r['what']:<27} {r['seconds']:8.1f} s")
        else:
            extra = f"  ({r['window_visits']} visits in the window)" if "window_visits" in r else ""
            times = f"median {r['median_s'] * 1000:7.1f} ms  max {r['max_s'] * 1000:7.1f} ms  first {r['first_s'] * 1000:7.1f} ms"
            print(f"{r['db']:<11} {r['what']:<27} {times}{extra}")


if __name__ == "__main__":
    main()
