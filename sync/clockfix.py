"""Correcting scan times taken while the kiosk's clock was wrong (a Pi without RTC, rebooted offline).

Every answer from the server carries its time. Kept with the monotonic reading around the
call, it is an anchor: the true wall time at one moment of this boot. The monotonic clock
runs steadily through a boot, so the anchor gives every visit of the same boot its true
time. Visits keep their original ``scanned_at``; the corrected one is sent beside it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from kiosk.clock import ClockAnchor, ClockReading
from kiosk.store import Outgoing, VisitStore, iso


def keep_server_time(store: VisitStore, before: ClockReading, after: ClockReading, server_time: datetime) -> None:
    """Record the server's time as this boot's anchor, at the middle of the call that brought it."""
    if before.boot_id == after.boot_id:
        middle = (before.monotonic_ns + after.monotonic_ns) // 2
        store.add_clock_anchor(ClockAnchor(after.boot_id, middle, server_time.astimezone(timezone.utc), "server"))


class Corrections:
    """Corrected scan times for one pass, each boot's anchor looked up once.

    A boot keeps its first anchor for good, so a retried or exported visit always gets the
    same corrected time.
    """

    def __init__(self, store: VisitStore) -> None:
        self.store = store
        self._anchors: dict[str, ClockAnchor | None] = {}

    def corrected_at(self, visit: Outgoing) -> str | None:
        if visit.clock_synchronised:
            return None
        if visit.boot_id not in self._anchors:
            self._anchors[visit.boot_id] = self.store.clock_anchor(visit.boot_id)
        anchor = self._anchors[visit.boot_id]
        return iso(anchor.wall_at(visit.monotonic_ns)) if anchor else None
