"""Load shedding: a worker stores at most ``batches_in_flight`` batches at once; the rest hear 429 at once.

After an outage thousands of kiosks reconnect together, each with a backlog (a herd).
Queued, a batch waits behind all the others until the kiosk's timeout fires and it sends
the batch again, and the server then spends its database on answers nobody reads. Refused
before its body is read or its token looked up, a batch costs the server almost nothing
and the kiosk hears when to come back. Retry-After is drawn at random from
[``busy_retry_after_s``, ``busy_retry_after_s`` + ``busy_retry_spread_s``] (jitter), so the
refused kiosks do not return together as a second herd; the kiosk honours it as it
honours the per-device rate limit (sync/upload.py). The spread is wide by default (5 to
60 s): a herd of 6,128 kiosks then comes back at about 190 requests a second instead of
1,000 (bench/server_herd.py). The count is per worker, in memory: it protects that
worker's own pool of database connections.
"""

from __future__ import annotations

import random

from starlette.types import ASGIApp, Receive, Scope, Send

from server.config import LimitsSection
from server.http_errors import ServerBusy, error_response
from sync.protocol import BATCH_PATH


class Gate:
    """How many batches this worker is storing; the event loop is its only caller, so no lock."""

    def __init__(self, limit: int, retry_after_s: int, spread_s: int, rng: random.Random | None = None) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.spread_s = spread_s
        self.inside = 0
        self._rng = rng or random.Random()

    @classmethod
    def from_limits(cls, limits: LimitsSection) -> Gate:
        return cls(limits.batches_in_flight, limits.busy_retry_after_s, limits.busy_retry_spread_s)

    def enter(self) -> bool:
        if self.inside >= self.limit:
            return False
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1

    def retry_after(self) -> int:
        return self.retry_after_s + self._rng.randint(0, self.spread_s)


class Admission:
    """ASGI middleware in front of the whole app: a refused batch never reaches routing,
    dependencies or the exception handlers, so a herd's 429s cost the worker next to nothing
    (answered through the dependency system, they starved the batches being stored)."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != BATCH_PATH:
            await self.app(scope, receive, send)
            return
        if not self.gate.enter():
            refusal = ServerBusy(self.gate.retry_after())
            headers = {"Retry-After": str(refusal.retry_after)}
            await error_response(refusal.status, refusal.code, refusal.message, headers=headers)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()
