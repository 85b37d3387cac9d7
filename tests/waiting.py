"""Waiting for something that must happen, without turning its speed into a test threshold."""

from __future__ import annotations

import time
from collections.abc import Callable

WAIT_S = 15.0  # generous: how long a test may wait, never how fast the kiosk must be


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
