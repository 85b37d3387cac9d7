"""The last visits of this kiosk, masked, and today's totals.

Deliberately no search: a scanned or typed ID must never unlock anyone's history at a
public kiosk (the Luca lesson); tracing happens on the district server, audited.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.catalog import N_
from ui.formatting import counts_text, direction_word, local_time
from ui.i18n import tr
from ui.tasks import background

SYNC_WORDS = {"pending": N_("waiting"), "synced": N_("sent"), "rejected": N_("REJECTED")}


class HistoryScreen(Screen):
    rows = ListProperty([])
    totals = StringProperty("")

    def on_pre_enter(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        backend = App.get_running_app().backend

        def work() -> tuple[list[dict[str, Any]], dict[str, Any]]:
            return backend.recent_visits(limit=50), backend.service.today()

        background(work, self._show, lambda _exc: None, name="history")

    def _show(self, found: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
        visits, today = found
        self.totals = tr._("Today") + ": " + counts_text(today, tr._)
        self.rows = [
            {
                "when": local_time(v["scanned_at"]),
                "direction": direction_word(v["direction"], tr._),
                "summary": v["summary"],
                "sync": tr._(SYNC_WORDS.get(v["sync_state"], v["sync_state"])),
            }
            for v in visits
        ]
