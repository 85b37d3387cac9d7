"""The console's overview page for a district of 6,128 checkpoints (Cao Bằng's size) with a
week of visits, on SQLite and PostgreSQL: server time of ``GET /`` beside its floor.

The page is the district table (server.reports.commune_report, the same call as the API),
the four-week chart (server.trend: two statements) and the template. The floor is
the report query alone, measured in the same run on the same data: the page can never be
faster than that. Timed in process (FastAPI's TestClient, a signed-in session cookie), so
the figure is the server's time without a network.

Visits: --visits in the 7 days up to the report day (default 120,000, about what
server_report.py puts in its window; shared/ gives no per-week figure for Hải Hà), spread
over four fifths of the checkpoints, loaded in bulk as bench/server_report.py does.

Target: page < 300 ms. Usage:
    .venv/bin/python bench/console_overview.py [--visits 120000] [--checkpoints 6128] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from bench.server_report import (  # noqa: E402
    DISTRICT,
    REPORT_DAY,
    build_counts,
    load_places,
    load_postgresql,
    load_sqlite,
    timed,
    visit_rows,
)
from server import officials, reports, sessions, trend  # noqa: E402
from server.app import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import create_db_engine  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from tests.pgscratch import scratch_database  # noqa: E402

PASSWORD = "bench-password-1"


def median_ms(runs: int, func: Any) -> tuple[float, float]:
    took = timed(runs, func)
    return took["median_s"] * 1000, took["max_s"] * 1000


def run_one(kind: str, url: str, args: argparse.Namespace) -> list[tuple[str, str, float, float]]:
    engine = create_db_engine(url)
    upgrade(engine)
    ids = load_places(engine, args.checkpoints, 1)
    if engine.dialect.name == "sqlite":
        load_sqlite(engine, visit_rows(args.visits, ids, days=7))
    else:
        load_postgresql(engine, args.visits, args.checkpoints, days=7)
    build_counts(engine)
    officials.add_official(engine, "Bench Official", "bench", district=DISTRICT, password=PASSWORD)
    token, _ = sessions.sign_in(engine, "Bench Official", PASSWORD)
    page = f"/?week_ending={REPORT_DAY.isoformat()}"
    with TestClient(create_app(Settings().with_overrides(db=url), engine)) as client:
        client.cookies.set("cps_session", token)
        answer = client.get(page)
        assert answer.status_code == 200 and "Tổng cộng" in answer.text, answer.status_code
        floor = median_ms(args.runs, lambda: reports.commune_report(engine, DISTRICT, REPORT_DAY))
        chart = median_ms(args.runs, lambda: trend.trend(engine, 1, REPORT_DAY))
        whole = median_ms(args.runs, lambda: client.get(page))
    engine.dispose()
    return [
        (kind, "report query alone (floor)", *floor),
        (kind, "chart queries (server.trend)", *chart),
        (kind, "overview page GET /", *whole),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=120_000)
    parser.add_argument("--checkpoints", type=int, default=6_128)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else None
    rows: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="console-overview-", dir=base) as tmp:
        for kind in args.db.split(","):
            where = scratch_database("cps_bench") if kind == "postgresql" else nullcontext(f"sqlite:///{tmp}/overview.sqlite3")
            with where as url:
                rows += run_one(kind, url, args)
    print(f"{args.visits} visits in 7 days, {args.checkpoints} checkpoints in one district, {args.runs} runs each")
    print("target: the page under 300 ms; floor: the report query alone")
    for kind, what, med, worst in rows:
        print(f"{kind:<11} {what:<28} median {med:7.1f} ms  max {worst:7.1f} ms")


if __name__ == "__main__":
    main()
