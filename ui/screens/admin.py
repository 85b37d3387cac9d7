"""The admin screen (after the PIN): a menu and one panel at a time.

Panels: sync now and rejected visits, a USB stick (export, backup, safe removal),
enrolment (ui/screens/admin_sync.py), device and checkpoint information with the
language, reader diagnostics, and the check-up (ui/screens/admin_checkup.py). Exit leaves the app; Back returns to scanning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

from kiosk.store import quarantined_databases
from ui.formatting import reader_text
from ui.i18n import tr
from ui.screens.admin_checkup import CheckupPanel
from ui.screens.admin_sync import EnrolPanel, ExportPanel, SyncPanel
from ui.tasks import background

if TYPE_CHECKING:
    from drivers.inventory import Section

PANELS = ("sync", "export", "enrol", "device", "readers", "checkup")


class DevicePanel(Screen):
    """Device id, checkpoint, data directory, language."""

    info = StringProperty("")

    def on_pre_enter(self) -> None:
        app = App.get_running_app()
        cp = app.kiosk_config.checkpoint
        backend = app.backend
        lines = [
            f"{tr._('Checkpoint')}: {cp.code} · {cp.name}",
            f"{cp.commune} · {cp.district} · {cp.province}",
            f"{tr._('Device')}: {backend.store.device_id}",
            f"{tr._('Data')}: {app.kiosk_config.data_dir}",
        ]
        if backend.sync is None:
            lines.append(tr._("Sync is not installed"))
        lines += [f"{tr._('Damaged database kept at')}: {p}" for p in quarantined_databases(app.kiosk_config.data_dir)]
        self.info = "\n".join(lines)


class ReadersPanel(Screen):
    """What `checkpoint-kiosk scanners` shows: each device and whether the kiosk uses it."""

    report = StringProperty("")

    def on_pre_enter(self) -> None:
        app = App.get_running_app()
        self.report = "\n".join(reader_text(s, tr._) + (f" — {s.detail}" if s.detail else "")
                                for s in app.backend.readers()) or tr._("No reader is enabled.")
        background(app.backend.diagnostics, self._show, lambda _exc: None, name="diagnostics")

    def _show(self, sections: list[Section]) -> None:
        lines = [self.report, ""]
        for section in sections:
            lines.append(f"[b]{section.kind}[/b]: " + (tr._("enabled") if section.enabled else tr._("disabled")))
            if section.note:
                lines.append(f"  ! {section.note}")
            lines.extend(f"  {'+' if f.use else '-'} {f.path} {f.name}: {f.reason}" for f in section.found)
        self.report = "\n".join(lines)


class AdminScreen(Screen):
    panel = StringProperty("sync")

    def on_kv_post(self, _base_widget: Any) -> None:
        self.panels = ScreenManager(transition=NoTransition())
        for name, cls in zip(PANELS, (SyncPanel, ExportPanel, EnrolPanel, DevicePanel, ReadersPanel,
                                               CheckupPanel), strict=True):
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
