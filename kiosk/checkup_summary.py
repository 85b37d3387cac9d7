"""The last check-up's tally (``doctor``: how many findings were ok, warn, fail), kept in
the data directory so the sync can report it to the district with the kiosk's health
(sync/health.py) without running a check-up of its own. A small module of its own: the
sync reads it on every pass and must not import the check-up's machinery to do so."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

Level = Literal["ok", "warn", "fail"]
LEVELS: tuple[Level, ...] = ("ok", "warn", "fail")
SUMMARY_FILE = "doctor-summary.json"


def keep_summary(data_dir: Path, counts: dict[Level, int]) -> None:
    """Best effort: a check-up run as another user, or on a full or read-only card, still reports."""
    try:
        temp = data_dir / f".{SUMMARY_FILE}.tmp"
        temp.write_text(json.dumps(counts), encoding="utf-8")
        temp.chmod(0o644)
        os.replace(temp, data_dir / SUMMARY_FILE)
    except OSError:
        pass


def last_summary(data_dir: Path) -> dict[Level, int] | None:
    try:
        found = json.loads((data_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or set(found) != set(LEVELS) or not all(isinstance(n, int) for n in found.values()):
        return None
    return found
