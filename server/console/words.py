"""The console's words: English in the templates (``_("Overview")``), Vietnamese from
``locale/vi/LC_MESSAGES/checkpoint-console.po``, read with polib (no .mo build step, so a
checkout, an editable install and a wheel show the same words). Vietnamese is the default;
a word without a translation shows in English rather than not at all."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Literal, get_args

import polib

Lang = Literal["vi", "en"]
LANGS: tuple[str, ...] = get_args(Lang)
DEFAULT: Lang = "vi"
PO_FILE = Path(__file__).parent / "locale" / "vi" / "LC_MESSAGES" / "checkpoint-console.po"


@cache
def catalogue(lang: Lang) -> dict[str, str]:
    if lang == "en":
        return {}
    return {
        entry.msgid: unicodedata.normalize("NFC", entry.msgstr)
        for entry in polib.pofile(str(PO_FILE))
        if entry.msgstr and not entry.fuzzy and not entry.obsolete
    }


def translator(lang: Lang) -> Callable[[str], str]:
    words = catalogue(lang)
    return lambda text: words.get(text, text)


def language(value: str | None) -> Lang:
    return "en" if value == "en" else DEFAULT
