"""Kiosk mode: the window, one input provider, no way out without the admin PIN.

Kivy reads these settings when its window is created, so ``configure`` must run before
anything imports ``kivy.core.window``. Escape (``exit_on_escape = 0``) and the window's
close button (``on_request_close``, see ui/app.py) never end the app by themselves: only
the admin screen does, after the PIN.
"""

from __future__ import annotations

import os

from kiosk.config import UiConfig


def configure(ui: UiConfig, *, fullscreen: bool | None = None) -> None:
    """Set Kivy's window and input configuration for this run (in memory only)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # the kiosk's own command line is not Kivy's
    from kivy.config import Config

    full = ui.fullscreen if fullscreen is None else fullscreen
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")  # no Kivy virtual keyboard: the app has its own
    Config.set("kivy", "desktop", "0" if full else "1")
    Config.set("graphics", "fullscreen", "auto" if full else "0")
    Config.set("graphics", "width", str(ui.width))
    Config.set("graphics", "height", str(ui.height))
    Config.set("graphics", "show_cursor", "1" if ui.show_cursor else "0")
    Config.set("graphics", "resizable", "0" if full else "1")
    Config.set("graphics", "allow_screensaver", "0")
    # A screen mounted sideways or upside down: Kivy rotates what it draws and maps every
    # touch (whatever the provider) through the same rotation, so they stay in line.
    Config.set("graphics", "rotation", str(ui.rotation))
    # One provider, so one touch is one press (a touchscreen seen both as a mouse and as a
    # multitouch device gives two presses); no right-click red dots.
    for name in list(Config.options("input")):
        Config.remove_option("input", name)
    if ui.input == "mouse":
        Config.set("input", "mouse", "mouse,disable_multitouch")
    else:
        Config.set("input", "touch", f"probesysfs,provider={ui.input}")  # the touchscreen found in sysfs
