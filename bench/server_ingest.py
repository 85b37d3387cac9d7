"""API ingest throughput of the district server, next to bare-insert floors.

For each database (SQLite file, PostgreSQL scratch database) in one run:

- floor: the same kind of rows (built by the server's own row builder from kiosk-shaped
  visits) inserted with the driver's bare ``executemany`` in batches of --batch, one
  commit per batch, into the same migrated ``visits`` table; on PostgreSQL also bare
  ``COPY visits FROM STDIN`` (the fastest a row gets in);
- PostgreSQL only, the three ways to insert a batch that still tell which visits were
  new, side by side, each inserting the keys first (``visit_keys``, ``ON CONFLICT
  (district_id, id) DO NOTHING RETURNING id``) and then the visits whose keys were new
  into the partitioned ``visits``: multi-row ``VALUES`` statements, ``COPY`` into a
  staging table then one ``INSERT … SELECT`` for both (what ``server/ingest.py`` does),
  and one array per column through ``unnest()``;
- API: a real ``checkpoint-server serve --workers W`` process on a loopback port; client
  threads (one device each) POST gzip'd JSON batches of --batch visits over keep-alive
  connections, exactly as a kiosk does. Timed from the first request to the last answer;
  every answer must say ``created`` for every visit.

Targets: ≥ 5,000 visits/s through the API; on PostgreSQL ≥ 60 % of the COPY floor (issue 17). Usage:
    .venv/bin/python bench/server_ingest.py [--visits 20000] [--batch 500] [--clients 1,4] [--workers 1,2,4]
        [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from psycopg.types.json import Json  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402

from server import enrolment, places  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import create_db_engine  # noqa: E402
from server.ingest import KEY_COLUMNS, PG_COLUMNS, IngestRules, district_of, driver_row, insert_postgresql, visit_row  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.schema import visit_keys  # noqa: E402
from server.schema import visits as visits_table  # noqa: E402
from sync.protocol import VisitIn  # noqa: E402
from tests.inprocess import free_port  # noqa: E402
from tests.pgscratch import scratch_database  # noqa: E402

CHECKPOINT = "BENCH-01"
PLACE = places.Place("Tỉnh Bình Phước", "Huyện Bù Đăng", "Xã Đăk Nhau")
SERVER = str(Path(sys.executable).with_name("checkpoint-server"))


def kiosk_visit(i: int, now: datetime) -> dict[str, Any]:
    """A CCCD visit as a kiosk's sync client sends it (about 450 bytes of JSON)."""
    return {
        "id": str(uuid.uuid4()),
        "checkpoint": CHECKPOINT,
        "direction": "in" if i % 2 else "out",
        "source": "serial",
        "kind": "cccd",
        "scanned_at": (now - timedelta(seconds=i)).isoformat(),
        "clock_synchronised": True,
        "monotonic_ns": 10**12 + i,
        "boot_id": "3f1c0e1e-5d7b-4f57-9a55-0d1f5d1d7d10",
        "reader": "serial:/dev/ttyACM0",
        "fields": {
            "id_number": f"{70185000000 + i:012d}",
            "old_id_number": None,
            "name": "Nguyễn Thị Ánh Tuyết",
            "date_of_birth": "1985-07-14",
            "sex": "Nữ",
            "address": "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng",
            "issue_date": "2021-05-10",
        },
    }


def batches_of(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _driver_value(value: Any) -> Any:
    """What SQLAlchemy hands psycopg for a JSON column; sqlite3 gets the JSON text already."""
    return Json(value) if isinstance(value, dict) else value


def floor(url: str, rows: list[dict[str, Any]], batch: int) -> float:
    """Bare DBAPI executemany of the server's rows, one commit per batch; returns visits/s."""
    engine = create_db_engine(url)
    columns = [c for c in rows[0]]
    dialect = engine.dialect
    convert = [visits_table.c[c].type.bind_processor(dialect) or (lambda v: v) for c in columns]
    processed = [tuple(_driver_value(f(row[c])) for f, c in zip(convert, columns, strict=True)) for row in rows]
    marker = "?" if dialect.name == "sqlite" else "%s"
    sql = f"INSERT INTO visits ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for chunk in batches_of(processed, batch):
            if dialect.name == "sqlite":
                cursor.execute("BEGIN")
            cursor.executemany(sql, chunk)
            raw.commit() if dialect.name != "sqlite" else cursor.execute("COMMIT")
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()
    return len(rows) / elapsed


def _fresh(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same rows with new visit ids: each measurement inserts visits the table has not seen."""
    return [{**row, "id": uuid.uuid4()} for row in rows]


def _driver_rows(engine: Engine, rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    columns = list(rows[0])
    convert = [visits_table.c[c].type.bind_processor(engine.dialect) or (lambda v: v) for c in columns]
    return columns, [tuple(_driver_value(f(row[c])) for f, c in zip(convert, columns, strict=True)) for row in rows]


def copy_floor(url: str, rows: list[dict[str, Any]], batch: int) -> float:
    """Bare COPY of the server's rows into visits, one commit per batch; returns visits/s."""
    engine = create_db_engine(url)
    columns, processed = _driver_rows(engine, _fresh(rows))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for chunk in batches_of(processed, batch):
            with cursor.copy(f"COPY visits ({', '.join(columns)}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
            raw.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()
    return len(rows) / elapsed


def _multirow_values(conn: Connection, batch: list[dict[str, Any]]) -> set[uuid.UUID]:
    keys = postgresql.insert(visit_keys).values([{k: row[k] for k in KEY_COLUMNS} for row in batch])
    created = set(conn.execute(keys.on_conflict_do_nothing().returning(visit_keys.c.id)).scalars())
    conn.execute(postgresql.insert(visits_table).values([row for row in batch if row["id"] in created]))
    return created


_NAMES = ", ".join(c.name for c in PG_COLUMNS)
_UNNEST = (
    f"WITH batch AS (SELECT * FROM unnest("
    f"{', '.join(f'%s::{c.type.compile(dialect=postgresql.dialect())}[]' for c in PG_COLUMNS)}) AS u({_NAMES})), "
    f"created AS (INSERT INTO visit_keys ({', '.join(KEY_COLUMNS)}) SELECT {', '.join(KEY_COLUMNS)} FROM batch "
    "ON CONFLICT (district_id, id) DO NOTHING RETURNING id) "
    f"INSERT INTO visits ({_NAMES}) SELECT {_NAMES} FROM batch WHERE id IN (SELECT id FROM created) RETURNING id"
)


def _unnest_arrays(conn: Connection, batch: list[dict[str, Any]]) -> set[uuid.UUID]:
    """One array per column (the server's insert until 2026-12-01)."""
    arrays = tuple(list(column) for column in zip(*(driver_row(r) for r in batch), strict=True))
    return set(conn.exec_driver_sql(_UNNEST, arrays).scalars())


MECHANISMS: dict[str, Callable[[Connection, list[dict[str, Any]]], set[uuid.UUID]]] = {
    "insert: multi-row VALUES": _multirow_values,
    "insert: unnest arrays": _unnest_arrays,
    "insert: COPY to staging": insert_postgresql,  # the server's (server/ingest.py)
}


def mechanism(url: str, rows: list[dict[str, Any]], batch: int, insert: Callable[..., set[uuid.UUID]]) -> float:
    """One batch insert mechanism, each batch in its own transaction, every row answered created; visits/s."""
    engine = create_db_engine(url)
    fresh = _fresh(rows)
    try:
        with engine.connect() as conn:
            started = time.perf_counter()
            for chunk in batches_of(fresh, batch):
                with conn.begin():
                    created = insert(conn, chunk)
                if len(created) != len(chunk):
                    raise RuntimeError(f"{len(chunk) - len(created)} visits of a fresh batch not created")
            elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    return len(rows) / elapsed


@contextmanager
def server_process(url: str, workdir: Path, workers: int = 1) -> Iterator[str]:
    port = free_port()
    config = workdir / "server.toml"
    config.write_text("[limits]\ndevice_batches_per_s = 100000.0\ndevice_burst = 100000\n")
    log = (workdir / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [SERVER, "serve", "--config", str(config), "--db", url, "--port", str(port), "--workers", str(workers)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start, see {log.name}") from None
            time.sleep(0.1)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def api(url: str, workdir: Path, devices: list[tuple[str, str]], bodies: list[list[bytes]], workers: int) -> float:
    """All clients at once against one server with ``workers`` processes; returns visits/s."""
    total = sum(len(json.loads(gzip.decompress(b))["visits"]) for per in bodies for b in per)
    errors: list[str] = []
    with server_process(url, workdir, workers) as address:
        host, port = address.split(":")
        start = threading.Barrier(len(devices) + 1)

        def client(token: str, mine: list[bytes]) -> None:
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
            start.wait()
            for body in mine:
                conn.request("POST", "/api/v1/visits/batch", body, headers)
                response = conn.getresponse()
                answer = json.loads(response.read())
                if response.status != 200 or any(r["status"] != "created" for r in answer["results"]):
                    errors.append(f"{response.status}: {str(answer)[:200]}")
            conn.close()

        threads = [threading.Thread(target=client, args=(token, mine)) for (_, token), mine in zip(devices, bodies, strict=True)]
        for t in threads:
            t.start()
        start.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed batches, first: {errors[0]}")
    return total / elapsed


def run_one(kind: str, url: str, args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    engine = create_db_engine(url)
    upgrade(engine)
    places.add_checkpoint(engine, CHECKPOINT, "Chốt đo hiệu năng", PLACE, date(2026, 1, 1))
    cp_id = places.checkpoint(engine, CHECKPOINT)["id"]
    now = datetime.now(timezone.utc)
    results = []
    floor_device = enrolment.redeem(
        engine, enrolment.create_enroll_code(engine, CHECKPOINT, timedelta(hours=1), "http://x", "bench").code
    ).device_id
    auth = enrolment.DeviceAuth(floor_device, cp_id, CHECKPOINT)
    rules = IngestRules.from_settings(Settings())
    with engine.connect() as conn:
        district = district_of(conn, cp_id)
    rows = [
        {**visit_row(VisitIn.model_validate(kiosk_visit(i, now)), auth, now, rules), "district_id": district}
        for i in range(args.visits)
    ]
    one = {"db": kind, "clients": 1, "workers": 0}
    results.append({**one, "what": "floor: bare executemany", "visits_per_s": floor(url, rows, args.batch)})
    if kind == "postgresql":
        results.append({**one, "what": "floor: bare COPY", "visits_per_s": copy_floor(url, rows, args.batch)})
        for name, insert in MECHANISMS.items():
            results.append({**one, "what": name, "visits_per_s": mechanism(url, rows, args.batch, insert)})
    for workers, clients in itertools.product(args.workers if kind == "postgresql" else [1], args.clients):
        devices = []
        for _ in range(clients):
            made = enrolment.create_enroll_code(engine, CHECKPOINT, timedelta(hours=1), "http://x", "bench")
            answer = enrolment.redeem(engine, made.code)
            devices.append((answer.device_id, answer.token))
        per_client = args.visits // clients
        bodies = [
            [
                gzip.compress(json.dumps({"device_id": device_id, "visits": chunk}).encode(), 1)
                for chunk in batches_of([kiosk_visit(i, now) for i in range(per_client)], args.batch)
            ]
            for device_id, _ in devices
        ]
        speed = api(url, workdir, devices, bodies, workers)
        api_side = {"db": kind, "what": "API: POST /visits/batch", "clients": clients, "workers": workers}
        results.append({**api_side, "visits_per_s": speed})
    if kind == "postgresql":
        with engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT (SELECT count(*) FROM visits), (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                "WHERE inhparent = 'visits'::regclass), (SELECT count(*) FROM visit_keys), pg_total_relation_size('visit_keys')"
            ).one()
        visit_bytes, key_bytes = float(stored[1]) / stored[0], float(stored[3]) / stored[2]  # the floors stored visits without keys
        print(
            f"postgresql: {visit_bytes + key_bytes:.0f} bytes per stored visit: {visit_bytes:.0f} in its partition with"
            f" its indexes ({stored[0]} visits), {key_bytes:.0f} in visit_keys ({stored[2]} keys)"
        )
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=20_000, help="visits per measurement")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", default="1,4", help="comma-separated client counts")
    parser.add_argument("--workers", default="1", help="comma-separated server worker counts (PostgreSQL)")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    args.workers = [int(w) for w in args.workers.split(",")]
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else None
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="server-ingest-", dir=base) as tmp:
        workdir = Path(tmp)
        for kind in args.db.split(","):
            where = scratch_database("cps_bench") if kind == "postgresql" else nullcontext(f"sqlite:///{workdir / 'bench.sqlite3'}")
            with where as url:
                results += run_one(kind, url, args, workdir)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.visits} visits per row, batches of {args.batch}, machine: {os.cpu_count()} cores")
    for r in results:
        floors = {x["what"]: x["visits_per_s"] for x in results if x["db"] == r["db"] and x["what"].startswith("floor")}
        against = " ".join(f"{r['visits_per_s'] / v:.2f}× {k.removeprefix('floor: bare ')}" for k, v in floors.items())
        print(
            f"{r['db']:<11} {r['what']:<26} workers={r['workers'] or '-':<2} clients={r['clients']:<2} "
            f"{r['visits_per_s']:>9.0f} visits/s ({against})"
        )


if __name__ == "__main__":
    main()
