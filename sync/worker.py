"""The background sync of ``run --terminal``, ``run --headless`` and the touchscreen app.

Started last and stopped first by the kiosk runtime (drivers/runtime.py), through
``SyncService.start_background`` and ``SyncService.close``.

A sync pass every ``interval_s``; while the server cannot be reached, a cheap health probe
with backoff (up to ``probe_max_s`` apart) so the backlog goes out soon after the network
comes back rather than at the next interval. Between passes, while visits wait to be sent,
the same probe every ``HEALTH_EVERY_S`` (or ``probe_max_s`` if shorter), so the guard's
screen says the server is away within seconds of it going, not at the next pass (up to
``interval_s`` later); a kiosk with nothing waiting sends nothing. A daemon thread: it never runs on the scan
path, and stopping the kiosk never waits for a slow network (an interrupted pass is as
safe as a pulled plug: every batch's answers are applied in one transaction).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING

from kiosk.catalog import bilingual
from sync.backoff import Backoff, pause
from sync.errors import OFFLINE_CODES
from sync.upload import rejected_line

if TYPE_CHECKING:
    from sync.service import SyncService, SyncSummary

log = logging.getLogger("checkpoint_kiosk.sync")
PROBE_BASE_S = 1.0
HEALTH_EVERY_S = 10.0  # one GET /health per kiosk with a backlog: the screen may say "online" this long after it stopped
JOIN_S = 5.0


class BackgroundSync:
    def __init__(self, service: SyncService, rng: random.Random | None = None) -> None:
        self.service = service
        self.rng = rng or random.Random()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> bool:
        """Stop and wait a little; False when a pass is still waiting on the network (the
        thread is a daemon: it ends with the process, as safely as a pulled plug)."""
        self._stop.set()
        self._thread.join(JOIN_S)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                summary = self.service.sync(stop=self._stop, wait=False)
            except Exception:  # a bug must not end automatic delivery: say so and try again later
                log.exception("sync pass failed")
                summary = None
            if summary is not None:
                _log(summary)
            if summary is not None and summary.error in OFFLINE_CODES:
                self._wait_for_server()
            elif not self._watch(self.service.config.server.interval_s):
                self._wait_for_server()  # it went away between passes: sync as soon as it is back

    def _watch(self, seconds: float) -> bool:
        """Wait ``seconds`` for the next pass, probing the server while visits wait; False as soon
        as a probe fails (the probe has marked the kiosk offline)."""
        deadline = time.monotonic() + seconds
        every = min(HEALTH_EVERY_S, self.service.config.server.probe_max_s)
        while (left := deadline - time.monotonic()) > 0:
            if self._stop.wait(min(left, every)):
                return True
            if time.monotonic() < deadline and self.service.store.count("pending") and not self.service.probe():
                return False
        return True

    def _wait_for_server(self) -> None:
        backoff = Backoff(PROBE_BASE_S, self.service.config.server.probe_max_s, self.rng)
        while not pause(backoff.next_delay(), self._stop):
            if self.service.probe():
                log.info("%s: syncing now", bilingual("server reachable again"))
                return


def _log(summary: SyncSummary) -> None:
    """One line per pass that did something or failed; never personal data."""
    counts = (
        f"sent {summary.sent} (created {summary.created}, duplicate {summary.duplicate}, "
        f"rejected {summary.rejected}), pending {summary.pending}"
    )
    if summary.error in ("sync_busy", "sync_cancelled"):
        return
    if summary.failure is not None:
        log.warning("%s (%s); %s", summary.failure.message("vi"), summary.failure.message("en"), counts)
    elif summary.sent:
        log.info("sync: %s", counts)
    if summary.rejected:  # the store has numbered them: the screen shows them until an admin has looked
        log.warning("%s", rejected_line(summary.rejections))
