"""The big on-screen numeric keypad: phone numbers, ID numbers and the admin PIN.

The system keyboard is no use on a kiosk (it may not exist, and it covers the screen);
these keys are big enough for gloves. Each press dispatches ``on_key`` with "0"-"9",
"back" or "clear".
"""

from __future__ import annotations

from kivy.uix.gridlayout import GridLayout


class Keypad(GridLayout):
    __events__ = ("on_key",)

    def press(self, key: str) -> None:
        self.dispatch("on_key", key)

    def on_key(self, key: str) -> None:
        """Default handler; owners bind ``on_key``."""
