"""Watch the clock's synchronisation while the kiosk runs, and keep the moment it became true.

A Pi that boots without network records visits with a wrong clock; when NTP later sets
the clock, the first synchronised reading of the boot is a known-true time. Stored as an
"ntp" anchor, it lets the sync path correct every earlier visit of the same boot even if
the server is never reached from this kiosk (a USB-only checkpoint).

The watcher runs on its own daemon thread, not on Kivy's clock or the headless loop:
asking timedatectl or chronyc is a subprocess that may take up to its timeout, which the
UI's main thread and the readers' thread must never wait for; and one implementation
then serves the app, ``run --terminal`` and ``run --headless`` alike. Its latest answer
is what ``SystemClock.read()`` hands every scan (kiosk.clock.LATEST), so a scan costs no
more than before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from kiosk.clock import LATEST, Clock, ClockAnchor, ClockStatus, SystemClock, clock_status
from kiosk.store import StorageError

log = logging.getLogger(__name__)

CHECK_EVERY_S = 30.0


class AnchorStore(Protocol):
    def add_clock_anchor(self, anchor: ClockAnchor) -> None: ...


class ClockWatch:
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
        self.store = store
        self.interval_s = interval_s
        self.probe = probe
        self.clock = clock or SystemClock()
        self.on_change = on_change
        self.status: ClockStatus | None = None
        self._anchored = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="clock-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop watching; scans go back to the cheap flag-file and kernel check."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        LATEST.synchronised = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            self._stop.wait(self.interval_s)

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
