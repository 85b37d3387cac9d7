"""Retention that happens: the running kiosk purges on a schedule, not only when asked.

Delivered visits go after ``storage.retention_days`` and rejected ones after
``storage.rejected_retention_days``; pending visits never (``VisitStore.purge``). The
schedule is one daemon thread of the running kiosk, started by drivers/runtime.py after
the clock watch and before the readers: one pass at start (a kiosk switched off for a
month catches up at once), then every ``PURGE_EVERY_S``.

It lives here, beside the clock watch, and not in the background sync (sync/worker.py),
because purging is the store's business, not delivery's: a kiosk synced only by USB, one
run without the sync client, or one whose server has been away for weeks (the sync
thread then sits in its backoff) must still forget on time; and the core needs no network
for it. The purge takes the store's write lock one batch at a time, so a scan waits at
most one batch.

The kiosk's wall clock decides the age. A Pi without network boots with the last saved
time (fake-hwclock), behind the truth, never ahead: a wrong clock purges late, not early.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.clock import LOCAL_TZ
from kiosk.config import StorageConfig
from kiosk.periodic import Periodic
from kiosk.store import Purged, PurgeRecord, StorageError

log = logging.getLogger(__name__)

PURGE_EVERY_S = 3600.0


class RetentionSchedule(Periodic):
    """Call ``purge()`` now and every ``interval_s`` on a daemon thread until ``stop``."""

    def __init__(self, purge: Callable[[], Purged], *, interval_s: float = PURGE_EVERY_S) -> None:
        super().__init__("retention", interval_s)
        self.purge = purge

    def tick(self) -> Purged | None:
        return self.run_once()

    def run_once(self) -> Purged | None:
        """One pass; None when the store refused it (a full disk: the next pass tries again)."""
        try:
            purged = self.purge()
        except StorageError as exc:
            log.warning("retention: purge not done (%s); will retry", exc.code)
            return None
        except Exception:  # a bug must not end retention for good: say so and try at the next pass
            log.exception("retention: purge failed")
            return None
        if purged.synced or purged.rejected:  # counts only: never personal data in a log
            log.info("retention: purged %d delivered and %d rejected visits", purged.synced, purged.rejected)
        return purged


@dataclass(frozen=True)
class RetentionReport:
    """What retention has done, for ``status``, ``doctor`` and the admin's Sync panel:
    ``data`` for JSON, ``code`` and ``params`` for the sentence (kiosk/messages.py)."""

    data: dict[str, Any]
    code: str
    params: dict[str, Any]


def retention_report(record: PurgeRecord, storage: StorageConfig) -> RetentionReport:
    limits = {"days": storage.retention_days, "rejected_days": storage.rejected_retention_days}
    data: dict[str, Any] = {
        "retention_days": storage.retention_days,
        "rejected_retention_days": storage.rejected_retention_days,
        "last_purge_at": record.last_at.isoformat() if record.last_at else None,
        "last_purged": record.last._asdict(),
        "purged_total": record.total._asdict(),
    }
    if record.last_at is None:
        return RetentionReport(data, "retention_never", limits)
    params = {
        "synced_total": record.total.synced,
        "rejected_total": record.total.rejected,
        "last": f"{record.last_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
        "last_synced": record.last.synced,
        "last_rejected": record.last.rejected,
    }
    return RetentionReport(data, "retention_record", {**limits, **params})
