"""Kiosk backlog sync: N pending visits to a loopback district server, next to the server's own limits.

For each backlog size (default 10,000 and 100,000), in one run, on one disk:

- sync: a real ``checkpoint-server serve`` process (SQLite file, rate limit lifted) and the
  real ``checkpoint-kiosk sync --json`` in a subprocess, with the kiosk's default batch of
  500; the kiosk's store was filled with N pending CCCD visits (the server benchmark's
  visit shape) in one bulk transaction beforehand. Timed from process start to exit, so
  the kiosk's start-up counts; peak RSS of that process (``ru_maxrss``, taken by a small
  launcher so this process's memory does not leak into the figure); every visit must
  come back ``created`` and the server must hold exactly N.
- floor: bench/server_ingest.py's bare ``executemany`` of the same rows into a fresh
  server database: nothing can store visits faster on this disk.
- API: bench/server_ingest.py's single client POSTing pre-built gzip'd batches to a
  server process: the server's side of a sync with no kiosk work at all.

Targets: 100,000 visits in ≤ 20 s, kiosk peak RSS ≤ 150 MB, and RSS flat as the backlog
grows (10k vs 100k). Usage:
    .venv/bin/python bench/sync_throughput.py [--visits 10000,100000] [--no-api] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.scan_latency import choose_base  # noqa: E402
from bench.server_ingest import CHECKPOINT, PLACE, api, batches_of, floor, kiosk_visit, server_process  # noqa: E402
from kiosk.store import VisitStore  # noqa: E402
from server import enrolment, places  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import create_db_engine  # noqa: E402
from server.ingest import IngestRules, count_visits, visit_row  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from sync.protocol import VisitIn  # noqa: E402

KIOSK = str(Path(sys.executable).with_name("checkpoint-kiosk"))
BATCH = 500  # the kiosk's default [server] batch_size


def fresh_server_db(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    upgrade(engine)
    places.add_checkpoint(engine, CHECKPOINT, "Chốt đo hiệu năng", PLACE, date(2026, 1, 1))
    engine.dispose()
    return url


def enroll_code(url: str, server_url: str) -> str:
    engine = create_db_engine(url)
    try:
        return enrolment.create_enroll_code(engine, CHECKPOINT, timedelta(hours=1), server_url, "bench").code
    finally:
        engine.dispose()


def kiosk_argv(data_dir: Path, *args: str) -> list[str]:
    return [KIOSK, "--set", f"storage.data_dir={data_dir}", *args]


def fill_backlog(data_dir: Path, visits: int, now: datetime) -> None:
    """N pending visits as the scan service stores them, in one transaction (a bench shortcut)."""
    with VisitStore.in_dir(data_dir) as store:
        device_id = store.device_id
        conn = store.db.conn
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO visits (id, checkpoint_code, device_id, direction, source, reader, kind, credential_key, fields, "
            "clear, scanned_at, monotonic_ns, boot_id, clock_synchronised) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, 1)",
            (
                (
                    v["id"],
                    v["checkpoint"],
                    device_id,
                    v["direction"],
                    v["source"],
                    v["reader"],
                    v["kind"],
                    v["id"],
                    json.dumps({"fields": v["fields"], "raw": None}, ensure_ascii=False, sort_keys=True),  # no key: in clear
                    v["scanned_at"],
                    v["monotonic_ns"],
                    v["boot_id"],
                )
                for v in (kiosk_visit(i, now) for i in range(visits))
            ),
        )
        conn.execute("COMMIT")


# A small launcher between this process and the kiosk: a forked child starts with its
# parent's resident pages counted in ru_maxrss, and this process holds the whole backlog.
LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[1:], stderr=subprocess.DEVNULL)
print(json.dumps({"code": code, "wall_s": time.perf_counter() - started,
                  "maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}), file=sys.stderr)
"""


def timed_sync(data_dir: Path) -> tuple[float, int, dict[str, Any]]:
    """Wall seconds, peak RSS in bytes and the --json summary of one ``checkpoint-kiosk sync``."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *kiosk_argv(data_dir, "sync", "--json")], capture_output=True)
    measured = json.loads(done.stderr.decode().strip().splitlines()[-1])
    summary = json.loads(done.stdout)
    if measured["code"] != 0:
        raise RuntimeError(f"sync exited {measured['code']}: {summary}")
    return measured["wall_s"], measured["maxrss"], summary


def run_size(visits: int, workdir: Path, with_api: bool) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    result: dict[str, Any] = {"visits": visits}
    url = fresh_server_db(workdir / f"sync-{visits}.sqlite3")
    data_dir = workdir / f"kiosk-{visits}" / "data"
    with server_process(url, workdir) as address:
        server_url = f"http://{address}"
        enrolled = subprocess.run(
            kiosk_argv(data_dir, "enroll", "--server", server_url, "--code", enroll_code(url, server_url)), capture_output=True
        )
        if enrolled.returncode != 0:
            raise RuntimeError(enrolled.stderr.decode())
        fill_backlog(data_dir, visits, now)
        elapsed, rss, summary = timed_sync(data_dir)
    engine = create_db_engine(url)
    stored = count_visits(engine)
    engine.dispose()
    if summary["created"] != visits or summary["pending"] or stored != visits:
        raise RuntimeError(f"not every visit arrived once: {summary}, server holds {stored}")
    result.update(sync_s=elapsed, sync_visits_per_s=visits / elapsed, kiosk_peak_rss_mb=rss / 2**20)

    floor_url = fresh_server_db(workdir / f"floor-{visits}.sqlite3")
    engine = create_db_engine(floor_url)
    floor_device = enrolment.redeem(engine, enroll_code(floor_url, "http://x"))
    auth = enrolment.DeviceAuth(floor_device.device_id, places.checkpoint(engine, CHECKPOINT)["id"], CHECKPOINT)
    engine.dispose()
    rules = IngestRules.from_settings(Settings())
    rows = [visit_row(VisitIn.model_validate(kiosk_visit(i, now)), auth, now, rules) for i in range(visits)]
    result["floor_visits_per_s"] = floor(floor_url, rows, BATCH)
    del rows
    if with_api:
        api_url = fresh_server_db(workdir / f"api-{visits}.sqlite3")
        engine = create_db_engine(api_url)
        api_device = enrolment.redeem(engine, enroll_code(api_url, "http://x"))
        engine.dispose()
        bodies = [
            gzip.compress(json.dumps({"device_id": api_device.device_id, "visits": chunk}).encode(), 1)
            for chunk in batches_of([kiosk_visit(i, now) for i in range(visits)], BATCH)
        ]
        result["api_visits_per_s"] = api(api_url, workdir, [(api_device.device_id, api_device.token)], [bodies])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", default="10000,100000", help="comma-separated backlog sizes")
    parser.add_argument("--no-api", action="store_true", help="skip the server-only API measurement")
    parser.add_argument("--dir", help="where the databases go (default: /var/tmp or beside the project, not tmpfs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sync-throughput-", dir=choose_base(args.dir)) as tmp:
        results = [run_size(int(n), Path(tmp), not args.no_api) for n in args.visits.split(",")]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"batches of {BATCH}, SQLite server, machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for r in results:
        api_part = f", server API alone {r['api_visits_per_s']:,.0f}/s" if "api_visits_per_s" in r else ""
        print(
            f"{r['visits']:>7,} visits: sync {r['sync_s']:.1f} s = {r['sync_visits_per_s']:,.0f} visits/s, "
            f"kiosk peak RSS {r['kiosk_peak_rss_mb']:.0f} MB (floor {r['floor_visits_per_s']:,.0f}/s{api_part})"
        )


if __name__ == "__main__":
    main()
