"""Waiting between tries: capped exponential backoff with jitter, and a pause a stop can cut short.

Jitter keeps a district's kiosks, all coming back online when the same mast does, from
retrying in step; the cap bounds how stale a kiosk gets during a long outage.
"""

from __future__ import annotations

import random
import threading
import time


class Backoff:
    def __init__(self, base_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        """Half the capped exponential step, plus a random share of the other half."""
        step = min(self.cap_s, self.base_s * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return step / 2 + self.rng.uniform(0, step / 2)

    def reset(self) -> None:
        self.attempt = 0


def pause(seconds: float, stop: threading.Event | None) -> bool:
    """Sleep, waking early when ``stop`` is set; True when stopped."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)
