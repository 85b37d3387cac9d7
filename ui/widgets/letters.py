"""The on-screen letter keyboard, typing Vietnamese through Telex (ui/telex.py).

Dispatches ``on_text`` with the field's whole new text after each key, so the owner only
shows it; ``on_done`` when the guard presses Done. Telex can be switched off for codes
and server addresses, and a second layer has digits and the symbols of a URL.
"""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty
from kivy.uix.boxlayout import BoxLayout

from ui.telex import TelexBuffer

LETTERS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
SYMBOLS = ["1234567890", "-/:.@_?=&", "+#%()',"]


class LetterKeyboard(BoxLayout):
    __events__ = ("on_text", "on_done")
    shift = BooleanProperty(True)  # names start with a capital
    symbols = BooleanProperty(False)
    telex = BooleanProperty(True)
    layout = ListProperty(LETTERS)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.buffer = TelexBuffer()

    def start(self, text: str, *, telex: bool = True) -> None:
        """Edit ``text`` from its end; Telex on for names, off for codes."""
        self.buffer = TelexBuffer(text, enabled=telex)
        self.telex = telex
        self.shift = telex and (not text or text.endswith(" "))
        self.symbols = False

    def on_symbols(self, _instance: object, value: bool) -> None:
        self.layout = SYMBOLS if value else LETTERS

    def on_kv_post(self, _base_widget: Any) -> None:
        self.on_layout(self, self.layout)

    def on_layout(self, _instance: object, layout: list[str]) -> None:
        for index, keys in enumerate(layout):
            row = self.ids[f"row{index}"]
            row.clear_widgets()
            for key in keys:
                button = Factory.LetterKey()
                button.keyboard, button.key = self, key
                row.add_widget(button)
        self.on_shift(self, self.shift)

    def on_shift(self, _instance: object, shift: bool) -> None:
        """Key caps show what a press types: capitals while shift is on."""
        for index in range(len(self.layout)):
            for button in self.ids[f"row{index}"].children:
                button.text = button.key.upper() if shift else button.key

    def on_telex(self, _instance: object, value: bool) -> None:
        self.buffer.enabled = value

    def press(self, key: str) -> None:
        if key == "shift":
            self.shift = not self.shift
            return
        if key == "symbols":
            self.symbols = not self.symbols
            return
        if key == "telex":
            self.telex = not self.telex
            return
        if key == "done":
            self.dispatch("on_done")
            return
        if key == "back":
            self.buffer.backspace()
        else:
            char = key.upper() if self.shift and key.isalpha() else key
            self.buffer.press(char)
            if self.telex:
                self.shift = key == " "  # each word of a name starts with a capital
            else:
                self.shift = False
        self.dispatch("on_text", self.buffer.text)

    def on_text(self, text: str) -> None:
        """Default handler; owners bind ``on_text``."""

    def on_done(self) -> None:
        """Default handler; owners bind ``on_done``."""
