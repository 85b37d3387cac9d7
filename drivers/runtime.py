"""The running kiosk, assembled in one place for the app, ``run --terminal`` and ``run --headless``.

One order for every front end: the store, the scan service on it, the clock watch (it
is watching before the first scan), the retention schedule (kiosk/retention.py: it needs
the store, not the network, so it runs whether or not sync does), the readers' pipeline
(whose one thread is the only caller of the scan service), then the background sync.
``stop`` takes them down in exactly the reverse order: sync first (an interrupted pass is
as safe as a pulled plug), then the readers, recording every scan they already delivered,
then retention and the clock watch, and the store is closed last, after the last visit
was written.

The parts are built in ``__init__`` (the readers too, so a front end can see which are
unusable before anything runs) and started by ``start`` or ``with runtime:``. Each part
is pushed onto one stack as it is opened or started, and ``stop`` unwinds that stack, so
a start that fails half-way stops what had started, and ``stop`` is safe to call twice.

It lives in drivers/ rather than kiosk/ because it assembles drivers and sync: the core
imports none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import ExitStack
from types import TracebackType
from typing import TYPE_CHECKING

from drivers.pipeline import Divert, ManualEntry, Pipeline, ResultCallback
from kiosk.clock import ClockStatus
from kiosk.clockwatch import ClockWatch
from kiosk.config import Config
from kiosk.retention import RetentionSchedule
from kiosk.scan import ScanEvent, ScanResult, ScanService
from kiosk.store import VisitStore

if TYPE_CHECKING:
    from sync.service import SyncService

log = logging.getLogger("checkpoint_kiosk.runtime")

ServiceFactory = Callable[[Config, VisitStore], ScanService]


def _sync_service(config: Config, store: VisitStore) -> SyncService:
    """The sync client, imported here: it brings in requests, which a runtime without sync skips."""
    from sync.service import SyncService

    return SyncService(config, store)


class KioskRuntime:
    """Store → scan service → clock watch → retention → readers → background sync; stopped in reverse."""

    def __init__(
        self,
        config: Config,
        on_result: ResultCallback,
        *,
        operator: str | None = None,
        kinds: list[str] | None = None,
        divert: Divert | None = None,
        on_clock: Callable[[ClockStatus], None] | None = None,
        sync: bool = True,
        service_factory: ServiceFactory = ScanService,
    ) -> None:
        self.config = config
        self._parts = ExitStack()
        self.running: list[str] = []  # the parts open or started, in that order
        self.store = VisitStore.in_dir(config.data_dir)
        self._push("store", self.store.close)
        try:
            self.service = service_factory(config, self.store)
            self.clock_watch = ClockWatch(self.store, on_change=on_clock)
            self.retention = RetentionSchedule(self.service.purge)
            self.pipeline = Pipeline(config, self.service, on_result, operator=operator, kinds=kinds, divert=divert)
            self.sync = _sync_service(config, self.store) if sync else None
        except BaseException:
            self.stop()
            raise

    def _push(self, name: str, stop: Callable[[], object]) -> None:
        def unwind() -> None:
            log.debug("stopping %s", name)
            self.running.remove(name)
            stop()

        self._parts.callback(unwind)
        self.running.append(name)
        log.debug("started %s", name)

    def start(self) -> None:
        """Start the clock watch, retention, the readers and the background sync, in that order."""
        try:
            self.clock_watch.start()
            self._push("clock watch", self.clock_watch.stop)
            self.retention.start()
            self._push("retention", self.retention.stop)
            self.pipeline.start()
            self._push("readers", self.pipeline.stop)
            if self.sync is not None:
                self.sync.start_background()
                self._push("sync", self.sync.close)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every part started, in reverse order: sync, readers (recording every scan
        they delivered), retention, clock watch; then close the store. A second call does nothing."""
        self._parts.close()

    def __enter__(self) -> KioskRuntime:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- what the front ends submit: recorded on the pipeline's thread, in turn -------------

    def submit(self, event: ScanEvent) -> Future[ScanResult | None]:
        """A scan typed into the terminal or the window; its result also goes to ``on_result``."""
        return self.pipeline.submit(event)

    def manual(self, entry: ManualEntry) -> Future[ScanResult]:
        """A manual entry; its result only in the future (the screen that asked shows it)."""
        return self.pipeline.manual(entry)
