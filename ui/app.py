"""The touchscreen app: a ScreenManager of the guard's, staff's and admin's screens.

Import this module only after ``ui.kiosk_window.configure`` (Kivy reads its window
settings at import). Scans are recorded on the readers' pipeline thread; their results,
the status snapshot and every background task come back to Kivy's main thread through
``Clock`` before any widget is touched.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk import sdnotify
from kiosk.config import Config, Language
from kiosk.scan import ScanEvent, ScanResult
from ui.backend import Backend
from ui.i18n import tr
from ui.screens.admin import AdminScreen
from ui.screens.history import HistoryScreen
from ui.screens.manual import ManualScreen
from ui.screens.pin import PinScreen
from ui.screens.scan import ScanScreen
from ui.sounds import Sounds
from ui.tasks import background, on_main
from ui.wedge import WedgeBuffer
from ui.widgets import keypad, letters  # noqa: F401 - defining the classes registers them for the kv rules

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
KV_FILES = [
    "widgets/common.kv",
    "widgets/keypad.kv",
    "widgets/letters.kv",
    "screens/scan.kv",
    "screens/manual.kv",
    "screens/history.kv",
    "screens/pin.kv",
    "screens/admin.kv",
    "screens/admin_sync.kv",
    "screens/admin_checkup.kv",
]
SCREENS = {"scan": ScanScreen, "manual": ManualScreen, "history": HistoryScreen, "pin": PinScreen, "admin": AdminScreen}
GUARDED = ("pin", "admin")  # screens that fall back to scanning when left alone
STATUS_EVERY_S = 3.0
ENTER_KEYS = (13, 271)  # Return, keypad Enter
DESIGN_SIZE = (800, 480)  # the official 7" display: everything is sized for it at scale 1


class KioskApp(App):
    scale = NumericProperty(1.0)
    lang = StringProperty("vi")
    checkpoint_name = StringProperty("")
    title = "Checkpoint kiosk"

    def __init__(self, config: Config, *, operator: str | None = None, config_file: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kiosk_config = config
        self.checkpoint_name = config.checkpoint.name
        self.lang = config.kiosk.language
        tr.switch(self.lang)
        self.backend = Backend(config, self._result_from_reader, operator=operator, config_file=config_file)
        self.wedge = WedgeBuffer(config.ui.wedge_max_gap_s)
        self.sounds: Sounds | None = None
        self.exit_allowed = False
        self._last_touch = time.monotonic()
        self._snapshot_busy = False
        self._status_again = False
        self._after_status: list[Callable[[], Any]] = []

    # --- lifecycle -------------------------------------------------------------------

    def build(self) -> ScreenManager:
        self.use_kivy_settings = False
        for name in KV_FILES:
            Builder.load_file(str(HERE / name))
        manager = ScreenManager(transition=NoTransition())
        for name, screen in SCREENS.items():
            manager.add_widget(screen(name=name))
        Window.bind(
            on_request_close=self._on_request_close,
            on_key_down=self._on_key_down,
            on_textinput=self._on_textinput,
            size=self._rescale,
        )
        Window.bind(on_touch_down=self._on_touch)
        self._rescale(Window, Window.size)
        return manager

    def on_start(self) -> None:
        self.sounds = Sounds(self.kiosk_config.data_dir / "sounds", self.kiosk_config.ui.sounds)
        self.backend.start()
        self.screen("scan").preview = self.kiosk_config.scanners.camera.enabled and self.kiosk_config.ui.camera_preview
        Clock.schedule_interval(lambda _dt: self.refresh_status(), STATUS_EVERY_S)
        Clock.schedule_interval(self._guard_idle, 1.0)
        self.refresh_status()
        every = sdnotify.watchdog_interval_s()
        if every:
            Clock.schedule_interval(lambda _dt: sdnotify.notify("WATCHDOG=1"), every)
        sdnotify.notify("READY=1")
        log.info("app ready")

    def on_stop(self) -> None:
        sdnotify.notify("STOPPING=1")
        self.backend.stop()

    def open_settings(self, *_args: Any) -> bool:
        """No Kivy settings panel (F1) on a kiosk."""
        return False

    # --- navigation ------------------------------------------------------------------

    def screen(self, name: str) -> Any:
        return self.root.get_screen(name)

    def show(self, name: str) -> None:
        self.root.current = name

    def open_admin(self) -> None:
        self.screen("pin").ask(then=lambda: self.show("admin"))

    def quit(self) -> None:
        """Leave the app (after the admin PIN): readers stop and finish their scans first."""
        self.exit_allowed = True
        self.stop()

    def apply_enrolment(self) -> None:
        self.kiosk_config = self.backend.apply_enrolment()
        self.checkpoint_name = self.kiosk_config.checkpoint.name

    def set_language(self, lang: Language) -> None:
        tr.switch(lang)
        self.backend.set_language(lang)
        self.lang = lang

    def _on_request_close(self, *_args: Any, **_kwargs: Any) -> bool:
        """The window's close button (or Alt+F4): refused unless the admin chose Exit."""
        if self.exit_allowed:
            return False
        self.screen("pin").ask(then=self.quit)
        return True

    def _on_touch(self, *_args: Any) -> None:
        self._last_touch = time.monotonic()

    def _guard_idle(self, _dt: float) -> None:
        idle = time.monotonic() - self._last_touch
        if self.root.current in GUARDED and idle > self.kiosk_config.ui.admin_timeout_s:
            self.show("scan")

    def _rescale(self, _window: Any, size: tuple[int, int]) -> None:
        width, height = size
        long_side, short_side = max(width, height), min(width, height)
        self.scale = max(0.6, min(long_side / DESIGN_SIZE[0], short_side / DESIGN_SIZE[1]))

    # --- scans -----------------------------------------------------------------------

    def _result_from_reader(self, _event: ScanEvent, result: ScanResult) -> None:
        """Called on the pipeline's thread: hop to the main thread."""
        on_main(self.show_result, result)

    def show_result(self, result: ScanResult) -> None:
        if self.root.current not in GUARDED:
            self.show("scan")
        self.screen("scan").show(result)
        if self.sounds is not None:
            self.sounds.play(self.screen("scan").panel_state)  # an untrusted certificate sounds like one
        self.refresh_status()

    def _on_textinput(self, _window: Any, text: str) -> None:
        if self.kiosk_config.ui.keyboard_wedge:
            self.wedge.key(text, time.monotonic())

    def _on_key_down(self, _window: Any, key: int, *_args: Any) -> bool:
        if key in ENTER_KEYS and self.kiosk_config.ui.keyboard_wedge:
            scanned = self.wedge.enter(time.monotonic())
            if scanned:
                self.backend.typed_scan(scanned)
            return True
        return key == 27  # Escape does nothing (exit_on_escape = 0 as well)

    # --- status ----------------------------------------------------------------------

    def refresh_status(self, then: Callable[[], Any] | None = None) -> None:
        """Counts, pending and sync state, read off the main thread (the database may be busy).

        A call while a read is under way gets a second read that starts after it, so what is
        shown is never older than the call (a sync that just ended, a rejection just seen);
        ``then`` runs once that fresh state is on the screen.
        """
        if then is not None:
            self._after_status.append(then)
        if self._snapshot_busy:
            self._status_again = True
            return
        self._snapshot_busy, self._status_again = True, False
        waiting, self._after_status = self._after_status, []

        def finished() -> None:
            self._snapshot_busy = False
            for callback in waiting:
                callback()
            if self._status_again:
                self.refresh_status()

        def done(snapshot: dict[str, Any]) -> None:
            self.screen("scan").update(snapshot)
            finished()

        background(self.backend.snapshot, done, lambda _exc: finished(), name="status")


def run_app(config: Config, *, operator: str | None = None, config_file: Path | None = None) -> None:
    """Run until Admin → Exit or SIGTERM (systemd stop), which also stops the readers cleanly."""
    app = KioskApp(config, operator=operator, config_file=config_file)
    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: app.quit(), 0))
    app.run()
