"""The guard's screen: the big green / amber / red result, direction, today's counts, status.

Results arrive from the readers' thread through the app (already on the main thread
here); after ``[ui] result_seconds`` the panel is ready again. The camera preview is
refreshed from the camera source's newest frame only while this screen is shown.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.clock import LOCAL_TZ
from kiosk.scan import ScanResult
from ui.formatting import LEVEL_COLOURS, counts_text, damaged_database_text, pack_status, panel_for, status_line
from ui.i18n import tr

PREVIEW_FPS = 10


@lru_cache(maxsize=512)
def _text_width(text: str, font_size: float, font_name: str, bold: bool) -> float:
    """The width of ``text`` on one line in this font (the status parts repeat every refresh)."""
    core = CoreLabel(text=text, font_size=font_size, font_name=font_name, bold=bold)
    core.refresh()
    return float(core.texture.size[0]) if core.texture is not None else 0.0


class ScanScreen(Screen):
    panel_state = StringProperty("ready")
    panel_title = StringProperty("")
    panel_summary = StringProperty("")
    panel_detail = StringProperty("")
    title_lines = StringProperty("")  # as shown: one part per line ("ĐÃ GHI NHẬN" / "VÀO")
    summary_lines = StringProperty("")
    counts = StringProperty("")
    count_in = StringProperty("0")
    count_out = StringProperty("0")
    count_total = StringProperty("0")
    status_text = StringProperty("")  # every part, most important first (Admin → Sync shows it whole)
    status_shown = StringProperty("")  # the parts that fit the status line's lines, never one cut
    status_colour = ListProperty(LEVEL_COLOURS["ok"])
    alert_text = StringProperty("")  # the red banner: a damaged database was moved aside
    direction = StringProperty("in")
    switchable = BooleanProperty(False)
    preview = BooleanProperty(False)
    clock_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        self._result: ScanResult | None = None  # before the kv rules run (on_kv_post renders)
        self._snapshot: dict[str, Any] | None = None
        self._ready_event = None
        self._preview_event = None
        self._texture: Texture | None = None
        self._status_parts: tuple[str, ...] = ()
        super().__init__(**kwargs)
        tr.bind_switch(lambda _lang: self.render())
        Clock.schedule_interval(self._tick, 1.0)
        self._tick(0)

    def on_kv_post(self, _base_widget: Any) -> None:
        backend = App.get_running_app().backend
        self.switchable = backend.switchable
        self.direction = backend.direction
        self.ids.status.bind(width=lambda *_: self._pack_status(), font_size=lambda *_: self._pack_status())
        self.bind(size=lambda *_: self._pack_status())
        self.render()

    # --- results -----------------------------------------------------------------------

    def show(self, result: ScanResult) -> None:
        self._result = result
        self.render()
        if self._ready_event is not None:
            self._ready_event.cancel()
        seconds = App.get_running_app().kiosk_config.ui.result_seconds
        self._ready_event = Clock.schedule_once(lambda _dt: self.ready(), seconds)

    def ready(self) -> None:
        self._result = None
        self.render()

    def render(self) -> None:
        panel = panel_for(self._result, tr._)
        self.panel_state, self.panel_title = panel.state, panel.title
        self.panel_summary, self.panel_detail = panel.summary, panel.detail
        self.title_lines, self.summary_lines = (text.replace(" · ", "\n") for text in (panel.title, panel.summary))
        if self._snapshot is not None:
            self.update(self._snapshot)

    # --- direction, counts, status -------------------------------------------------------

    def set_direction(self, direction: str) -> None:
        backend = App.get_running_app().backend
        backend.direction = direction
        self.direction = backend.direction

    def update(self, snapshot: dict[str, Any]) -> None:
        """Counts and the status line from a backend snapshot (taken off the main thread)."""
        app = App.get_running_app()
        self._snapshot = snapshot
        self.counts = counts_text(snapshot["today"], tr._)
        today = snapshot["today"]
        self.count_in, self.count_out, self.count_total = (str(today[k]) for k in ("in", "out", "total"))
        clock = snapshot.get("clock")
        line = status_line(
            app.backend.readers(),
            snapshot["sync"],
            snapshot["pending"],
            datetime.now(LOCAL_TZ),
            app.kiosk_config.ui.sync_stale_s,
            tr._,
            clock_synchronised=clock.synchronised if clock is not None else None,
            insecure_http=snapshot.get("insecure_http", False),
            rejected_unseen=snapshot.get("rejected_unseen", 0),
            unsealed=snapshot.get("unsealed", False),
        )
        self.status_text, self.status_colour = line.text, LEVEL_COLOURS[line.level]
        self._status_parts = line.parts
        self._pack_status()
        self.alert_text = damaged_database_text(snapshot["quarantined"], tr._)

    def _pack_status(self) -> None:
        """As many parts as fit whole on the status line's lines (two; three on a portrait screen)."""
        label = self.ids.status

        def measure(text: str) -> float:
            return _text_width(text, float(label.font_size), label.font_name, label.bold)

        lines = 2 if self.width >= self.height else 3
        self.status_shown = "\n".join(pack_status(self._status_parts, label.width - 2, measure, lines))

    def _tick(self, _dt: float) -> None:
        self.clock_text = datetime.now(LOCAL_TZ).strftime("%H:%M")

    # --- camera preview ----------------------------------------------------------------

    def on_enter(self) -> None:
        if self.preview:
            self._preview_event = Clock.schedule_interval(self._show_frame, 1 / PREVIEW_FPS)

    def on_leave(self) -> None:
        if self._preview_event is not None:
            self._preview_event.cancel()
            self._preview_event = None

    def _show_frame(self, _dt: float) -> None:
        frame = App.get_running_app().backend.camera_frame()
        if frame is None:
            return
        height, width = frame.shape[:2]
        if self._texture is None or self._texture.size != (width, height):
            self._texture = Texture.create(size=(width, height), colorfmt="bgr")
            self._texture.flip_vertical()
        self._texture.blit_buffer(frame.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.ids.preview.texture = self._texture
        self.ids.preview.canvas.ask_update()
