"""The admin panels that use the sync client or a USB stick: sync now, export and back up
to USB, enrolment.

An enrolment QR code names the server the kiosk will send every visit to, so a scanned one
is never redeemed at once: the panel shows its host and code and enrols only when the admin
confirms (a code printed by someone else, or a QR stuck over the real one, would otherwise
hand the kiosk to their server). A plain http:// server the kiosk would refuse is shown as
that error straight away.

Every call into the sync client or onto a stick runs off the main thread (it waits on the
network or a USB stick); progress and results come back through the Kivy clock. Without
the sync client installed the panels say so and offer nothing but the backup.

The Sync panel lists the visits the server rejected, by the server's code with its reason.
Showing that list to an admin (after the PIN; it is the panel the admin screen opens on)
is what acknowledges them and clears the count on the guard's status line, as opening the
list clears a failed-upload notification in ODK Collect: a separate "acknowledge" button
becomes a reflex tap, and nothing is lost by seeing them, since the rejected visits stay
listed here, in ``visits --rejected`` and in the doctor until they are dealt with, or until
retention deletes them after ``rejected_retention_days``; the panel then says how many went,
so an admin can still account for them. Only what was shown is acknowledged (up to the
newest rejection read), so one arriving later is new.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.backup import BackupError, BackupResult
from kiosk.messages import render, size_text
from kiosk.store import PurgeRecord, Rejections
from sync.protocol import EnrollPayload
from sync.service import SyncError
from sync.transport import host_of, plain_remote, refused
from ui.formatting import local_day_time
from ui.i18n import tr
from ui.tasks import background, report
from ui.usb import MOUNT_ROOTS, Stick, flush_stick, mounted_sticks


def _backend() -> Any:
    return App.get_running_app().backend


def error_text(exc: BaseException) -> str:
    """A sync or backup failure in the admin's words; never the exception's own text (it may carry data)."""
    if isinstance(exc, SyncError):
        return exc.message(App.get_running_app().lang)
    if isinstance(exc, BackupError):
        return render(exc.code, App.get_running_app().lang, **exc.params)
    if isinstance(exc, FileNotFoundError):
        return tr._("The USB stick is not there any more. Plug it in and press Refresh.")
    return tr._("Failed ({kind}). Try again; if it keeps failing, call the district IT officer.").format(kind=type(exc).__name__)


class SyncPanel(Screen):
    status = StringProperty("")  # the scan screen's status line: readers, network, pending, last sync
    progress = NumericProperty(0.0)
    counts = StringProperty("")
    message = StringProperty("")
    running = BooleanProperty(False)
    rejected = ListProperty([])  # the newest rejected visits, one row each
    rejected_total = NumericProperty(0)
    rejected_new = NumericProperty(0)  # not yet seen when the panel opened
    rejected_codes = StringProperty("")  # one line per server code: how many, and the server's reason
    rejected_dropped = NumericProperty(0)  # rejected visits retention has deleted, ever
    rejected_days = NumericProperty(0)  # after how many days it deletes them

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stop = threading.Event()
        self._follows_status = False

    def on_pre_enter(self) -> None:
        app = App.get_running_app()
        if app.root and not self._follows_status:  # the panel is first shown while building
            app.screen("scan").fbind("status_text", lambda _scan, text: setattr(self, "status", text))
            self._follows_status = True
        self.status = app.screen("scan").status_text if app.root else ""
        if _backend().sync is None:
            self.message = tr._("Sync is not installed")
        background(_backend().rejections, self._show_rejected, lambda _exc: None, name="rejected")
        background(_backend().retention, self._show_retention, lambda _exc: None, name="retention")

    def _show_retention(self, record: PurgeRecord) -> None:
        self.rejected_days = _backend().config.storage.rejected_retention_days
        self.rejected_dropped = record.total.rejected

    def _shown_to_admin(self) -> bool:
        """On screen behind the PIN: not while the app builds its screens, nor after the admin left."""
        app = App.get_running_app()
        return bool(app.root) and app.root.current == "admin" and self.manager is not None and self.manager.current == self.name

    def _show_rejected(self, found: tuple[Rejections, list[dict[str, Any]]]) -> None:
        rejections, visits = found
        self.rejected = [
            {"text": f"{local_day_time(v['scanned_at'])}  {v['summary']}\n{v['sync_code']}: {v['sync_reason'] or ''}"}
            for v in visits
        ]  # kept for days: the date too
        rows = self.ids.rejected_rows
        rows.clear_widgets()
        for row in self.rejected:
            rows.add_widget(Factory.RejectedRow(text=row["text"]))
        self.rejected_total, self.rejected_new = rejections.total, rejections.unseen
        self.rejected_codes = "\n".join(f"{g.code} ×{g.count} — {g.reason}" for g in rejections.groups)
        if rejections.unseen and self._shown_to_admin():
            background(
                lambda: _backend().acknowledge_rejections(rejections.newest),
                lambda _none: App.get_running_app().refresh_status(),
                lambda _exc: None,
                name="seen",
            )

    def sync_now(self) -> None:
        sync = _backend().sync
        if sync is None or self.running:
            return
        self.running, self.progress, self.message = True, 0.0, tr._("Sending…")
        self._stop.clear()
        background(lambda: sync.sync(progress=report(self._progressed), stop=self._stop), self._done, self._failed, name="sync")

    def stop(self) -> None:
        self._stop.set()

    def _progressed(self, step: Any) -> None:
        self.progress = step.sent / step.total if step.total else 1.0
        self.counts = tr._("Sent {sent} of {total} · new {created} · already there {duplicate} · rejected {rejected}").format(
            sent=step.sent, total=step.total, created=step.created, duplicate=step.duplicate, rejected=step.rejected
        )

    def _done(self, summary: Any) -> None:
        """The result shows together with a status read after the sync, so the line under it
        never contradicts it (it said "2 waiting to send" under "still waiting 0")."""
        counts = tr._(
            "Sent {sent} · new {created} · already there {duplicate} · rejected {rejected} · still waiting {pending}"
        ).format(
            sent=summary.sent,
            created=summary.created,
            duplicate=summary.duplicate,
            rejected=summary.rejected,
            pending=summary.pending,
        )
        message = summary.error_message(App.get_running_app().lang) if summary.error else tr._("Sync finished.")

        def show() -> None:
            self.running = False
            self.progress = 1.0 if summary.error is None else self.progress
            self.counts, self.message = counts, message
            self.on_pre_enter()

        App.get_running_app().refresh_status(then=show)

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.message = error_text(exc)


class StickRow(BoxLayout):
    """One USB stick on the Export panel, with what can be done with it (the panel does it)."""

    title = StringProperty("")
    path = StringProperty("")
    panel = ObjectProperty(None)


class ExportPanel(Screen):
    """Export the pending visits (sync client), back up the whole database, flush a stick to pull it."""

    message = StringProperty("")
    running = BooleanProperty(False)
    roots: tuple[str, ...] = MOUNT_ROOTS  # where sticks are mounted (tests point it at their own)

    def on_pre_enter(self) -> None:
        self.message = tr._("Plug in a USB stick, then choose what to do with it.")
        background(lambda: mounted_sticks(roots=self.roots), self._show_sticks, lambda _exc: None, name="usb")

    def _show_sticks(self, sticks: list[Stick]) -> None:
        box = self.ids.sticks
        box.clear_widgets()
        for stick in sticks:
            box.add_widget(
                StickRow(title=f"{stick.label}  ({size_text(stick.free_bytes)} {tr._('free')})", path=str(stick.path), panel=self)
            )
        if not sticks:
            self.message = tr._("No USB stick found. Plug one in and press Refresh.")

    def _start(self, message: str, work: Callable[[], Any], done: Callable[[Any], None], name: str) -> None:
        if self.running:
            return
        self.running, self.message = True, message
        background(work, lambda result: self._finish(done, result), self._failed, name=name)

    def _finish(self, done: Callable[[Any], None], result: Any) -> None:
        self.running = False
        done(result)

    def export(self, directory: str) -> None:
        sync = _backend().sync
        if sync is not None:
            self._start(tr._("Exporting…"), lambda: sync.export(Path(directory)), self._exported, "export")

    def _exported(self, path: Path) -> None:
        self.message = tr._("Saved: {file}").format(file=Path(path).name)

    def backup(self, directory: str) -> None:
        self._start(tr._("Backing up…"), lambda: _backend().backup(Path(directory)), self._backed_up, "backup")

    def _backed_up(self, result: BackupResult) -> None:
        self.message = "\n".join(
            (
                tr._("Backup written: {file}").format(file=result.path.name),
                tr._("{visits} visits, {pending} not yet sent, {size}.").format(
                    visits=result.counts.visits, pending=result.counts.pending, size=size_text(result.size)
                ),
                tr._("The file holds personal data: keep the stick safe."),
            )
        )

    def eject(self, directory: str) -> None:
        self._start(
            tr._("Writing everything to the stick…"),
            lambda: flush_stick(Path(directory)),
            lambda _none: self._ejected(Path(directory).name),
            "eject",
        )

    def _ejected(self, label: str) -> None:
        self.message = tr._("Everything is written to {stick}: you may pull it out now.").format(stick=label)

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.message = error_text(exc)


class EnrolPanel(Screen):
    server = StringProperty("")
    code = StringProperty("")
    editing = StringProperty("")  # server / code / ""
    message = StringProperty("")
    running = BooleanProperty(False)
    offer = ObjectProperty(None, allownone=True)  # a scanned EnrollPayload waiting for the admin's yes
    offer_host = StringProperty("")
    offer_url = StringProperty("")
    offer_code = StringProperty("")
    offer_plain = BooleanProperty(False)  # http:// off this machine, allowed by server.allow_insecure_http

    def on_pre_enter(self) -> None:
        backend = _backend()
        self.server = self.server or backend.config.server.url
        if backend.sync is None:
            self.message = tr._("Sync is not installed")
            return
        self.message = tr._("Scan the enrolment QR code now, or type the server and the code.")
        backend.capture_enrolment(report(self._scanned))

    def on_leave(self) -> None:
        _backend().capture_enrolment(None)
        self.editing = ""
        self.offer = None  # the admin screen locked or another panel opened: nothing is enrolled unasked

    def edit(self, field: str) -> None:
        self.editing = field
        self.ids.letters.start(getattr(self, field), telex=False)

    def typed(self, text: str) -> None:
        if self.editing:
            setattr(self, self.editing, text)

    def enrol_typed(self) -> None:
        self._enrol(server=self.server.strip() or None, code=self.code.strip())

    def _scanned(self, qr: str) -> None:
        """A scanned enrolment QR: ask before redeeming it (the latest scan replaces an earlier one)."""
        if self.running:
            return
        self.editing = ""
        try:
            payload = EnrollPayload.from_qr_text(qr)
        except ValueError:
            self.offer, self.message = None, error_text(SyncError("enroll_qr_invalid"))
            return
        server = payload.server.strip().rstrip("/")
        if refused(server, _backend().config.server.allow_insecure_http):
            self.offer, self.message = None, error_text(SyncError("server_http_refused", server=server))
            return
        self.offer_host, self.offer_url, self.offer_code = host_of(server), server, payload.code
        self.offer_plain = plain_remote(server)
        self.offer = payload
        self.message = ""

    def confirm_offer(self) -> None:
        payload, self.offer = self.offer, None
        if payload is not None:
            self._enrol(server=payload.server, code=payload.code)

    def cancel_offer(self) -> None:
        self.offer = None
        self.message = tr._("Not enrolled. Scan the enrolment QR code now, or type the server and the code.")

    def _enrol(self, **how: Any) -> None:
        sync = _backend().sync
        if sync is None or self.running:
            return
        self.running, self.editing, self.message = True, "", tr._("Enrolling…")
        background(lambda: sync.enroll(**how), self._done, self._failed, name="enrol")

    def _done(self, _answer: dict[str, Any]) -> None:
        self.running = False
        app = App.get_running_app()
        app.apply_enrolment()
        self.message = tr._("Enrolled. Checkpoint: {name}").format(name=app.checkpoint_name)
        app.refresh_status()

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.message = error_text(exc)
