"""The sync facade: enrolment, sync, status, USB export and the background worker of one kiosk.

The CLI, ``run`` and the touchscreen call only this. Every method is safe to call from any
thread; syncs started from several places (worker, CLI, screen, other processes) take
turns through one lock in the data directory.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.clock import Clock, SystemClock
from kiosk.config import Config
from kiosk.enrolment import Enrolment, read_enrolment, write_enrolment
from kiosk.store import StorageError, VisitStore, iso
from kiosk.syncstate import (
    LAST_ERROR,
    LAST_ERROR_AT,
    LAST_ERROR_PARAMS,
    LAST_SUCCESS,
    NEEDS_REENROLMENT,
    SyncState,
    read_sync_state,
    server_url,
)
from sync import pending_enrolment
from sync.cardtrust import keep_card_trust
from sync.client import Refused, ServerClient, Transient
from sync.clockfix import keep_server_time
from sync.devicekey import public_text, signing_key
from sync.district_key import adopt
from sync.errors import REENROL_CODES, SyncError
from sync.lock import SyncLock
from sync.notices import Connecting, Notify, WaitingForSync
from sync.protocol import EnrollPayload, EnrollResponse
from sync.transport import host_of, refused
from sync.upload import Rejected, Tally, UploadPass
from sync.usb import ExportResult, export_pending, import_receipt
from sync.worker import BackgroundSync

__all__ = ["SyncError", "SyncProgress", "SyncService", "SyncStatus", "SyncSummary"]

NOT_RECORDED = frozenset({"sync_cancelled", "sync_busy"})  # not the server's doing: last_error stays
UNREACHABLE = frozenset({"server_unreachable", "tls_error", "server_url_invalid", "server_http_refused"})
CODE_REFUSALS = frozenset({"enroll_code_unknown", "enroll_code_used", "enroll_code_expired"})
# No answer from the server while enrolling: not the sync's sentence ("visits are sent when it
# is back": none are waiting), but what is true here: the code is kept, the same command finishes it.
ENROLL_OFFLINE = {"server_unreachable": "enroll_server_unreachable", "server_error": "enroll_server_error"}
ENROLL_RETRIES = 3  # an admin is waiting at the screen: a few quick tries, then a sentence (and the nonce kept)


@dataclass(frozen=True)
class SyncProgress:
    sent: int
    total: int
    created: int
    duplicate: int
    rejected: int
    rate_per_s: float
    eta_s: float | None


@dataclass(frozen=True)
class SyncSummary:
    sent: int
    created: int
    duplicate: int
    rejected: int
    pending: int  # left after this sync
    error: str | None  # a message code, e.g. server_unreachable
    failure: SyncError | None = field(default=None, repr=False, compare=False)
    rejections: dict[str, Rejected] = field(default_factory=dict)  # this sync's, by the server's code
    rejected_kept: int = 0  # every rejected visit on the kiosk after this sync, earlier ones too

    def rejected_by_code(self) -> dict[str, int]:
        return {code: group.count for code, group in sorted(self.rejections.items(), key=lambda item: -item[1].count)}

    def to_dict(self) -> dict[str, Any]:
        """Exactly what ``checkpoint-kiosk sync --json`` prints."""
        return {
            "sent": self.sent,
            "created": self.created,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "pending": self.pending,
            "error": self.error,
            "rejected_by_code": self.rejected_by_code(),
            "rejected_kept": self.rejected_kept,
        }

    def error_message(self, lang: str = "vi") -> str | None:
        return self.failure.message(lang) if self.failure else None


@dataclass(frozen=True)
class SyncStatus:
    server: str | None
    enrolled: bool
    pending: int
    rejected: int
    last_success_at: datetime | None
    last_error: str | None  # a message code; error_message() gives the words
    needs_reenrolment: bool
    online: bool | None  # as the worker last saw it; None before it has tried
    exported: int = 0  # pending visits on a USB stick, awaiting the server's confirmation
    state: SyncState | None = field(default=None, repr=False, compare=False)

    def error_message(self, lang: str = "vi") -> str | None:
        return self.state.error_message(lang) if self.state else None


class SyncService:
    def __init__(self, config: Config, store: VisitStore, *, clock: Clock | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self._reach = _Reach()
        self._clients: dict[str, ServerClient] = {}
        self._clients_lock = threading.Lock()
        self._worker: BackgroundSync | None = None

    @property
    def online(self) -> bool | None:
        """Whether the server answered last time anyone here asked; None before anyone has."""
        return self._reach.online

    @online.setter
    def online(self, value: bool | None) -> None:
        self._reach.online = value

    # --- enrolment -------------------------------------------------------------------------

    def enroll(self, *, server: str | None = None, code: str | None = None, qr: str | None = None) -> dict[str, Any]:
        """Redeem an enrolment code (typed, or the QR text of ``checkpoint-server enroll-code``).

        Returns the checkpoint identity; from now on visits carry this checkpoint (a Config
        loaded afterwards says so). Raises SyncError for a wrong, used or expired code or an
        unreachable server. The code goes with a nonce kept in the data directory until the
        enrolment is stored, so enrolling again with the same code after a lost answer gets
        the same device back (see sync/pending_enrolment.py).
        """
        if qr:
            try:
                payload = EnrollPayload.from_qr_text(qr)
            except ValueError:
                raise SyncError("enroll_qr_invalid") from None
            server, code = server or payload.server, payload.code
        server = (server or self.config.server.url).strip().rstrip("/")
        if not server or not code or not code.strip():
            raise SyncError("enroll_needs_code")
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SyncError("server_url_invalid", server=server)
        if refused(server, self.config.server.allow_insecure_http):
            raise SyncError("server_http_refused", server=server)
        before = self.clock.read()
        answer = self._redeem(server, code.strip())
        enrolment = Enrolment(
            server=server,
            device_id=answer.device_id,
            token=answer.token,
            checkpoint=answer.checkpoint.model_dump(),
            enrolled_at=answer.server_time,
        )
        try:
            write_enrolment(self.config.data_dir, enrolment)
        except OSError:  # the nonce stays: enrolling again once there is room gets this device back
            raise SyncError("enroll_not_saved", path=str(self.config.data_dir)) from None
        pending_enrolment.forget(self.config.data_dir)
        keep_card_trust(self.config.data_dir, answer.cards)
        self.store.write_meta({NEEDS_REENROLMENT: None, LAST_ERROR: None, LAST_ERROR_PARAMS: None, LAST_ERROR_AT: None})
        keep_server_time(self.store, before, self.clock.read(), answer.server_time)
        adopt(self.store, answer.district_key)
        return {"server": server, "device_id": answer.device_id, "checkpoint": enrolment.checkpoint}

    def _redeem(self, server: str, code: str) -> EnrollResponse:
        """The server's answer for ``code``, sent with this kiosk's nonce for it (kept on disk
        first, so that any retry, even from a later process, is answered with the same device)."""
        try:
            nonce = pending_enrolment.nonce_for(self.config.data_dir, code)
        except OSError:
            raise SyncError("enroll_not_saved", path=str(self.config.data_dir)) from None
        settings = self.config.server
        try:
            key = public_text(signing_key(self.config.data_dir))
        except OSError:
            raise SyncError("enroll_not_saved", path=str(self.config.data_dir)) from None
        try:
            return self._client(server).enroll(
                code,
                nonce,
                signing_key=key,
                retries=min(settings.retries, ENROLL_RETRIES),
                backoff_max_s=settings.backoff_max_s,
            )
        except SyncError as exc:
            if exc.code in CODE_REFUSALS:  # the nonce cannot win this code back any more
                pending_enrolment.forget(self.config.data_dir)
            if exc.code in ENROLL_OFFLINE:
                raise SyncError(ENROLL_OFFLINE[exc.code], **{"server": server, **exc.params}) from None
            raise

    # --- sync ------------------------------------------------------------------------------

    def sync(
        self,
        progress: Callable[[SyncProgress], None] | None = None,
        stop: threading.Event | None = None,
        *,
        wait: bool = True,
        notify: Notify | None = None,
    ) -> SyncSummary:
        """Send every pending visit; the summary says what happened and what is left.

        With ``wait`` (the default) a sync already running elsewhere is waited for; without,
        the summary says ``sync_busy`` at once (what the background worker wants). ``notify``
        hears what the sync does between batches: waiting its turn, connecting, retrying.
        """
        enrolment = read_enrolment(self.config.data_dir)
        if enrolment is None:
            return self._summary(Tally(), SyncError("not_enrolled"))
        if self.store.meta(NEEDS_REENROLMENT).get(NEEDS_REENROLMENT) == "1":
            return self._summary(Tally(), SyncError("needs_reenrolment"))
        lock = SyncLock(self.config.data_dir)
        taken = lock.acquire(wait=False)
        if not taken and wait:
            if notify is not None:
                notify(WaitingForSync())
            taken = lock.acquire(wait=True, stop=stop)
        if not taken:
            return self._summary(Tally(), SyncError("sync_cancelled" if stop is not None and stop.is_set() else "sync_busy"))
        try:
            tally, error = self._pass(enrolment, progress, stop, notify)
        finally:
            lock.release()
        return self._summary(tally, error)

    def _pass(
        self,
        enrolment: Enrolment,
        progress: Callable[[SyncProgress], None] | None,
        stop: threading.Event | None,
        notify: Notify | None = None,
    ) -> tuple[Tally, SyncError | None]:
        total = self.store.count("pending")
        started = time.monotonic()

        def on_batch(tally: Tally) -> None:
            if progress is not None:
                progress(_progress(tally, total, time.monotonic() - started))

        server = server_url(self.config, enrolment) or enrolment.server
        if notify is not None:
            notify(Connecting(host_of(server), total))
        upload = UploadPass(
            self.store, self._client(server), enrolment, self.config.server, self.clock, on_batch=on_batch, stop=stop, notify=notify
        )
        error: SyncError | None = None
        try:
            upload.run()
        except SyncError as exc:
            error = exc
        except (Refused, StorageError) as exc:
            error = SyncError(exc.code)
        keep_card_trust(self.config.data_dir, upload.cards)
        self._remember(error)
        return upload.tally, error

    def _remember(self, error: SyncError | None) -> None:
        """The outcome for ``status`` and screens; the store keeps it beside the visits."""
        if error is not None and error.code in NOT_RECORDED:
            return
        self.online = error is None or error.code not in UNREACHABLE
        now = iso(self.clock.read().wall)
        values: dict[str, str | None] = {LAST_SUCCESS: now, LAST_ERROR: None, LAST_ERROR_PARAMS: None, LAST_ERROR_AT: None}
        if error is not None:
            values = {LAST_ERROR: error.code, LAST_ERROR_PARAMS: json.dumps(error.params, default=str), LAST_ERROR_AT: now}
            if error.code in REENROL_CODES:
                values[NEEDS_REENROLMENT] = "1"
        with suppress(StorageError):  # a full disk: the summary still tells the caller what happened
            self.store.write_meta(values)

    def _summary(self, tally: Tally, error: SyncError | None) -> SyncSummary:
        return SyncSummary(
            sent=tally.sent,
            created=tally.created,
            duplicate=tally.duplicate,
            rejected=tally.rejected,
            pending=self.store.count("pending"),
            error=error.code if error else None,
            failure=error,
            rejections=tally.rejections,
            rejected_kept=self.store.count("rejected"),
        )

    def probe(self) -> bool:
        """The cheap health check the worker repeats while the server is away; keeps its time too."""
        enrolment = read_enrolment(self.config.data_dir)
        server = server_url(self.config, enrolment)
        if server is None:
            return False
        before = self.clock.read()
        try:
            server_time = self._client(server).health()
        except (Transient, SyncError):
            self.online = False
            return False
        keep_server_time(self.store, before, self.clock.read(), server_time)
        self.online = True
        return True

    def _client(self, server: str) -> ServerClient:
        """One session per server, reused across syncs (keep-alive, one TLS handshake)."""
        with self._clients_lock:
            client = self._clients.get(server)
            if client is None:
                settings = self.config.server
                client = self._clients[server] = ServerClient(
                    server,
                    connect_timeout_s=settings.connect_timeout_s,
                    read_timeout_s=settings.read_timeout_s,
                    ca_file=settings.ca_file,
                    allow_insecure_http=settings.allow_insecure_http,
                )
            return client

    # --- status ----------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        state = read_sync_state(self.config, self.store)
        return SyncStatus(
            server=state.server,
            enrolled=state.enrolled,
            pending=self.store.count("pending"),
            rejected=self.store.count("rejected"),
            last_success_at=state.last_success_at,
            last_error=state.last_error,
            needs_reenrolment=state.needs_reenrolment,
            online=self.online,
            exported=state.exported,
            state=state,
        )

    # --- USB -------------------------------------------------------------------------------

    def export(self, directory: Path) -> Path:
        """Write the pending visits to a sealed file in ``directory`` (a USB stick); its path."""
        return self.export_file(directory).path

    def export_file(self, directory: Path) -> ExportResult:
        enrolment = self._enrolment()
        if self.store.count("pending") == 0:
            raise SyncError("export_nothing")
        return export_pending(self.store, enrolment, Path(directory), self.clock.read().wall)

    def import_receipt(self, path: Path) -> SyncSummary:
        """Mark visits the server confirmed in the receipt of ``checkpoint-server import``."""
        tally = import_receipt(self.store, self._enrolment(), Path(path), self.clock.read().wall, self.config.data_dir)
        return self._summary(tally, None)

    def _enrolment(self) -> Enrolment:
        enrolment = read_enrolment(self.config.data_dir)
        if enrolment is None:
            raise SyncError("not_enrolled")
        return enrolment

    # --- background ------------------------------------------------------------------------

    def start_background(self) -> None:
        """Start the worker: a sync every ``interval_s``, and soon after the server comes back.

        It works through a store connection of its own, so scans recorded through this
        service's store never queue behind a batch being applied.
        """
        if self._worker is None:
            worker = SyncService(self.config, VisitStore(self.store.path), clock=self.clock)
            worker._reach = self._reach  # what the worker learns shows in this service's status()
            self._worker = BackgroundSync(worker)
            self._worker.start()

    def stop_background(self) -> None:
        if self._worker is not None:
            worker, self._worker = self._worker, None
            if worker.stop():
                worker.service.close()
                worker.service.store.close()

    def close(self) -> None:
        self.stop_background()
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _progress(tally: Tally, total: int, elapsed_s: float) -> SyncProgress:
    total = max(total, tally.sent)  # visits scanned during the sync join the queue
    rate = tally.sent / elapsed_s if elapsed_s > 0 else 0.0
    eta = (total - tally.sent) / rate if rate > 0 else None
    return SyncProgress(
        sent=tally.sent,
        total=total,
        created=tally.created,
        duplicate=tally.duplicate,
        rejected=tally.rejected,
        rate_per_s=rate,
        eta_s=eta,
    )


@dataclass
class _Reach:
    online: bool | None = None
