"""The admin screen (after the PIN): a menu and one panel at a time.

Panels: sync now and rejected visits, a USB stick (export, backup, safe removal),
enrolment (ui/screens/admin_sync.py), device and checkpoint information with the
language, reader diagnostics, and the check-up (ui/screens/admin_checkup.py). Exit leaves the app; Back returns to scanning.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

from kiosk.enrolment import Enrolment, read_enrolment
from kiosk.store import quarantined_databases
from ui.formatting import READER_NAMES, reader_text
from ui.i18n import tr
from ui.screens.admin_checkup import CheckupPanel
from ui.screens.admin_sync import EnrolPanel, ExportPanel, SyncPanel
from ui.tasks import background

if TYPE_CHECKING:
    from drivers.inventory import Section

# "… (the serial source is off)": English words in brackets closing a clause
ENGLISH_ASIDE = re.compile(r"\s*\((?=[^()]*[A-Za-z]+ [A-Za-z]+)[^()À-ỹ]*\)(?=\s*(?:$|[;.,\n]))")
PANELS = ("sync", "export", "enrol", "device", "readers", "checkup")


class DevicePanel(Screen):
    """Checkpoint, the device id the district server knows (what an officer matches in its
    device list, and what ``enroll`` and ``doctor`` print), the local database's own id (it
    names backups), data directory, language."""

    info = StringProperty("")

    def on_pre_enter(self) -> None:
        config = App.get_running_app().kiosk_config
        background(
            lambda: (read_enrolment(config.data_dir), quarantined_databases(config.data_dir)),
            self._show,
            lambda _exc: None,
            name="device",
        )

    def _show(self, found: tuple[Enrolment | None, list[Path]]) -> None:
        enrolment, kept = found
        app = App.get_running_app()
        cp = app.kiosk_config.checkpoint
        backend = app.backend
        lines = [
            f"{tr._('Checkpoint')}: {cp.code} · {cp.name}",
            f"{cp.commune} · {cp.district} · {cp.province}",
            f"{tr._('Device id on the server')}: " + (enrolment.device_id if enrolment else tr._("not enrolled")),
            f"{tr._('Local database id (names backups)')}: {backend.store.device_id}",
            f"{tr._('Data')}: {app.kiosk_config.data_dir}",
        ]
        if backend.sync is None:
            lines.append(tr._("Sync is not installed"))
        lines += [f"{tr._('Damaged database kept at')}: {p}" for p in kept]
        self.info = "\n".join(lines)


def one_language(text: str, lang: str) -> str:
    """The readers' own reports say everything twice, "Vietnamese (English)": in Vietnamese,
    without the English in brackets at the end of each clause."""
    return ENGLISH_ASIDE.sub("", text) if lang == "vi" else text


class ReadersPanel(Screen):
    """What `checkpoint-kiosk scanners` shows: each device and whether the kiosk uses it."""

    report = StringProperty("")

    def on_pre_enter(self) -> None:
        app = App.get_running_app()
        self.report = "\n".join(
            reader_text(s, tr._) + (f" — {one_language(s.detail, tr.lang)}" if s.detail else "") for s in app.backend.readers()
        ) or tr._("No reader is enabled.")
        background(app.backend.diagnostics, self._show, lambda _exc: None, name="diagnostics")

    def _show(self, sections: list[Section]) -> None:
        lang = tr.lang
        lines = [self.report, ""]
        for section in sections:
            name = tr._(READER_NAMES.get(section.kind, section.kind))
            lines.append(f"[b]{name}[/b]: " + (tr._("enabled") if section.enabled else tr._("disabled")))
            if section.note:
                lines.append(f"[i]{one_language(section.note, lang)}[/i]")
            for found in section.found:
                device = f"{found.path} {found.name}".strip()
                lines.append(f"• {device}: [b]{tr._('used') if found.use else tr._('not used')}[/b]")
                lines.append(f"   {one_language(found.reason, lang)}")
            if not section.found:
                lines.append("• " + tr._("nothing found"))
            lines.append("")
        self.report = "\n".join(lines).strip()


class AdminScreen(Screen):
    panel = StringProperty("sync")

    def on_kv_post(self, _base_widget: Any) -> None:
        self.panels = ScreenManager(transition=NoTransition())
        for name, cls in zip(PANELS, (SyncPanel, ExportPanel, EnrolPanel, DevicePanel, ReadersPanel, CheckupPanel), strict=True):
            self.panels.add_widget(cls(name=name))
        self.ids.content.add_widget(self.panels)

    def on_pre_enter(self) -> None:
        self.open("sync")

    def on_leave(self) -> None:
        self.panels.current_screen.dispatch("on_leave")

    def open(self, panel: str) -> None:
        self.panel = panel
        if self.panels.current == panel:
            self.panels.current_screen.dispatch("on_pre_enter")
        self.panels.current = panel
