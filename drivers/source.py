"""The shape every input source shares: one thread, one device, events into one sink.

A source that fails must never take the others down, and the guard and the admin must be
able to see why a reader is not working, so each source runs its own thread, catches its
own failures, and publishes a ``SourceStatus``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from kiosk.scan import ScanEvent

log = logging.getLogger(__name__)

Sink = Callable[[ScanEvent], None]


class SourceState(StrEnum):
    STARTING = "starting"
    CONNECTED = "connected"  # the device is open and being read
    WAITING = "waiting"  # no device yet (unplugged, not found): retrying
    ERROR = "error"  # a device is there but unusable (permissions, busy): retrying
    STOPPED = "stopped"


@dataclass(frozen=True)
class SourceStatus:
    source: str  # "hid", "serial", "camera"
    state: SourceState
    device: str | None = None
    detail: str = ""  # why, in words an admin understands

    def to_dict(self) -> dict[str, str | None]:
        return {"source": self.source, "state": self.state.value, "device": self.device, "detail": self.detail}


class Source:
    """Base class: subclasses implement ``run_once`` and call ``emit`` / ``set_status``.

    ``run_once`` opens the device, reads until it is gone or ``stopping`` is set, and
    returns; the base class restarts it so unplugging never ends a source. The pause
    before a restart starts at ``retry_s`` and doubles up to ``retry_max_s`` while the
    device stays away, so a missing reader costs a glance a few seconds, never a busy loop.
    """

    kind = "source"
    retry_s = 1.0
    retry_max_s = 2.0

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._status = SourceStatus(self.kind, SourceState.STARTING)
        self._thread: threading.Thread | None = None
        self._connected_once = False  # since the last restart: resets the retry pause
        self._stopped = False

    @property
    def status(self) -> SourceStatus:
        with self._lock:
            return self._status

    @property
    def alive(self) -> bool:
        """The reader's thread runs (started and not ended)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def set_status(self, state: SourceState, device: str | None = None, detail: str = "", *, logged: bool = True) -> None:
        """Publish the state; a change is logged at INFO unless the caller logs it in words of its own."""
        with self._lock:
            changed = (self._status.state, self._status.device, self._status.detail) != (state, device, detail)
            self._status = SourceStatus(self.kind, state, device, detail)
            self._connected_once |= state is SourceState.CONNECTED
        if changed and logged:
            log.info("%s: %s %s %s", self.kind, state.value, device or "", detail)

    def emit(self, event: ScanEvent) -> None:
        self._sink(event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"source-{self.kind}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Idempotent: a front end and the runtime may both stop the readers on the way out,
        and a second stop must not touch a device (or a pipe) the first one released."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stop.set()
        self.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self.release()
        self.set_status(SourceState.STOPPED)

    def wait(self, seconds: float) -> bool:
        """Sleep that ends early on stop; True when stopping."""
        return self._stop.wait(seconds)

    def _loop(self) -> None:
        pause = self.retry_s
        while not self.stopping:
            with self._lock:
                self._connected_once = False
            try:
                self.run_once()
            except Exception as exc:  # a source never dies; it reports and retries
                log.exception("%s source failed", self.kind)
                self.set_status(SourceState.ERROR, self.status.device, f"{type(exc).__name__}: {exc}")
            with self._lock:
                pause = self.retry_s if self._connected_once else pause
            self.wait(pause)
            pause = min(pause * 2, self.retry_max_s)

    def run_once(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        """Free what the source holds for its whole life, once its thread has ended (``stop``, once)."""

    def close(self) -> None:
        """Release the device so a blocked read returns; called from ``stop``."""
