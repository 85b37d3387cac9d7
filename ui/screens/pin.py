"""The admin PIN: asked before the admin screen and before leaving the app.

On first use (no PIN stored yet) the admin chooses one, typed twice. Checking runs off
the main thread (scrypt is slow on purpose); wrong PINs count towards a lockout that
the PIN store keeps on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from ui.i18n import tr
from ui.pin import PIN_MAX, PIN_MIN, Check, valid_pin
from ui.tasks import background


class PinScreen(Screen):
    entered = StringProperty("")
    message = StringProperty("")
    prompt = StringProperty("")
    mode = StringProperty("check")  # check / new / confirm
    busy = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._then: Callable[[], None] | None = None
        self._first = ""

    @property
    def pins(self) -> Any:
        return App.get_running_app().backend.pins

    def ask(self, then: Callable[[], None]) -> None:
        """Show the PIN pad; ``then`` runs after a correct (or newly set) PIN."""
        self._then = then
        self.entered = self.message = self._first = ""
        self.mode = "check" if self.pins.is_set else "new"
        self._prompt()
        App.get_running_app().show("pin")

    def _prompt(self) -> None:
        self.prompt = {
            "check": tr._("Admin PIN"),
            "new": tr._("Choose an admin PIN ({min}-{max} digits)").format(min=PIN_MIN, max=PIN_MAX),
            "confirm": tr._("Type the new PIN again"),
        }[self.mode]

    def key(self, key: str) -> None:
        if self.busy:
            return
        if key == "back":
            self.entered = self.entered[:-1]
        elif key == "clear":
            self.entered = ""
        elif len(self.entered) < PIN_MAX:
            self.entered += key

    def submit(self) -> None:
        pin, self.entered = self.entered, ""
        if self.mode == "check":
            self.busy = True
            background(lambda: self.pins.check(pin), self._checked, self._failed, name="pin")
        elif not valid_pin(pin):
            self.message = tr._("A PIN has {min} to {max} digits.").format(min=PIN_MIN, max=PIN_MAX)
        elif self.mode == "new":
            self._first, self.mode, self.message = pin, "confirm", ""
            self._prompt()
        elif pin != self._first:
            self._first, self.mode = "", "new"
            self.message = tr._("The two PINs differ. Start again.")
            self._prompt()
        else:
            self.busy = True
            background(lambda: self.pins.set_pin(pin), lambda _none: self._open(), self._failed, name="pin")

    def _checked(self, check: Check) -> None:
        self.busy = False
        if check.ok:
            self._open()
        elif check.locked_s:
            self.message = tr._("Too many wrong PINs. Try again in {n} s.").format(n=int(check.locked_s + 0.999))
        else:
            self.message = tr._("Wrong PIN. {n} tries left.").format(n=check.attempts_left)

    def _failed(self, _exc: BaseException) -> None:
        self.busy = False
        self.message = tr._("The PIN could not be read or saved.")

    def _open(self) -> None:
        self.busy = False
        then, self._then = self._then, None
        if then is not None:
            Clock.schedule_once(lambda _dt: then(), 0)
