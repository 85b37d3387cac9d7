"""Time as evidence: wall clock, monotonic clock, boot id and whether the clock was synced.

A Raspberry Pi has no real-time clock: after a reboot without network its wall clock is
wrong until NTP answers. Every visit keeps the monotonic time and boot id beside the wall
time, so the sync step can later correct times taken before the first good sync.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_TIME_ERROR = 5  # adjtimex(2): clock not synchronised (STA_UNSYNC set)


@dataclass(frozen=True)
class ClockReading:
    wall: datetime  # aware, UTC
    monotonic_ns: int
    boot_id: str
    synchronised: bool


@dataclass(frozen=True)
class ClockAnchor:
    """A moment in one boot whose true wall time is known (from the server, or a synced clock).

    The monotonic clock runs steadily through a boot, so it carries that true time to every
    other moment of the same boot: this is how a visit taken with a wrong clock is corrected.
    """

    boot_id: str
    monotonic_ns: int
    wall: datetime  # aware, UTC
    source: str  # "server", "ntp" or "visit"

    def wall_at(self, monotonic_ns: int) -> datetime:
        return self.wall + timedelta(microseconds=(monotonic_ns - self.monotonic_ns) // 1000)


class Clock(Protocol):
    def read(self) -> ClockReading: ...


@functools.cache
def boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return "unknown"


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None


def kernel_clock_synchronised() -> bool | None:
    """The kernel's own flag, set by timesyncd, chrony or ntpd; None when it cannot be read."""
    libc = _libc()
    if libc is None:
        return None
    timex = ctypes.create_string_buffer(512)  # struct timex, modes=0: read-only query
    state = libc.adjtimex(timex)
    return None if state < 0 else state != _TIME_ERROR


def clock_synchronised() -> bool:
    if TIMESYNC_FLAG.exists():
        return True
    return bool(kernel_clock_synchronised())


class SystemClock:
    """The real clocks of this machine."""

    def read(self) -> ClockReading:
        return ClockReading(
            wall=datetime.now(timezone.utc),
            monotonic_ns=time.monotonic_ns(),
            boot_id=boot_id(),
            synchronised=clock_synchronised(),
        )
