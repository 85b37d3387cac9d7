"""``checkpoint-kiosk`` with a fault injected into the process, for the campaign's controls.

``FAULTS_SYNCHRONOUS=OFF`` makes the store skip every fsync (``PRAGMA synchronous = OFF``
after the store opens): the negative control of the power-cut scenario, which must then
lose acknowledged visits, or the campaign's check has no teeth. Without the variable this
is exactly ``checkpoint-kiosk``.
"""

from __future__ import annotations

import os

import sqlite_utils

from kiosk.cli import main
from kiosk.store import VisitStore


def _unsafe(synchronous: str) -> None:
    open_for_writing = VisitStore._open_for_writing

    def opened(self: VisitStore) -> sqlite_utils.Database:
        db = open_for_writing(self)
        db.conn.execute(f"PRAGMA synchronous = {synchronous}")
        return db

    VisitStore._open_for_writing = opened  # type: ignore[method-assign]


if __name__ == "__main__":
    if synchronous := os.environ.get("FAULTS_SYNCHRONOUS"):
        _unsafe(synchronous)
    main()
