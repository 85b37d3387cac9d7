"""Everything the screens ask of the kiosk, in one place: scans, counts, visits, sync, PIN.

Screens never touch SQL or HTTP: they call these methods, the blocking ones from a
background task (ui/tasks.py). The parts are the one kiosk runtime (drivers/runtime.py,
as for ``run --terminal`` and ``run --headless``): built and stopped in one order. The
readers' pipeline records scans on its own thread and hands results to ``on_result``,
which the app moves to Kivy's main thread; typed scans and manual entries are queued to
that same thread, the only one that calls the scan service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.pipeline import ManualEntry, ResultCallback
from drivers.runtime import KioskRuntime
from drivers.source import SourceStatus
from kiosk.backup import BackupResult, backup
from kiosk.config import Config, Language, with_enrolled_checkpoint
from kiosk.contract import Direction
from kiosk.doctor import DoctorContext, Finding, run_checks
from kiosk.masking import visit_summary
from kiosk.scan import ScanEvent, ScanResult
from kiosk.store import PurgeRecord, Rejections, quarantined_databases
from sync.protocol import ENROLL_QR_PREFIX
from sync.transport import plain_remote
from ui.pin import PinStore

if TYPE_CHECKING:
    from drivers.inventory import Section

log = logging.getLogger(__name__)


class Backend:
    """The kiosk's services for one app run; built before the window opens."""

    def __init__(
        self, config: Config, on_result: ResultCallback, *, operator: str | None = None, config_file: Path | None = None
    ) -> None:
        self.config = config
        self.config_file = config_file
        self.pins = PinStore(config.data_dir, attempts=config.ui.pin_attempts, lockout_s=config.ui.pin_lockout_s)
        self._enrolment: Callable[[str], None] | None = None
        self.runtime = KioskRuntime(config, on_result, operator=operator, divert=self._divert)
        self.store = self.runtime.store
        self.service = self.runtime.service  # read by the screens; scans go through the pipeline
        self.clock_watch = self.runtime.clock_watch
        self.pipeline = self.runtime.pipeline
        self.sync = self.runtime.sync

    def start(self) -> None:
        self.runtime.start()

    def stop(self) -> None:
        """Stop sync and readers, recording every scan already read, then close the store."""
        self.runtime.stop()

    # --- scanning ---------------------------------------------------------------------

    def typed_scan(self, text: str) -> None:
        """A keyboard-wedge scan typed into the window; recorded in turn with the readers'."""
        self.runtime.submit(ScanEvent(source="keyboard", text=text, device="window"))

    def manual(self, phone: str, name: str, id_number: str, direction: Direction) -> ScanResult:
        """Blocking (waits for the pipeline's thread to write the visit): call from a background task."""
        entry = ManualEntry(phone, name=name or None, id_number=id_number or None, direction=direction)
        return self.runtime.manual(entry).result()

    def capture_enrolment(self, callback: Callable[[str], None] | None) -> None:
        """While set, an enrolment QR read by any reader goes to ``callback`` (any thread)."""
        self._enrolment = callback

    def _divert(self, event: ScanEvent) -> bool:
        callback = self._enrolment
        if callback is None:
            return False
        text = event.text if event.text is not None else (event.raw or b"").decode("utf-8", "replace")
        if not text.strip().startswith(ENROLL_QR_PREFIX):
            return False
        callback(text.strip())
        return True

    @property
    def switchable(self) -> bool:
        return self.service.switchable

    @property
    def direction(self) -> Direction:
        return self.service.direction

    @direction.setter
    def direction(self, value: Direction) -> None:
        if self.switchable:
            self.service.direction = value

    def apply_enrolment(self) -> Config:
        """After enrolment the kiosk is the server's checkpoint: new visits carry its code."""
        self.config = self.runtime.config = self.service.config = self.pipeline.config = with_enrolled_checkpoint(self.config)
        return self.config

    def set_language(self, lang: Language) -> None:
        self.service.lang = lang

    # --- what the screens show ---------------------------------------------------------

    def readers(self) -> list[SourceStatus]:
        return self.pipeline.statuses()

    def camera_frame(self) -> Any:
        """The newest camera frame (BGR numpy array) for the preview, or None."""
        for source in self.pipeline.sources:
            latest = getattr(source, "latest_frame", None)
            if latest is not None:
                return latest()
        return None

    def snapshot(self) -> dict[str, Any]:
        """Blocking: today's counts, pending count, the sync status (and whether its server is plain
        http:// off this machine), rejections no admin has seen yet (the sync worker's and any sync
        command's: they are in the store) and damaged databases kept aside."""
        sync_status = None
        if self.sync is not None:
            try:
                sync_status = self.sync.status()
            except Exception as exc:  # a sync fault must not blank the scan screen
                log.error("sync status failed: %s", type(exc).__name__)
        return {
            "today": self.service.today(),
            "pending": self.store.count("pending"),
            "sync": sync_status,
            "clock": self.clock_watch.status,
            "rejected_unseen": self.store.unseen_rejections(),
            "unsealed": self.store.district_key() is None,
            "insecure_http": bool(sync_status and sync_status.server and plain_remote(sync_status.server)),
            "quarantined": [str(p) for p in quarantined_databases(self.config.data_dir)],
        }

    def recent_visits(self, limit: int = 30, state: str | None = None) -> list[dict[str, Any]]:
        """Blocking: the last visits of this kiosk, masked (never looked up by person)."""
        lang = self.service.lang
        return [
            {
                "scanned_at": row["scanned_at"],
                "direction": row["direction"],
                "source": row["source"],
                "sync_state": row["sync_state"],
                "sync_code": row["sync_code"],
                "sync_reason": row["sync_reason"],
                "summary": visit_summary(row, lang),
            }
            for row in self.store.visits(state=state, limit=limit)
        ]

    def rejections(self, limit: int = 100) -> tuple[Rejections, list[dict[str, Any]]]:
        """Blocking: every rejected visit by the server's code, and the newest ``limit`` of them, masked."""
        return self.store.rejections(), self.recent_visits(limit=limit, state="rejected")

    def retention(self) -> PurgeRecord:
        """Blocking: what retention has deleted here (the Sync panel says how many rejected visits went)."""
        return self.store.purge_record()

    def acknowledge_rejections(self, through: int) -> None:
        """Blocking: an admin has seen the rejections up to number ``through`` (the Sync panel showed them)."""
        self.store.acknowledge_rejections(through)

    def backup(self, directory: Path) -> BackupResult:
        """Blocking: what ``checkpoint-kiosk backup --to DIR`` does, while the readers go on recording."""
        return backup(self.store, directory, self.config.checkpoint.code, datetime.now(timezone.utc))

    def checkup(self) -> list[Finding]:
        """Blocking (every check waits up to its time box): what ``checkpoint-kiosk doctor`` reports."""
        return run_checks(DoctorContext(self.config, self.config_file))

    def diagnostics(self) -> list[Section]:
        """Blocking (reads sysfs): every input device and what the kiosk does with it."""
        from drivers.inventory import inventory  # brings in OpenCV (≈ 20 MB): only when an admin asks

        return inventory(self.config)
