"""Per-device rate limit: a kiosk stuck in a retry loop must not starve the others.

A token bucket per device. On PostgreSQL the buckets live in the database
(``rate_buckets``), updated by one atomic upsert per request, so every worker of
``checkpoint-server serve --workers N`` draws from the same bucket and a second worker does
not double a limit. The update commits with ``synchronous_commit = off``: a bucket lost to a
crash only gives a device its burst back, and a limit must not cost an ingest-sized fsync.
SQLite serves a district with one worker (``serve`` refuses more), so its buckets stay in
that process's memory and a refused request costs no write lock. Either way the answer to
a refused request says when to come back (Retry-After).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from server.schema import rate_buckets


class Limiter(Protocol):
    def acquire(self, key: str) -> int:
        """0 when the request may go ahead, else the whole seconds to wait (for Retry-After)."""
        ...


def _wait(tokens: float, rate: float) -> int:
    return max(1, math.ceil((1.0 - tokens) / rate))


class RateLimiter:
    """Buckets in this process's memory (SQLite, one worker)."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int:
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return _wait(tokens, self.rate)


class DatabaseRateLimiter:
    """Buckets in PostgreSQL, shared by every worker and every server on the database.
    Times are the wall clock in seconds (workers on different machines share it, a
    monotonic clock is not); a clock that steps back refills nothing."""

    def __init__(self, engine: Engine, rate_per_s: float, burst: int, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.rate = rate_per_s
        self.burst = burst
        self._clock = clock

    def acquire(self, key: str) -> int:
        now = self._clock()
        b = rate_buckets.c
        # In DO UPDATE, b.* is the stored row: refill it, then take a token if there is a whole one.
        available = sa.func.least(float(self.burst), b.tokens + sa.func.greatest(0.0, now - b.refilled_at) * self.rate)
        statement = (
            postgresql.insert(rate_buckets)
            .values(key=key, tokens=float(self.burst) - 1.0, refilled_at=now, granted=True)
            .on_conflict_do_update(
                index_elements=[b.key],
                set_={
                    "tokens": sa.case((available >= 1.0, available - 1.0), else_=available),
                    "refilled_at": now,
                    "granted": available >= 1.0,
                },
            )
            .returning(b.tokens, b.granted)
        )
        with self.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            tokens, granted = conn.execute(statement).one()
        return 0 if granted else _wait(tokens, self.rate)


def limiter_for(engine: Engine | None, rate_per_s: float, burst: int) -> Limiter:
    """Shared buckets on PostgreSQL, this process's own on SQLite."""
    if engine is not None and engine.dialect.name == "postgresql":
        return DatabaseRateLimiter(engine, rate_per_s, burst)
    return RateLimiter(rate_per_s, burst)
