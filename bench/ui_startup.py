"""Touchscreen app start-up: launch → ready scan screen, and the app's peak memory.

Runs the real ``checkpoint-kiosk run --window`` (under SDL's offscreen driver unless a
display is given) with a fresh data directory, times from the process start to the
app's "app ready" log line (scan screen built, readers started, first status read
scheduled), reads the peak RSS (VmHWM) from /proc, and stops it with SIGTERM. Targets:
≤ 3 s and ≤ 150 MB on the project's machine.

    .venv/bin/python bench/ui_startup.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = str(Path(sys.executable).with_name("checkpoint-kiosk"))
READY = b"app ready"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(tmp: Path) -> tuple[float, float]:
    env = {**os.environ, "KIVY_HOME": str(tmp / "kivy"), "KIVY_NO_FILELOG": "1", "SDL_AUDIODRIVER": "dummy"}
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["SDL_VIDEODRIVER"] = "offscreen"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [CLI, "--set", f"storage.data_dir={tmp / 'data'}", "run", "--window"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        for line in proc.stdout:
            if READY in line:
                elapsed = time.perf_counter() - start
                break
        else:
            raise SystemExit(f"the app exited with {proc.wait()} before it was ready")
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    return elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(one_run(Path(tmp)))
    times = [t for t, _ in runs]
    rss = [r for _, r in runs]
    result = {
        "runs": args.runs,
        "ready_s_median": round(statistics.median(times), 3),
        "ready_s_max": round(max(times), 3),
        "peak_rss_mb_max": round(max(rss), 1),
    }
    print(
        json.dumps(result)
        if args.json
        else f"ready in {result['ready_s_median']} s (median of {args.runs}, max {result['ready_s_max']} s); "
        f"peak RSS {result['peak_rss_mb_max']} MB"
    )


if __name__ == "__main__":
    main()
