"""The admin's check-up panel: what ``checkpoint-kiosk doctor`` reports, one coloured row per
finding with its fix, run on a background thread (each check is time-boxed there)."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.catalog import N_
from kiosk.doctor import LEVELS, Finding, tally
from ui.i18n import tr
from ui.tasks import background

MARKS = {"ok": N_("PASS"), "warn": N_("WARN"), "fail": N_("FAIL")}


class CheckupRow(BoxLayout):
    """One finding: a coloured level badge, the sentence, and the fix under it."""

    level = StringProperty("ok")
    mark = StringProperty("")
    message = StringProperty("")
    fix = StringProperty("")


class CheckupPanel(Screen):
    summary = StringProperty("")
    running = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._findings: list[Finding] | None = None
        tr.bind_switch(lambda _lang: self._render())

    def on_pre_enter(self) -> None:
        self.run()

    def run(self) -> None:
        if self.running:
            return
        self.running, self.summary = True, tr._("Checking…")
        background(App.get_running_app().backend.checkup, self._done, self._failed, name="checkup")

    def _done(self, findings: list[Finding]) -> None:
        self.running, self._findings = False, findings
        self._render()

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.summary = tr._("The check-up could not run ({kind}).").format(kind=type(exc).__name__)

    def _render(self) -> None:
        if self._findings is None:
            return
        lang = tr.lang
        rows = self.ids.rows
        rows.clear_widgets()
        for finding in sorted(self._findings, key=lambda f: -LEVELS.index(f.level)):  # failures first
            fix = finding.fix_text(lang)
            rows.add_widget(
                CheckupRow(
                    level=finding.level,
                    mark=tr._(MARKS[finding.level]),
                    message=finding.message(lang),
                    fix=tr._("Fix: {fix}").format(fix=fix) if fix else "",
                )
            )
        self.summary = tr._("{ok} ok · {warn} to look at · {fail} failed").format(**tally(self._findings))
