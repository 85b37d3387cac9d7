"""Report query time over 1M visits and 6,500 checkpoints, on SQLite and PostgreSQL.

Worst case for the district table: all 6,500 checkpoints in one district (130 communes of
50), 1,000,000 visits spread over the 60 days before the report date, so the 7-day window
holds about 117,000 of them. Data is loaded by a bulk path (sqlite3 executemany in one
transaction; PostgreSQL COPY), then ANALYZE; the timed calls are the server's own report
functions (the same ones the CLI and the API use), each run --runs times.

Target: report ≤ 1 s. Usage:
    .venv/bin/python bench/server_report.py [--visits 1000000] [--checkpoints 6500] [--db sqlite,postgresql]
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
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server import reports  # noqa: E402
from server.db import create_db_engine, writing  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.schema import checkpoints, communes, devices, districts, provinces  # noqa: E402
from tests.pgscratch import scratch_database  # noqa: E402

DISTRICT, PROVINCE = "Huyện Bù Đăng", "Tỉnh Bình Phước"
REPORT_DAY = date(2026, 11, 23)
DAYS = 60
PER_COMMUNE = 50
VISIT_COLUMNS = [
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


def load_places(engine: Any, n_checkpoints: int) -> list[int]:
    with writing(engine) as conn:
        conn.execute(provinces.insert().values(id=1, name=PROVINCE))
        conn.execute(districts.insert().values(id=1, province_id=1, name=DISTRICT))
        n_communes = -(-n_checkpoints // PER_COMMUNE)
        conn.execute(communes.insert(), [{"id": i + 1, "district_id": 1, "name": f"Xã số {i + 1:03d}"} for i in range(n_communes)])
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


def visit_rows(
    n: int, checkpoint_ids: list[int], sqlite: bool, days: int = DAYS, last_day: date = REPORT_DAY
) -> list[tuple[Any, ...]]:
    rng = random.Random(7)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), reports.LOCAL_TZ).astimezone(timezone.utc)
    span = days * 86400
    active = checkpoint_ids[: int(len(checkpoint_ids) * 0.8)]  # a fifth of the checkpoints are never used
    rows = []
    for i in range(n):
        cp = rng.choice(active)
        at = end - timedelta(seconds=rng.randrange(span))
        when: Any = at.replace(tzinfo=None).isoformat(sep=" ") if sqlite else at
        vid: Any = uuid.UUID(int=rng.getrandbits(128)).hex if sqlite else uuid.UUID(int=rng.getrandbits(128))
        rows.append((vid, cp, f"dev-{cp}", "in" if i % 2 else "out", "serial", "cccd", when, when, True, when, f"{i:012d}"))
    return rows


def bulk_load(engine: Any, rows: list[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO visits ({', '.join(VISIT_COLUMNS)}) VALUES ({', '.join('?' * len(VISIT_COLUMNS))})", rows
            )
            cursor.execute("COMMIT")
            cursor.execute("ANALYZE")
        else:
            with cursor.copy(f"COPY visits ({', '.join(VISIT_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
            raw.driver_connection.autocommit = True
            cursor.execute("VACUUM ANALYZE visits")
    finally:
        raw.close()


def timed(runs: int, func: Any) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "max_s": max(times)}


def run_one(kind: str, url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    engine = create_db_engine(url)
    upgrade(engine)
    ids = load_places(engine, args.checkpoints)
    started = time.perf_counter()
    bulk_load(engine, visit_rows(args.visits, ids, engine.dialect.name == "sqlite"))
    load_s = time.perf_counter() - started
    table = reports.commune_report(engine, DISTRICT, REPORT_DAY)
    assert table.total.registered == args.checkpoints, table.total
    results = [{"db": kind, "what": "bulk load", "seconds": load_s}]
    for name, func in (
        ("district table (communes)", lambda: reports.commune_report(engine, DISTRICT, REPORT_DAY)),
        ("per-checkpoint view", lambda: reports.checkpoint_report(engine, DISTRICT, REPORT_DAY)),
        ("year to date", lambda: reports.year_report(engine, DISTRICT, REPORT_DAY)),
    ):
        results.append({"db": kind, "what": name, **timed(args.runs, func)})
    results[1]["window_visits"] = table.total.visits
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", type=int, default=6_500)
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
    print(f"{args.visits} visits, {args.checkpoints} checkpoints in one district, {args.runs} runs each")
    for r in results:
        if "seconds" in r:
            print(f"{r['db']:<11} {r['what']:<27} {r['seconds']:8.1f} s")
        else:
            extra = f"  ({r['window_visits']} visits in the window)" if "window_visits" in r else ""
            print(f"{r['db']:<11} {r['what']:<27} median {r['median_s'] * 1000:7.1f} ms  max {r['max_s'] * 1000:7.1f} ms{extra}")


if __name__ == "__main__":
    main()
