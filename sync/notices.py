"""What a sync is doing while it is not sending: connecting, waiting for another sync, waiting to retry.

A sync against a server that is down spends its time in backoff, and an admin who sees
nothing for ten seconds cannot tell a dead network from a hung command. So the sync pass
reports each such step as a ``Notice``; ``checkpoint-kiosk sync`` prints them (sync/progress.py)
and the background worker ignores them. Notices carry facts (host, counts, seconds, try
numbers, an error code), never words: the command line renders them from the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Connecting:
    host: str  # as an admin recognises it, e.g. kiemsoat.example.gov.vn:8443
    pending: int  # visits waiting to be sent


@dataclass(frozen=True)
class WaitingForSync:
    """Another sync on this kiosk holds the lock (the app's own, the timer's): this one waits its turn."""


@dataclass(frozen=True)
class Retrying:
    code: str  # why the last try failed: server_unreachable, server_error, server_bad_answer, rate_limited
    status: int | None  # the HTTP status when the server did answer
    delay_s: float
    attempt: int  # the try that comes after the wait, counting from 1
    tries: int  # at most this many in all


Notice = Connecting | WaitingForSync | Retrying
Notify = Callable[[Notice], None]
