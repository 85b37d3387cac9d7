"""CLI start-up: what a short ``checkpoint-kiosk`` / ``checkpoint-server`` command costs.

Each case runs the real console script of this venv as a subprocess, N times (default
10), and reports the median and minimum wall time (``time.perf_counter`` around the
whole subprocess, from spawn to exit) and the largest peak RSS of the N runs, each next
to the floor:

* floor: ``python -c pass`` with the same venv interpreter (the interpreter, ``site``
  and the venv's ``.pth`` files, which every console script also pays);
* ``checkpoint-kiosk --help``;
* ``checkpoint-kiosk status`` on a fresh data dir (``--set storage.data_dir=…``; the
  store is created by the untimed warm-up run, so the timed runs open an empty store);
* ``checkpoint-kiosk parse 0912345678`` (recognition only, nothing stored);
* ``checkpoint-server --help``.

Peak RSS is the child's ``ru_maxrss`` as ``/usr/bin/time -f %M`` reports it: a small C
process forks the command, so nothing of this Python process is counted. Without
``/usr/bin/time`` it falls back to ``os.wait4``'s rusage of the child, which can include
this process's own resident pages (a vfork'd child inherits its parent's high-water
mark), so the floor is then not a clean one.

Every case gets one untimed warm-up run (page cache, ``.pyc`` files); then the cases run
round-robin, one run of each per round, so host noise on a shared machine hits them all
alike. A case that exits non-zero is an error: the script prints its stderr and exits 1.

    .venv/bin/python bench/cli_startup.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
TIME = shutil.which("time", path="/usr/bin:/bin")


def cases(data_dir: Path) -> dict[str, list[str]]:
    kiosk = [str(BIN / "checkpoint-kiosk"), "--set", f"storage.data_dir={data_dir}"]
    return {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "checkpoint-kiosk --help": [str(BIN / "checkpoint-kiosk"), "--help"],
        "checkpoint-kiosk status": [*kiosk, "status"],
        "checkpoint-kiosk parse 0912345678": [*kiosk, "parse", "0912345678"],
        "checkpoint-server --help": [str(BIN / "checkpoint-server"), "--help"],
    }


def one_run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one run of ARGV."""
    if TIME:
        with tempfile.NamedTemporaryFile("r") as rss_file:
            started = time.perf_counter()
            done = subprocess.run([TIME, "-f", "%M", "-o", rss_file.name, *argv], capture_output=True)
            wall = time.perf_counter() - started
            rss_kb = int(rss_file.read().strip().splitlines()[-1])
    else:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate()  # reads until EOF; the child is then reaped by wait4 below
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done = subprocess.CompletedProcess(argv, proc.returncode, out, err)
        rss_kb = usage.ru_maxrss
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
    return wall, rss_kb * 1024


def measure(runs: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as tmp:
        todo = cases(Path(tmp) / "data")
        for argv in todo.values():  # warm-up; creates the status case's store
            one_run(argv)
        walls: dict[str, list[float]] = {name: [] for name in todo}
        rss: dict[str, list[int]] = {name: [] for name in todo}
        for _ in range(runs):
            for name, argv in todo.items():
                wall, peak = one_run(argv)
                walls[name].append(wall)
                rss[name].append(peak)
    return [
        {
            "case": name,
            "runs": runs,
            "median_ms": statistics.median(walls[name]) * 1000,
            "min_ms": min(walls[name]) * 1000,
            "max_rss_mb": max(rss[name]) / 2**20,
        }
        for name in todo
    ]


def table(rows: list[dict[str, Any]]) -> str:
    floor = rows[0]
    lines = [f"{'case':<36} {'median ms':>10} {'min ms':>8} {'median-floor':>13} {'max RSS MB':>11} {'RSS-floor':>10}"]
    for row in rows:
        lines.append(
            f"{row['case']:<36} {row['median_ms']:>10.0f} {row['min_ms']:>8.0f} "
            f"{row['median_ms'] - floor['median_ms']:>+13.0f} {row['max_rss_mb']:>11.1f} "
            f"{row['max_rss_mb'] - floor['max_rss_mb']:>+10.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per case (default 10)")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, the table on stderr")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    rows = measure(args.runs)
    rss_by = "/usr/bin/time -f %M" if TIME else "os.wait4 rusage (includes this process's pages)"
    head = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.runs} runs per case, peak RSS by {rss_by}"
    )
    out = sys.stderr if args.json else sys.stdout
    print(head, file=out)
    print(table(rows), file=out)
    if args.json:
        json.dump({"environment": head, "cases": rows}, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
