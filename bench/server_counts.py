"""What the monthly roll-up adds to each ingest transaction, next to the daily counts alone.

Ingest counts every batch it stores (server/daily_counts.py ``add``) in the transaction that
stored it. Since issue 17 it adds each batch to the monthly roll-up too. Here, on a scratch
PostgreSQL (or SQLite) database, batches shaped like a kiosk's (--batch visits of one
checkpoint, five minutes apart, both directions) are counted --batches times, alternating:

- floor: the daily counts alone (``_upsert`` of the days: what ingest did before);
- ``add``: days and months, as ingest does now.

Printed: the median time per batch of each, and the difference, beside the median time
the API took per batch in ``bench/server_ingest.py`` (about 60–120 ms for 500 visits).
Usage:
    .venv/bin/python bench/server_counts.py [--batch 500] [--batches 400] [--db postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy.engine import Connection  # noqa: E402

from server import daily_counts  # noqa: E402
from server.db import create_db_engine, writing  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.schema import checkpoints, communes, daily_visits, districts, provinces  # noqa: E402
from tests.pgscratch import scratch_database  # noqa: E402

CHECKPOINTS = 100
START = datetime(2026, 11, 20, tzinfo=timezone.utc)


def days_only(conn: Connection, rows: list[dict[str, Any]]) -> None:
    days = Counter((r["checkpoint_id"], daily_counts.local_day(r["occurred_at"]), r["direction"], r["kind"]) for r in rows)
    daily_counts._upsert(conn, daily_visits, days)


def batch(i: int, size: int) -> list[dict[str, Any]]:
    return [
        {
            "checkpoint_id": i % CHECKPOINTS + 1,
            "occurred_at": START + timedelta(minutes=5 * j),
            "direction": "in" if j % 2 else "out",
            "kind": "cccd",
        }
        for j in range(size)
    ]


def run(url: str, size: int, batches: int) -> dict[str, float]:
    engine = create_db_engine(url)
    upgrade(engine)
    with writing(engine) as conn:
        conn.execute(provinces.insert().values(id=1, name="Tỉnh Bình Phước"))
        conn.execute(districts.insert().values(id=1, province_id=1, name="Huyện Bù Đăng"))
        conn.execute(communes.insert().values(id=1, district_id=1, name="Xã Đăk Nhau"))
        conn.execute(
            checkpoints.insert(),
            [
                {"id": i, "code": f"BD-{i:03d}", "name": f"Chốt {i}", "commune_id": 1, "created_on": date(2026, 1, 1)}
                for i in range(1, CHECKPOINTS + 1)
            ],
        )
    ways: list[tuple[str, Callable[[Connection, list[dict[str, Any]]], None]]] = [
        ("floor: daily counts alone", days_only),
        ("add: days and months", daily_counts.add),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in ways}
    for i in range(batches):
        for name, count in ways if i % 2 else ways[::-1]:
            rows = batch(i, size)
            with writing(engine) as conn:
                started = time.perf_counter()
                count(conn, rows)
                times[name].append(time.perf_counter() - started)
    engine.dispose()
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--db", default="postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="server-counts-") as tmp:
        for kind in args.db.split(","):
            where = scratch_database("cps_bench") if kind == "postgresql" else nullcontext(f"sqlite:///{tmp}/counts.sqlite3")
            with where as url:
                medians = run(url, args.batch, args.batches)
            floor, now = medians.values()
            for name, seconds in medians.items():
                print(f"{kind:<11} {name:<26} median {seconds * 1000:6.2f} ms per batch of {args.batch}")
            added = (now - floor) * 1000
            print(f"{kind:<11} {'the roll-up adds':<26} median {added:6.2f} ms per batch ({now / floor:.2f}× the floor)")


if __name__ == "__main__":
    main()
