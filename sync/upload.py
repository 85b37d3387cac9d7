"""One sync pass: pending visits, oldest first, to the server in batches, each answer applied at once.

What each kind of trouble does:
- a visit the server rejects is kept with the server's code and reason, and never resent
  by itself; the rest of its batch goes through (per-visit answers);
- 413: the batch is split in halves until it fits; a single visit too large for any batch
  is rejected here, with a reason, so it never blocks the queue;
- 429: wait as long as Retry-After says, then try again;
- no answer, a cut-off answer, a 5xx: try again after a capped, jittered backoff; when the
  tries run out and the health probe fails too, the server is down and the pass ends;
  when the probe succeeds, the batch itself breaks the server: it is split, and a single
  visit that still fails is left pending for a later pass while the queue moves on;
- 401/403: stop at once, the device must be enrolled again.
A cursor over the local sequence walks the queue, so a pass ends even when visits stay pending.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kiosk.clock import Clock
from kiosk.config import ServerConfig
from kiosk.enrolment import Enrolment
from kiosk.messages import render
from kiosk.store import Delivery, Outgoing, VisitStore
from sync.backoff import Backoff, pause
from sync.client import RateLimited, ServerClient, TooLarge, Transient
from sync.clockfix import Corrections, keep_server_time
from sync.errors import SyncError
from sync.protocol import VisitResult
from sync.wire import batch_body, wire_visit

T = TypeVar("T")
BACKOFF_BASE_S = 0.5


@dataclass
class Tally:
    sent: int = 0
    created: int = 0
    duplicate: int = 0
    rejected: int = 0

    def count(self, statuses: list[str]) -> None:
        """Add the server's answers (created, duplicate, rejected) for visits just applied."""
        self.sent += len(statuses)
        self.created += statuses.count("created")
        self.duplicate += statuses.count("duplicate")
        self.rejected += statuses.count("rejected")


def delivery(result: VisitResult, corrected_at: str | None = None) -> Delivery:
    """The server's verdict as the store keeps it: created or duplicate are both delivered."""
    if result.status == "rejected":
        return Delivery(result.id, "rejected", result.code or "rejected", result.reason or "", corrected_at)
    return Delivery(result.id, "synced", corrected_at=corrected_at)


def too_large(visit_id: str) -> VisitResult:
    reason = f"{render('visit_too_large', 'vi')} ({render('visit_too_large', 'en')})"
    return VisitResult(id=visit_id, status="rejected", code="visit_too_large", reason=reason)


class UploadPass:
    def __init__(self, store: VisitStore, client: ServerClient, enrolment: Enrolment, settings: ServerConfig,
                 clock: Clock, *, on_batch: Callable[[Tally], None] | None = None,
                 stop: threading.Event | None = None, rng: random.Random | None = None) -> None:
        self.store = store
        self.client = client
        self.enrolment = enrolment
        self.settings = settings
        self.clock = clock
        self.on_batch = on_batch
        self.stop = stop
        self.rng = rng or random.Random()
        self.tally = Tally()
        self.left_behind: SyncError | None = None  # why a visit was left pending while the queue moved on

    def run(self) -> None:
        """Deliver every pending visit; SyncError when the pass has to end early."""
        before = self.clock.read()
        try:
            server_time = self._retrying(self.client.health)
        except Transient as exc:
            raise self._failure(exc) from None
        keep_server_time(self.store, before, self.clock.read(), server_time)
        corrections = Corrections(self.store)
        cursor = 0
        while True:
            self._check_stop()
            visits = self.store.pending_after(cursor, self.settings.batch_size)
            if not visits:
                break
            self._deliver(visits, [corrections.corrected_at(v) for v in visits])
            cursor = visits[-1].seq
        if self.left_behind is not None:
            raise self.left_behind

    def _deliver(self, visits: list[Outgoing], corrected: list[str | None]) -> None:
        body = batch_body(self.enrolment.device_id, [wire_visit(v, c) for v, c in zip(visits, corrected, strict=True)])
        try:
            answer = self._retrying(lambda: self.client.upload(self.enrolment.token, body))
        except TooLarge:
            if len(visits) == 1:
                self._apply(visits, corrected, [too_large(visits[0].id)])
            else:
                self._split(visits, corrected)
            return
        except Transient as exc:
            if exc.status is None or exc.status < 500 or not self._server_up():
                raise self._failure(exc) from None
            if len(visits) > 1:  # the server is up but fails on this batch: find the visit that breaks it
                self._split(visits, corrected)
            else:
                self.left_behind = self._failure(exc)
            return
        self._apply(visits, corrected, answer.results)

    def _split(self, visits: list[Outgoing], corrected: list[str | None]) -> None:
        half = len(visits) // 2
        self._deliver(visits[:half], corrected[:half])
        self._deliver(visits[half:], corrected[half:])

    def _apply(self, visits: list[Outgoing], corrected: list[str | None], results: list[VisitResult]) -> None:
        """All of a batch's answers in one local transaction; a visit without an answer stays pending."""
        answers = {r.id: r for r in results}
        applied = [(answers[v.id], when) for v, when in zip(visits, corrected, strict=True) if v.id in answers]
        self.store.apply_deliveries([delivery(result, when) for result, when in applied], self.clock.read().wall)
        self.tally.count([result.status for result, _ in applied])
        if self.on_batch is not None:
            self.on_batch(self.tally)

    def _retrying(self, call: Callable[[], T]) -> T:
        """``call`` until it answers; Transient once ``retries`` more tries have failed."""
        backoff = Backoff(BACKOFF_BASE_S, self.settings.backoff_max_s, self.rng)
        attempt = 0
        while True:
            self._check_stop()
            try:
                return call()
            except RateLimited as exc:
                if attempt >= self.settings.retries:
                    raise Transient("server_error", 429) from None
                delay = exc.retry_after_s
            except Transient:
                if attempt >= self.settings.retries:
                    raise
                delay = backoff.next_delay()
            if pause(delay, self.stop):
                raise SyncError("sync_cancelled")
            attempt += 1

    def _failure(self, exc: Transient) -> SyncError:
        return SyncError(exc.code, server=self.client.base_url, status=exc.status)

    def _server_up(self) -> bool:
        try:
            self.client.health()
        except (Transient, SyncError):
            return False
        return True

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise SyncError("sync_cancelled")
