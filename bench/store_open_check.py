"""What a corruption check costs when the kiosk opens its store, on a realistic 100k-visit file.

The store checks its database at open so that a damaged file is moved aside before the
kiosk records into it (kiosk/store.py). This script builds a store of N visits (CCCD rows
with Vietnamese names, the real schema and pragmas), then times, on one warm file:

* opening the store as the kiosk does (its read-only ``quick_check``, then connect,
  pragmas, migration check, device id);
* ``PRAGMA quick_check`` alone (pages, records, free list; no index cross-check);
* ``PRAGMA integrity_check`` (also every index against its table), for comparison.

    .venv/bin/python bench/store_open_check.py [--visits N] [--dir PATH] [--repeat R] [--json]

Files go into a temporary directory on the project's disk, removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from kiosk.store import DB_NAME, VisitStore

NAME = "Nguyễn Thị Ánh Tuyết"
ADDRESS = "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước"


def build(path: Path, visits: int) -> None:
    VisitStore(path).close()  # the real schema
    fields = json.dumps({"name": NAME, "address": ADDRESS, "date_of_birth": "1985-07-14", "sex": "Nữ"}, ensure_ascii=False)
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO visits (id, checkpoint_code, device_id, direction, source, reader, kind, credential_key, fields, raw, "
            "scanned_at, monotonic_ns, boot_id, clock_synchronised) VALUES (?, 'DNO-DG-01', 'dev', 'in', 'serial', "
            "'/dev/ttyACM0', 'cccd', ?, ?, ?, ?, ?, 'boot', 1)",
            (
                (
                    str(uuid.uuid4()),
                    f"cccd:{n:012d}",
                    fields,
                    f"{n:012d}||{NAME}|14071985|Nữ|{ADDRESS}|10052021",
                    f"2026-11-{1 + n % 28:02d}T08:00:00.000000+00:00",
                    n,
                )
                for n in range(visits)
            ),
        )
    conn.close()


def timed(action, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def pragma(path: Path, name: str) -> None:
    conn = sqlite3.connect(path)
    assert conn.execute(f"PRAGMA {name}").fetchone()[0] == "ok"
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / DB_NAME
        build(path, args.visits)
        figures = {
            "visits": args.visits,
            "file_mib": round(path.stat().st_size / 2**20, 1),
            "store_open_s": timed(lambda: VisitStore(path).close(), args.repeat),
            "quick_check_s": timed(lambda: pragma(path, "quick_check"), args.repeat),
            "integrity_check_s": timed(lambda: pragma(path, "integrity_check"), args.repeat),
            "machine": f"{platform.machine()} {platform.python_version()} sqlite {sqlite3.sqlite_version}",
        }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:>18}: {value:.3f}" if isinstance(value, float) else f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
