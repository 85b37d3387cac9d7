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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from kiosk.clock import Clock
from kiosk.config import ServerConfig
from kiosk.enrolment import Enrolment
from kiosk.messages import render, render_both
from kiosk.store import Delivery, Outgoing, VisitStore
from sync.backoff import Backoff, pause
from sync.client import RateLimited, ServerClient, TooLarge, Transient
from sync.clockfix import Corrections, keep_server_time
from sync.district_key import adopt
from sync.errors import SyncError
from sync.health import clock_offset_s, kiosk_health
from sync.notices import Notify, Retrying
from sync.protocol import BatchResponse, CardTrustWire, DistrictKeyInfo, KioskHealth, VisitResult
from sync.wire import batch_body, wire_visit

T = TypeVar("T")
BACKOFF_BASE_S = 0.5
SEE_REJECTED = "checkpoint-kiosk visits --rejected"


@dataclass
class Rejected:
    """This pass's rejections with one code: how many, and the server's words (never personal data).

    The codes are the server's (plus ``visit_too_large`` from here); none is listed on the
    kiosk, so a code the server adds shows as it is.
    """

    count: int = 0
    reasons: dict[str, None] = field(default_factory=dict)  # distinct, in the order they came

    @property
    def reason(self) -> str:
        return next(iter(self.reasons), "")


def rejected_line(rejections: Mapping[str, Rejected]) -> str:
    """One line for the CLI and the log: how many were rejected, each code (most first) with
    its count and the server's reason, and where to see them."""
    count = sum(group.count for group in rejections.values())
    groups = []
    for code, group in sorted(rejections.items(), key=lambda item: -item[1].count):
        text = f"{code} ×{group.count} — {group.reason}"
        if len(group.reasons) > 1:
            text += f" ({render_both('rejected_other_reasons', count=len(group.reasons) - 1)})"
        groups.append(text)
    return f"{render_both('sync_rejected_now', count=count)}: {'; '.join(groups)}. {see_rejected()}"


def see_rejected() -> str:
    return f"{render_both('see_rejected')}: {SEE_REJECTED}"


@dataclass
class Tally:
    sent: int = 0
    created: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejections: dict[str, Rejected] = field(default_factory=dict)  # by code

    def count(self, results: Sequence[VisitResult]) -> None:
        """Add the server's answers (created, duplicate, rejected) for visits just applied."""
        self.sent += len(results)
        for result in results:
            if result.status == "created":
                self.created += 1
            elif result.status == "duplicate":
                self.duplicate += 1
            elif result.status == "rejected":
                self.rejected += 1
                group = self.rejections.setdefault(result.code or "rejected", Rejected())
                group.count += 1
                group.reasons.setdefault(result.reason or "")


def delivery(result: VisitResult, corrected_at: str | None = None) -> Delivery:
    """The server's verdict as the store keeps it: created or duplicate are both delivered."""
    if result.status == "rejected":
        return Delivery(result.id, "rejected", result.code or "rejected", result.reason or "", corrected_at)
    return Delivery(result.id, "synced", corrected_at=corrected_at)


def too_large(visit_id: str) -> VisitResult:
    reason = f"{render('visit_too_large', 'vi')} ({render('visit_too_large', 'en')})"
    return VisitResult(id=visit_id, status="rejected", code="visit_too_large", reason=reason)


@dataclass(frozen=True)
class Batch:
    visits: list[Outgoing]
    corrected: list[str | None]  # each visit's corrected scan time, when its clock was wrong
    body: bytes  # the gzip'd BatchRequest


class UploadPass:
    def __init__(
        self,
        store: VisitStore,
        client: ServerClient,
        enrolment: Enrolment,
        settings: ServerConfig,
        clock: Clock,
        *,
        on_batch: Callable[[Tally], None] | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.enrolment = enrolment
        self.settings = settings
        self.clock = clock
        self.on_batch = on_batch
        self.stop = stop
        self.rng = rng or random.Random()
        self.notify = notify
        self.tally = Tally()
        self.left_behind: SyncError | None = None  # why a visit was left pending while the queue moved on
        self._corrections = Corrections(store)
        self.cards: CardTrustWire | None = None  # the district's card keys and revocations, from the last answer
        self.health: KioskHealth | None = None  # read at the start of each pass

    def run(self) -> None:
        """Deliver every pending visit; SyncError when the pass has to end early.

        One batch ahead: while the server stores batch k, the next one is read and encoded,
        and k's answers are applied while k+1 is on its way (a backlog sync took a third
        longer without it). Only a batch's first try goes ahead like this; retries, splits
        and waits happen in order, on this thread.
        """
        before = self.clock.read()
        try:
            server_time = self._retrying(self.client.health)
        except Transient as exc:
            raise self._failure(exc) from None
        after = self.clock.read()
        keep_server_time(self.store, before, after, server_time)
        self.health = kiosk_health(self.store, after.wall, clock_offset_s(before, after, server_time))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-upload") as sender:
            batch = self._read(0)
            if batch is None:
                self._heartbeat()
            in_flight = sender.submit(self._post, batch) if batch else None
            while batch is not None and in_flight is not None:
                self._check_stop()
                following = self._read(batch.visits[-1].seq)
                try:
                    answer = in_flight.result()
                except (RateLimited, TooLarge, Transient) as exc:
                    self._deliver(batch, exc)
                    in_flight = sender.submit(self._post, following) if following else None
                else:
                    in_flight = sender.submit(self._post, following) if following else None
                    self._apply(batch, answer.results, answer.district_key)
                batch = following
        if self.left_behind is not None:
            raise self.left_behind

    def _heartbeat(self) -> None:
        """Nothing to send: the health alone, in an empty batch, so the district still hears
        from this kiosk (once per pass, right after the pass's own health probe); its answer
        brings the district's card revocations and current key too."""
        try:
            answer = self._retrying(lambda: self._post(self._batch([], [])))
        except Transient as exc:
            raise self._failure(exc) from None
        adopt(self.store, answer.district_key)

    def _read(self, after_seq: int) -> Batch | None:
        visits = self.store.pending_after(after_seq, self.settings.batch_size)
        return self._batch(visits, [self._corrections.corrected_at(v) for v in visits]) if visits else None

    def _batch(self, visits: list[Outgoing], corrected: list[str | None]) -> Batch:
        body = batch_body(self.enrolment.device_id, [wire_visit(v, c) for v, c in zip(visits, corrected, strict=True)], self.health)
        return Batch(visits, corrected, body)

    def _post(self, batch: Batch) -> BatchResponse:
        answer = self.client.upload(self.enrolment.token, batch.body)
        if answer.cards is not None:
            self.cards = answer.cards
        return answer

    def _deliver(self, batch: Batch, failed: Exception | None = None) -> None:
        """Send until answered (``failed``: how a first try already went), then apply the answers."""
        try:
            answer = self._retrying(lambda: self._post(batch), failed)
        except TooLarge:
            if len(batch.visits) == 1:
                self._apply(batch, [too_large(batch.visits[0].id)])
            else:
                self._split(batch)
            return
        except Transient as exc:
            if exc.status is None or exc.status < 500 or not self._server_up():
                raise self._failure(exc) from None
            if len(batch.visits) > 1:  # the server is up but fails on this batch: find the visit that breaks it
                self._split(batch)
            else:
                self.left_behind = self._failure(exc)
            return
        self._apply(batch, answer.results, answer.district_key)

    def _split(self, batch: Batch) -> None:
        half = len(batch.visits) // 2
        self._deliver(self._batch(batch.visits[:half], batch.corrected[:half]))
        self._deliver(self._batch(batch.visits[half:], batch.corrected[half:]))

    def _apply(self, batch: Batch, results: list[VisitResult], district_key: DistrictKeyInfo | None = None) -> None:
        """All of a batch's answers in one local transaction; a visit without an answer stays pending.
        The district key the answer carries is taken first (a rotation, or a kiosk's first key)."""
        adopt(self.store, district_key)
        answers = {r.id: r for r in results}
        applied = [(answers[v.id], when) for v, when in zip(batch.visits, batch.corrected, strict=True) if v.id in answers]
        self.store.apply_deliveries([delivery(result, when) for result, when in applied], self.clock.read().wall)
        self.tally.count([result for result, _ in applied])
        if self.on_batch is not None:
            self.on_batch(self.tally)

    def _retrying(self, call: Callable[[], T], failed: Exception | None = None) -> T:
        """``call`` until it answers; Transient once ``retries`` more tries have failed.

        ``failed`` is how a try made elsewhere went: it counts as the first one. Each wait is
        announced first (``notify``), so a sync against a dead server never sits there silent.
        """
        backoff = Backoff(BACKOFF_BASE_S, self.settings.backoff_max_s, self.rng)
        attempt = 0
        while True:
            self._check_stop()
            if failed is None:
                try:
                    return call()
                except (RateLimited, Transient) as exc:
                    failed = exc
            if isinstance(failed, RateLimited):
                if attempt >= self.settings.retries:
                    raise Transient("server_error", 429, tries=attempt + 1) from None
                delay, code, status = failed.retry_after_s, "rate_limited", failed.status
            elif isinstance(failed, Transient):
                if attempt >= self.settings.retries:
                    failed.tries = attempt + 1
                    raise failed
                delay, code, status = backoff.next_delay(), failed.code, failed.status
            else:
                raise failed
            failed = None
            if self.notify is not None:
                self.notify(Retrying(code, status, delay, attempt=attempt + 2, tries=self.settings.retries + 1))
            if pause(delay, self.stop):
                raise SyncError("sync_cancelled")
            attempt += 1

    def _failure(self, exc: Transient) -> SyncError:
        return SyncError(exc.code, server=self.client.base_url, status=exc.status, tries=exc.tries)

    def _server_up(self) -> bool:
        try:
            self.client.health()
        except (Transient, SyncError):
            return False
        return True

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise SyncError("sync_cancelled")
