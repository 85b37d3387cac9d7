"""Serial latency: a line written by a serial reader → the visit committed, against the floor.

A pty pair stands in for a USB-CDC reader. Each scan is written to the pty's master side
as the reader would send it (UTF-8, CRLF); the kiosk's real path reads it: pyserial and
the framer in ``SerialSource``, the queue, the consumer thread, ``ScanService.handle``
(recognise, repeat check, INSERT, COMMIT with ``synchronous=FULL``) and the result
callback. The time is taken in that callback, after ``handle`` returned the committed
visit. Scans are sent one at a time (the next after the previous one's result), the way
a guard scans.

The floor is ``bench/scan_latency.py``'s: a bare sqlite3 INSERT + COMMIT of a
visit-shaped row with the same schema and pragmas, in the same run and on the same disk,
measured in blocks alternating with the serial side. Target: serial p99 ≤ 20 ms.

    .venv/bin/python bench/serial_latency.py [--scans N] [--blocks B] [--dir PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.scan_latency import VOLATILE_FS, Floor, Payloads, choose_base, environment, floor_rows, mount_of, summarise  # noqa: E402
from drivers.pipeline import Pipeline  # noqa: E402
from drivers.source import SourceState  # noqa: E402
from kiosk.config import Config  # noqa: E402
from kiosk.scan import ScanEvent, ScanResult, ScanService  # noqa: E402
from kiosk.store import VisitStore  # noqa: E402
from tests.ptyscanner import PtyScanner  # noqa: E402

TARGET_P99_MS = 20.0
RESULT_TIMEOUT_S = 10.0


class SerialSide:
    """The kiosk's pipeline with one serial reader on a pty; ``run`` times written → committed."""

    def __init__(self, workdir: Path) -> None:
        self.scanner = PtyScanner(workdir / "scanner")
        self.config = Config.model_validate(
            {
                "storage": {"data_dir": str(workdir / "kiosk")},
                "scanners": {"serial": {"enabled": True, "port": str(self.scanner.link)}},
            }
        )
        self.store = VisitStore.in_dir(self.config.data_dir)
        self.pipeline = Pipeline(self.config, ScanService(self.config, self.store), self._done)
        self.errors: list[str] = []
        self._sent_ns = 0
        self._elapsed_ns = 0
        self._result = threading.Event()

    def start(self) -> None:
        self.pipeline.start()
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while self.pipeline.statuses()[0].state is not SourceState.CONNECTED:
            if time.monotonic() > deadline:
                raise SystemExit(f"serial reader never connected: {self.pipeline.statuses()[0]}")
            time.sleep(0.01)

    def _done(self, event: ScanEvent, result: ScanResult) -> None:
        self._elapsed_ns = time.perf_counter_ns() - self._sent_ns
        if result.status != "accepted":
            self.errors.append(f"{result.status} ({result.reason_code}), {event.source}")
        self._result.set()

    def run(self, payloads: list[str], out: list[int]) -> None:
        for text in payloads:
            line = text.encode() + b"\r\n"
            self._result.clear()
            self._sent_ns = time.perf_counter_ns()
            self.scanner.write(line)
            if not self._result.wait(RESULT_TIMEOUT_S):
                raise SystemExit("a scan written to the reader produced no result")
            out.append(self._elapsed_ns)

    def close(self) -> None:
        self.pipeline.stop()
        self.store.close()
        self.scanner.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=2000, help="measured scans per side (default 2000, at least 1000)")
    parser.add_argument("--blocks", type=int, default=10, help="alternating blocks per side (default 10)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up operations per side (default 50)")
    parser.add_argument("--dir", help="put the databases under PATH (default: /var/tmp or the repo's parent)")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--json", action="store_true", help="results as JSON on stdout (the table goes to stderr)")
    args = parser.parse_args(argv)
    if args.scans < 1000 or args.blocks < 1 or args.scans < args.blocks:
        parser.error("--scans must be at least 1000 and at least --blocks")
    show = (lambda *a: print(*a, file=sys.stderr)) if args.json else print

    workdir = Path(tempfile.mkdtemp(prefix="serial-latency-", dir=choose_base(args.dir)))
    mount = mount_of(workdir)
    env = environment(workdir, mount)
    show(f"dir: {workdir}  (filesystem {mount.fstype} on {mount.source})")
    if mount.fstype in VOLATILE_FS:
        show(f"WARNING: {mount.fstype} is not a real disk; fsync is nearly free here and the figures mean little")
    n, warm = args.scans, args.warmup
    gen = Payloads(args.seed)
    serial_payloads, floor_payloads = gen.mix(warm + n), gen.mix(warm + n)
    serial = SerialSide(workdir)
    floor = Floor(workdir / "floor.sqlite3")
    try:
        rows = floor_rows(floor_payloads, floor.device_id)
        serial.start()
        sink: list[int] = []
        floor.run(rows[:warm], sink)
        serial.run(serial_payloads[:warm], sink)
        floor_ns: list[int] = []
        serial_ns: list[int] = []
        per_block = n // args.blocks
        started = time.monotonic()
        for b in range(args.blocks):
            lo = warm + b * per_block
            hi = warm + n if b == args.blocks - 1 else lo + per_block
            for side in ("floor", "serial") if b % 2 == 0 else ("serial", "floor"):
                if side == "floor":
                    floor.run(rows[lo:hi], floor_ns)
                else:
                    serial.run(serial_payloads[lo:hi], serial_ns)
        measured_s = time.monotonic() - started
    finally:
        serial.close()
        floor.close()
        shutil.rmtree(workdir, ignore_errors=True)

    floor_stats, serial_stats = summarise(floor_ns), summarise(serial_ns)
    verdict = "PASS" if serial_stats["p99"] <= TARGET_P99_MS else "MISS"
    show(f"{n} scans per side in {args.blocks} alternating blocks, {warm} warm-up each, {measured_s:.1f} s")
    show(f"{'':34}{'n':>6}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}  (ms)")
    for label, st in (("floor: INSERT+COMMIT", floor_stats), ("serial: written → committed", serial_stats)):
        show(f"{label:34}{st['n']:>6}{st['p50']:>9.3f}{st['p90']:>9.3f}{st['p99']:>9.3f}{st['max']:>9.3f}")
    show(
        f"serial − floor: p50 +{serial_stats['p50'] - floor_stats['p50']:.3f} ms, "
        f"p99 +{serial_stats['p99'] - floor_stats['p99']:.3f} ms"
    )
    show(f"target: serial p99 ≤ {TARGET_P99_MS:.0f} ms — {verdict}")
    if serial.errors:
        show(f"ERRORS: {len(serial.errors)} scans not accepted, e.g. {serial.errors[:5]}")
    if args.json:
        result: dict[str, Any] = {
            "environment": env,
            "scans": n,
            "blocks": args.blocks,
            "warmup": warm,
            "floor_ms": floor_stats,
            "serial_ms": serial_stats,
            "target_p99_ms": TARGET_P99_MS,
            "verdict": verdict,
            "errors": serial.errors,
        }
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        print()
    return 1 if serial.errors else 0


if __name__ == "__main__":
    sys.exit(main())
