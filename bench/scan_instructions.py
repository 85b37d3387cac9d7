"""Scan path in instructions: the real scan path against the same floor, counted by callgrind.

``bench/scan_latency.py`` times the scan path against a bare SQLite commit; on a shared
machine its medians move by a tenth of a millisecond from run to run (other tenants' CPU
and fsyncs). Instructions do not: ``valgrind --tool=callgrind`` counts what the process
itself executes in user space, the same count for the same code, inputs and environment
whatever else the machine is doing (fsync waits and the kernel's work are not counted).
So this script answers "did a change make the scan path do less?" exactly, while the
latency bench answers "how long does a guard wait?".

It runs the same two sides as the latency bench, each in its own process under callgrind:

* the floor: ``Floor.run`` of scan_latency.py (one bare INSERT + COMMIT of a visit-shaped
  row with its seal, after the same idle turn a scan gets);
* the real path: ``ScanService.handle`` of distinct realistic payloads (the latency
  bench's generator: 70 % CCCD, 20 % phone, 10 % opaque) on a store holding a district
  key, with the idle turn of drivers/pipeline.py between scans;

and each side once more doing everything but the operation itself (setup, warm-up, the
idle turns, taking the prepared seal), so that the difference divided by N is the
instructions per operation. Real minus floor is the scan path's own work in instructions.

    .venv/bin/python bench/scan_instructions.py [--scans N] [--json]

Needs valgrind (Debian's package). About a minute per 1,000 scans and side on the VM of
bench/README.md; the four processes run two at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SIDES = ("floor", "real")
COLLECTED = re.compile(r"Collected : (\d+)")


def child(side: str, scans: int, operate: bool, base: Path) -> None:
    """One side, in this process: warm-up, then ``scans`` idle turns with (or without) the operation."""
    sys.path.insert(0, str(REPO / "bench"))
    from scan_latency import Floor, Payloads, Real, bench_key, floor_rows  # type: ignore[import-not-found]

    from kiosk.clock import LATEST
    from kiosk.config import Config
    from kiosk.scan import ScanService
    from kiosk.store import VisitStore
    from kiosk.trust import TrustStore

    LATEST.synchronised = False  # as in a running kiosk: the clock watch's answer (kiosk/clockwatch.py)
    warm = 100
    workdir = Path(tempfile.mkdtemp(prefix="scan-instructions-", dir=base))
    try:
        payloads = Payloads(20261207).mix(warm + scans)
        key = bench_key()
        if side == "floor":
            floor = Floor(workdir / "floor.sqlite3", key)
            rows = floor_rows(payloads, floor.device_id, key)
            sink: list[int] = []
            floor.run(rows[:warm], sink)
            if operate:
                floor.run(rows[warm:], sink)
            else:
                for _ in rows[warm:]:
                    floor.idle()
            floor.close()
            return
        config = Config.model_validate({"storage": {"data_dir": str(workdir / "kiosk")}})
        store = VisitStore.in_dir(config.data_dir)
        store.set_district_key(key)
        service = ScanService(config, store, trust=TrustStore.empty())
        real = Real(service)
        done: list[int] = []
        real.run(payloads[:warm], done)
        if operate:
            real.run(payloads[warm:], done)
            if real.errors:
                raise SystemExit(f"{len(real.errors)} scans not accepted: {real.errors[:3]}")
        else:
            for _ in payloads[warm:]:  # the idle turn, and the prepared seal a scan takes (so the next turn refills it)
                while service.prepare_ahead():
                    pass
                store.next_visit()
        store.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def count(side: str, scans: int, operate: bool, base: Path) -> int:
    """Instructions executed by one child process under callgrind."""
    argv = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        side,
        "--scans",
        str(scans),
        "--dir",
        str(base),
    ]
    if operate:
        argv.append("--operate")
    # One hash seed for every child: string hashes steer dict probing, which moves the count
    # by several per cent between two runs of the same code.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{side} ({'with' if operate else 'without'} the operation) failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=1000, help="operations per side (default 1000)")
    parser.add_argument("--dir", help="where the temporary databases go (default: as scan_latency.py)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--operate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.scans, args.operate, Path(args.dir))
        return 0
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt install valgrind)")
    sys.path.insert(0, str(REPO / "bench"))
    from scan_latency import choose_base  # type: ignore[import-not-found]

    base = choose_base(args.dir)
    jobs = [(side, operate) for side in SIDES for operate in (False, True)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counted = dict(zip(jobs, pool.map(lambda job: count(job[0], args.scans, job[1], base), jobs), strict=True))
    per = {side: (counted[(side, True)] - counted[(side, False)]) / args.scans for side in SIDES}
    own = per["real"] - per["floor"]
    if args.json:
        print(json.dumps({"scans": args.scans, "floor": per["floor"], "real": per["real"], "own_work": own}))
        return 0
    print(f"instructions per operation (callgrind, user space), {args.scans} per side:")
    print(f"  floor: INSERT+COMMIT      {per['floor']:>10,.0f}")
    print(f"  real: ScanService.handle  {per['real']:>10,.0f}")
    print(f"  scan path's own work      {own:>10,.0f}  (real - floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
