"""Time as evidence: wall clock, monotonic clock, boot id and whether the clock was synced.

A Raspberry Pi has no real-time clock: after a reboot without network its wall clock is
wrong until NTP answers. Every visit keeps the monotonic time and boot id beside the wall
time, so the sync step can later correct times taken before the first good sync.

Whether the clock is synchronised is asked in two ways. ``clock_status()`` asks the
time services themselves (subprocesses with short timeouts: for ``status``, ``doctor``
and the watcher of kiosk/clockwatch.py). ``SystemClock.read()`` runs on every scan and
must stay cheap: it takes the watcher's latest answer while one runs in this process,
else the timesyncd flag file and the kernel's flag (a stat and a syscall, no subprocess).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from kiosk import sdnotify

# The checkpoints' local time, for days and for what people read (Vietnam: one zone, no DST).
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_TIME_ERROR = 5  # adjtimex(2): clock not synchronised (STA_UNSYNC set)
PROBE_TIMEOUT_S = 2.0  # per time service asked; a hung daemon must not hang status or doctor
CLOCK_SOURCES = ("timedatectl", "chrony", "timesyncd", "kernel", "none")


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
    state = libc.adjtimex(ctypes.create_string_buffer(512))  # struct timex, modes=0: read-only query
    return None if state < 0 else state != _TIME_ERROR


@dataclass(frozen=True)
class ClockStatus:
    """Whether the wall clock is synchronised, who said so, and what exactly they said."""

    synchronised: bool | None  # None: no source could tell
    source: str  # one of CLOCK_SOURCES
    detail: str  # the answer as given, for admins and logs (English, no personal data)


def _ask(argv: tuple[str, ...], timeout_s: float) -> str | None:
    """The output of a command that answered (exit 0) in time; None when absent, failing or slow."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, check=False, env=sdnotify.child_environment()
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _timedatectl(timeout_s: float) -> ClockStatus | None:
    """systemd's view (timedated reads the kernel flag that any NTP daemon sets): ``yes`` or
    ``no``. Needs systemd as PID 1; elsewhere it fails and the next source is asked."""
    answer = (_ask(("timedatectl", "show", "-p", "NTPSynchronized", "--value"), timeout_s) or "").strip()
    if answer in ("yes", "no"):
        return ClockStatus(answer == "yes", "timedatectl", f"NTPSynchronized={answer}")
    return None


def _chrony(timeout_s: float) -> ClockStatus | None:
    """chronyd's own view: ``Leap status`` is ``Normal`` (or a pending leap second) once it
    follows a source, ``Not synchronised`` before. Fails when chronyd is not running."""
    for line in (_ask(("chronyc", "-n", "tracking"), timeout_s) or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Leap status":
            leap = value.strip()
            return ClockStatus(leap != "Not synchronised", "chrony", f"Leap status: {leap}")
    return None


def _timesyncd() -> ClockStatus | None:
    """systemd-timesyncd creates this file at its first sync of a boot; its absence says
    nothing (another daemon may keep the time), so only its presence is an answer."""
    return ClockStatus(True, "timesyncd", f"{TIMESYNC_FLAG} exists") if TIMESYNC_FLAG.exists() else None


def _kernel() -> ClockStatus | None:
    """The kernel's STA_UNSYNC flag (adjtimex), cleared by whichever NTP daemon disciplines the clock."""
    synced = kernel_clock_synchronised()
    if synced is None:
        return None
    return ClockStatus(synced, "kernel", "adjtimex: " + ("synchronised" if synced else "TIME_ERROR (STA_UNSYNC)"))


def clock_status(timeout_s: float = PROBE_TIMEOUT_S) -> ClockStatus:
    """Ask timedatectl, then chrony, then the timesyncd flag file, then the kernel; the first
    that can tell wins. Blocking (subprocesses, up to ``timeout_s`` each): never on a scan."""
    for ask in (lambda: _timedatectl(timeout_s), lambda: _chrony(timeout_s), _timesyncd, _kernel):
        status = ask()
        if status is not None:
            return status
    return ClockStatus(None, "none", "no time service answered")


class _Latest:
    """The clock watcher's latest answer in this process; None while no watcher has one."""

    synchronised: bool | None = None


LATEST = _Latest()


def clock_synchronised() -> bool:
    """Cheap, for every scan: the watcher's latest answer, else the flag file and the kernel."""
    watched = LATEST.synchronised
    if watched is not None:
        return watched
    # Either says yes: the kernel's flag first, one syscall (the flag file's stat is the slower ask).
    return bool(kernel_clock_synchronised()) or os.path.exists(TIMESYNC_FLAG)


class SystemClock:
    """The real clocks of this machine."""

    def read(self) -> ClockReading:
        return ClockReading(
            wall=datetime.now(timezone.utc),
            monotonic_ns=time.monotonic_ns(),
            boot_id=boot_id(),
            synchronised=clock_synchronised(),
        )
