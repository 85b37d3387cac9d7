"""The app's current language, for kv rules and Python alike: ``tr._("READY")``.

kv rules that call ``tr._(...)`` register themselves through ``fbind("_")`` (the Kivy
i18n recipe), so switching the language re-evaluates every such rule at once; Python
code that builds text itself binds to ``tr`` with ``tr.bind_switch``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.event import Observable

from kiosk.catalog import LANGUAGES, gettext


class Translator(Observable):
    """Holds the current language and every rule that shows its words."""

    def __init__(self, lang: str = "vi") -> None:
        super().__init__()
        self.lang = lang
        self._observers: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self._listeners: list[Callable[[str], None]] = []

    def _(self, text: str) -> str:  # the gettext name, so extraction tools find the strings
        """The translation of ``text`` from the one catalogue (kiosk/catalog.py)."""
        return gettext(text, self.lang)

    def fbind(self, name: str, func: Callable[..., Any], *largs: Any, **kwargs: Any) -> Any:
        if name != "_":
            return super().fbind(name, func, *largs, **kwargs)
        self._observers.append((func, largs, kwargs))
        return len(self._observers)

    def funbind(self, name: str, func: Callable[..., Any], *largs: Any, **kwargs: Any) -> Any:
        if name != "_":
            return super().funbind(name, func, *largs, **kwargs)
        self._observers = [o for o in self._observers if o != (func, largs, kwargs)]
        return None

    def bind_switch(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(lang)`` after every language switch (Python-built texts)."""
        self._listeners.append(listener)

    def switch(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang
        for func, largs, _kwargs in list(self._observers):
            func(*largs, None, None)
        for listener in list(self._listeners):
            listener(lang)


tr = Translator()
_ = tr._
