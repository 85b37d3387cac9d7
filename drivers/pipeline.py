"""Every enabled reader → one queue → one consumer that records the visit → a callback.

Sources only ever put into an unbounded queue, so a slow disk or a slow screen never
blocks a reader (and never drops a scan). A single consumer thread is the only caller
of the ``ScanService`` (safe from one thread at a time): the readers' scans, typed
scans (``submit``) and manual entries (``manual``) all queue to it, in the order they
came. It hands each scan's ``ScanResult`` to the callback: the terminal, the headless
logger, the Kivy UI (which must hop to its main thread itself); a manual entry's result
goes only to the caller waiting for it (the manual screen shows it). ``stop`` stops the
readers first, then records everything they delivered, so a shutdown loses no scan;
anything submitted after that fails with ``PipelineStopped`` instead of waiting forever.

Each reader kind is imported only when enabled (the camera pulls in OpenCV); one that
cannot be built shows as an error in ``statuses`` while the other readers run.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from drivers.source import Sink, Source, SourceState, SourceStatus
from kiosk.catalog import bilingual
from kiosk.config import Config
from kiosk.contract import Direction
from kiosk.messages import render
from kiosk.scan import ScanEvent, ScanResult, ScanService

log = logging.getLogger(__name__)

ResultCallback = Callable[[ScanEvent, ScanResult], None]
Divert = Callable[[ScanEvent], bool]


def _hid(sink: Sink, config: Config) -> Source:
    from drivers.hid import HidSource

    return HidSource(sink, config)


def _serial(sink: Sink, config: Config) -> Source:
    from drivers.serial_reader import SerialSource

    return SerialSource(sink, config)


def _camera(sink: Sink, config: Config) -> Source:
    from drivers.camera import CameraSource

    return CameraSource(config.scanners.camera, sink)


READER_FACTORIES: dict[str, Callable[[Sink, Config], Source]] = {"hid": _hid, "serial": _serial, "camera": _camera}


def enabled_kinds(config: Config) -> list[str]:
    """The reader kinds switched on in ``[scanners]``, in a fixed order."""
    return [kind for kind in READER_FACTORIES if getattr(config.scanners, kind).enabled]


@dataclass(frozen=True)
class _Job:
    event: ScanEvent
    reply: Future[ScanResult | None] | None = None


@dataclass(frozen=True)
class ManualEntry:
    """A person without a smartphone, typed by staff (``ScanService.manual``'s arguments)."""

    phone: str
    name: str | None = None
    id_number: str | None = None
    direction: Direction | None = None
    operator: str | None = None  # None: the pipeline's operator


@dataclass(frozen=True)
class _Manual:
    entry: ManualEntry
    reply: Future[ScanResult]


class PipelineStopped(RuntimeError):
    """Submitted after ``stop``: nothing will record it."""


@dataclass(frozen=True)
class _Ping:
    """Resolved in turn with the scans (see ``ping``)."""

    reply: Future[None]


class Pipeline:
    """The enabled readers of one kiosk and the one thread that records their scans."""

    def __init__(
        self,
        config: Config,
        service: ScanService,
        on_result: ResultCallback,
        *,
        operator: str | None = None,
        kinds: list[str] | None = None,
        divert: Divert | None = None,
    ) -> None:
        self.config = config
        self.service = service
        self.on_result = on_result
        self.operator = operator
        # Takes a scan that is not a visit (an enrolment QR while the admin enrols): when it
        # returns True the scan is neither recorded nor passed to on_result.
        self.divert = divert
        self._queue: queue.Queue[_Job | _Manual | _Ping | None] = queue.Queue()  # None: stop
        self._closing = threading.Lock()  # nothing is queued behind the stop marker
        self._stopped = False
        self._consumer = threading.Thread(target=self._consume, name="scan-consumer", daemon=True)
        self.sources: list[Source] = []
        self.unusable: list[SourceStatus] = []  # enabled readers that could not even be built
        for kind in enabled_kinds(config) if kinds is None else kinds:
            try:
                self.sources.append(READER_FACTORIES[kind](self.put, config))
            except Exception as exc:  # one reader that cannot start must not stop the others
                log.error("%s reader unusable: %s", kind, exc)
                self.unusable.append(
                    SourceStatus(kind, SourceState.ERROR, None, f"{bilingual('unusable')}: {type(exc).__name__}: {exc}")
                )

    def _enqueue(self, job: _Job | _Manual | _Ping) -> None:
        with self._closing:
            if not self._stopped:
                self._queue.put(job)
                return
        if job.reply is not None:
            job.reply.set_exception(PipelineStopped("the kiosk is stopping: not recorded"))

    def put(self, event: ScanEvent) -> None:
        """The sink every source writes to; never blocks."""
        self._enqueue(_Job(event))

    def submit(self, event: ScanEvent) -> Future[ScanResult | None]:
        """Record a scan in turn with the readers' scans; the future holds its result (None: diverted)."""
        reply: Future[ScanResult | None] = Future()
        self._enqueue(_Job(event, reply))
        return reply

    def manual(self, entry: ManualEntry) -> Future[ScanResult]:
        """Record a manual entry in turn with the scans, on the consumer's thread; the future holds
        its result (or the exception ``ScanService.manual`` raised); ``on_result`` is not called."""
        reply: Future[ScanResult] = Future()
        self._enqueue(_Manual(entry, reply))
        return reply

    def ping(self) -> Future[None]:
        """A future the consumer resolves in turn with the scans: proof it is not stuck."""
        reply: Future[None] = Future()
        self._enqueue(_Ping(reply))
        return reply

    def readers_alive(self) -> bool:
        """Every reader's thread is still running (they retry forever, so a dead one is a bug)."""
        return all(source.alive for source in self.sources)

    def statuses(self) -> list[SourceStatus]:
        """Each reader's state for the screen and diagnostics (connected / waiting / error + why)."""
        return [source.status for source in self.sources] + self.unusable

    def start(self) -> None:
        self._consumer.start()
        for source in self.sources:
            source.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop readers, then record every scan already delivered, then return."""
        for source in self.sources:
            source.stop()
        with self._closing:
            if self._stopped:
                return
            self._stopped = True
            self._queue.put(None)
        if self._consumer.is_alive():
            self._consumer.join(timeout)

    def _next(self) -> _Job | _Manual | _Ping | None:
        """The next job; while there is none, the scan service's idle work, one small step at a
        time (the next visits' ids and seals, kiosk/seal.py), so a scan arriving waits for one step at most."""
        while self._queue.empty():
            try:
                if not self.service.prepare_ahead():
                    break
            except Exception as exc:  # idle work is an optimisation: never let it stop recording
                log.error("preparing ahead failed: %s", type(exc).__name__)
                break
        return self._queue.get()

    def _consume(self) -> None:
        while (job := self._next()) is not None:
            if isinstance(job, _Ping):
                job.reply.set_result(None)
                continue
            if isinstance(job, _Manual):
                self._manual(job)
                continue
            if self.divert is not None and self._diverted(self.divert, job.event):
                if job.reply is not None:
                    job.reply.set_result(None)
                continue
            try:
                result = self.service.handle(job.event, operator=self.operator)
            except Exception as exc:  # one bad scan must not stop the kiosk recording
                # Only the type: an exception's text could carry the scanned data.
                log.error("scan from %s could not be handled: %s", job.event.source, type(exc).__name__)
                result = ScanResult(
                    status="rejected", reason=render("scan_failed", self.config.kiosk.language), reason_code="scan_failed"
                )
            try:
                self.on_result(job.event, result)
            except Exception as exc:  # a broken display must not stop recording either
                log.error("result callback failed: %s", type(exc).__name__)
            if job.reply is not None:  # after the callback, so a waiting terminal prints in order
                job.reply.set_result(result)

    def _manual(self, job: _Manual) -> None:
        entry = job.entry
        try:
            result = self.service.manual(
                entry.phone,
                name=entry.name,
                id_number=entry.id_number,
                direction=entry.direction,
                operator=entry.operator or self.operator,
            )
        except Exception as exc:  # the waiting screen says it failed; the consumer goes on
            log.error("manual entry could not be handled: %s", type(exc).__name__)
            job.reply.set_exception(exc)
        else:
            job.reply.set_result(result)

    def _diverted(self, divert: Divert, event: ScanEvent) -> bool:
        try:
            return bool(divert(event))
        except Exception as exc:  # a failing hook records the scan as a visit instead
            log.error("divert hook failed: %s", type(exc).__name__)
            return False
