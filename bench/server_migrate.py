"""Migration 0008 on a PostgreSQL database that already holds visits, next to a bare copy.

0008 moves every visit into the new partitioned ``visits`` with its district, fills
``visit_keys`` and builds the indexes again (server/migrations/versions/0008_…). How long
that takes decides whether ``checkpoint-server migrate`` needs a quiet hour. In one run, on
a scratch database:

- the database is migrated to 0007 and --visits CCCD-shaped visits (with their fields,
  spread over --days before today, over --checkpoints checkpoints) are made in SQL;
- floor: ``CREATE TABLE … AS SELECT * FROM visits``, the least a copy of the rows costs
  (read once, written once, no index), timed and dropped;
- the upgrade to head (0008 and the partitions made ahead), timed as ``migrate`` runs it.

Usage:
    .venv/bin/python bench/server_migrate.py [--visits 1000000] [--checkpoints 6500] [--days 60]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.db import create_db_engine, writing  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from tests.pgscratch import scratch_database  # noqa: E402

FIELDS = (
    '{"id_number": "070185004321", "old_id_number": null, "name": "Nguyễn Thị Ánh Tuyết", "date_of_birth": "1985-07-14", '
    '"sex": "Nữ", "address": "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng", "issue_date": "2021-05-10"}'
)
PLACES = """
INSERT INTO provinces (id, name) VALUES (1, 'Tỉnh Bình Phước');
INSERT INTO districts (id, province_id, name) SELECT d, 1, 'Huyện số ' || d FROM generate_series(1, 10) AS d;
INSERT INTO communes (id, district_id, name) SELECT c, c %% 10 + 1, 'Xã số ' || c FROM generate_series(1, %(communes)s) AS c;
INSERT INTO checkpoints (id, code, name, commune_id, created_on)
    SELECT i, 'CP-' || i, 'Chốt ' || i, (i - 1) / 50 + 1, '2026-01-01' FROM generate_series(1, %(checkpoints)s) AS i;
INSERT INTO devices (id, checkpoint_id, enrolled_at) SELECT 'dev-' || i, i, now() FROM generate_series(1, %(checkpoints)s) AS i;
"""
VISITS = """
INSERT INTO visits (id, checkpoint_id, device_id, direction, source, kind, scanned_at, occurred_at, clock_synchronised,
                    received_at, id_number, person_name, fields)
SELECT gen_random_uuid(), cp, 'dev-' || cp, CASE WHEN i %% 2 = 1 THEN 'in' ELSE 'out' END, 'serial', 'cccd', t, t, true, t,
       lpad(i::text, 12, '0'), 'Nguyễn Thị Ánh Tuyết', %(fields)s::json
FROM (SELECT i, 1 + floor(random() * %(checkpoints)s::int)::int AS cp,
             now() - random() * %(days)s::int * interval '1 day' AS t
      FROM generate_series(1, %(visits)s::int) AS i) AS g
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", type=int, default=6500)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    with scratch_database("cps_bench_migrate") as url:
        engine = create_db_engine(url)
        upgrade(engine, "0007")
        params = {"checkpoints": args.checkpoints, "communes": -(-args.checkpoints // 50), "days": args.days}
        with writing(engine) as conn:
            for statement in PLACES.strip().split(";\n"):
                conn.exec_driver_sql(statement, params)
            conn.exec_driver_sql(VISITS, {**params, "visits": args.visits, "fields": FIELDS})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        started = time.perf_counter()
        with writing(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE floor_copy AS SELECT * FROM visits")
        floor_s = time.perf_counter() - started
        with writing(engine) as conn:
            conn.exec_driver_sql("DROP TABLE floor_copy")
        started = time.perf_counter()
        before, after = upgrade(engine)
        migrate_s = time.perf_counter() - started
        with engine.connect() as conn:
            moved = conn.exec_driver_sql("SELECT count(*) FROM visits").scalar_one()
            keys = conn.exec_driver_sql("SELECT count(*) FROM visit_keys").scalar_one()
            months = conn.exec_driver_sql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'visits'::regclass").scalar_one()
        engine.dispose()
    if moved != args.visits or keys != args.visits:
        raise RuntimeError(f"{moved} visits and {keys} keys after the upgrade, {args.visits} before")
    print(f"{datetime.now(timezone.utc):%Y-%m-%d}, {args.visits} visits over {args.days} days, {args.checkpoints} checkpoints")
    print(f"floor: bare copy of the rows (CREATE TABLE AS)  {floor_s:8.1f} s  {args.visits / floor_s:>9.0f} visits/s")
    print(
        f"migrate {before} → {after} (into {months} partitions) {migrate_s:8.1f} s  {args.visits / migrate_s:>9.0f} visits/s"
        f"  ({migrate_s / floor_s:.1f}× the floor)"
    )


if __name__ == "__main__":
    main()
