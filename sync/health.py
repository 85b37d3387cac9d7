"""What a kiosk tells the district about itself with every batch and heartbeat
(``KioskHealth`` in sync/protocol.py): read from the store once per sync pass, so it
costs a few indexed reads, never a check-up of its own."""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from kiosk.checkup_summary import last_summary
from kiosk.clock import ClockReading
from kiosk.store import VisitStore
from sync.protocol import KioskHealth


def app_version() -> str | None:
    try:
        return version("checkpoint-kiosk")
    except PackageNotFoundError:
        return None


def clock_offset_s(before: ClockReading, after: ClockReading, server_time: datetime) -> float:
    """This kiosk's clock minus the server's, at the middle of the call that brought the server's time."""
    middle = before.wall + (after.wall - before.wall) / 2
    return round((middle - server_time).total_seconds(), 3)


def kiosk_health(store: VisitStore, now: datetime, offset_s: float | None) -> KioskHealth:
    """Counts from the store, and the last check-up's tally kept beside it (``doctor``)."""
    oldest = store.oldest_pending_at()
    return KioskHealth(
        pending=store.count("pending"),
        oldest_pending_s=max(int((now - oldest).total_seconds()), 0) if oldest else None,
        rejected=store.count("rejected"),
        app_version=app_version(),
        clock_offset_s=offset_s,
        doctor=last_summary(store.path.parent),
    )
