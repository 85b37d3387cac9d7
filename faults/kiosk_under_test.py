"""``checkpoint-kiosk`` with a fault injected into the process, for the campaign.

* ``FAULTS_SYNCHRONOUS=OFF`` makes the store skip every fsync (``PRAGMA synchronous = OFF``
  after the store opens): the negative control of the power-cut scenario, which must then
  lose acknowledged visits, or the campaign's check has no teeth.
* ``FAULTS_CLOCK_FILE=PATH``: the wall clock runs that many seconds (a number in the file,
  re-read at every reading) off the real one, so the campaign can jump it while the kiosk
  runs. The monotonic clock and the boot id stay true, as on a Raspberry Pi whose wall
  clock is set wrong (kiosk/clock.py's ``Clock`` protocol, ``SystemClock``).

Without either variable this is exactly ``checkpoint-kiosk``.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from pathlib import Path

import sqlite_utils

from kiosk.cli import main
from kiosk.clock import ClockReading, SystemClock
from kiosk.store import VisitStore


def _unsafe(synchronous: str) -> None:
    open_for_writing = VisitStore._open_for_writing

    def opened(self: VisitStore) -> sqlite_utils.Database:
        db = open_for_writing(self)
        db.conn.execute(f"PRAGMA synchronous = {synchronous}")
        return db

    VisitStore._open_for_writing = opened  # type: ignore[method-assign]


def _jumping(offset_file: Path) -> None:
    true_read = SystemClock.read

    def read(self: SystemClock) -> ClockReading:
        reading = true_read(self)
        try:
            offset = float(offset_file.read_text() or 0)
        except FileNotFoundError:
            offset = 0.0
        return dataclasses.replace(reading, wall=reading.wall + timedelta(seconds=offset))

    SystemClock.read = read  # type: ignore[method-assign]


if __name__ == "__main__":
    if synchronous := os.environ.get("FAULTS_SYNCHRONOUS"):
        _unsafe(synchronous)
    if clock_file := os.environ.get("FAULTS_CLOCK_FILE"):
        _jumping(Path(clock_file))
    main()
