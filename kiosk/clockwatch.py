"""Watch the clock's synchronisation while the kiosk runs, and keep the moment it became true.

A Pi that boots without network records visits with a wrong clock; when NTP later sets
the clock, the first synchronised reading of the boot is a known-true time. Stored as an
"ntp" anchor, it lets the sync path correct every earlier visit of the same boot even if
the server is never reached from this kiosk (a USB-only checkpoint).

The watcher runs on its own daemon thread (kiosk/periodic.py), not on Kivy's clock or the
headless loop: asking timedatectl or chronyc is a subprocess that may take up to its
timeout, which the UI's main thread and the readers' thread must never wait for. Its latest answer
is what ``SystemClock.read()`` hands every scan (kiosk.clock.LATEST), so a scan costs no
more than before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from kiosk.clock import LATEST, Clock, ClockAnchor, ClockStatus, SystemClock, clock_status
from kiosk.periodic import Periodic
from kiosk.store import StorageError

log = logging.getLogger(__name__)

CHECK_EVERY_S = 30.0


class AnchorStore(Protocol):
    def add_clock_anchor(self, anchor: ClockAnchor) -> None: ...


class ClockWatch(Periodic):
    """Re-check ``probe()`` every ``interval_s``; ``on_change(status)`` (on the watcher's
    thread) whenever the answer changes, and at the first one."""

    def __init__(
        self,
        store: AnchorStore,
        *,
        interval_s: float = CHECK_EVERY_S,
        probe: Callable[[], ClockStatus] = clock_status,
        clock: Clock | None = None,
        on_change: Callable[[ClockStatus], None] | None = None,
    ) -> None:
        super().__init__("clock-watch", interval_s)
        self.store = store
        self.probe = probe
        self.clock = clock or SystemClock()
        self.on_change = on_change
        self.status: ClockStatus | None = None
        self._anchored = False

    def stop(self) -> None:
        """Stop watching; scans go back to the cheap flag-file and kernel check."""
        super().stop()
        LATEST.synchronised = None

    def tick(self) -> ClockStatus:
        return self.check()

    def check(self) -> ClockStatus:
        """Ask once, publish the answer to this process's scans, anchor the boot once synced."""
        status = self.probe()
        previous, self.status = self.status, status
        LATEST.synchronised = status.synchronised
        if status.synchronised and not self._anchored:
            self._anchor()
        if self.on_change is not None and (previous is None or previous.synchronised != status.synchronised):
            self.on_change(status)
        return status

    def _anchor(self) -> None:
        """A synchronised reading is a true time for this boot; the store keeps a boot's first anchor."""
        reading = self.clock.read()
        try:
            self.store.add_clock_anchor(ClockAnchor(reading.boot_id, reading.monotonic_ns, reading.wall, "ntp"))
        except StorageError as exc:  # a full disk now: try again at the next check
            log.warning("clock anchor not stored (%s); will retry", exc.code)
            return
        self._anchored = True
