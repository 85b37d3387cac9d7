"""The console's words: English in the templates (``_("Overview")``), Vietnamese from the one
catalogue every word comes from (kiosk/catalog.py). Where the same English needs other words
on a page than on the guard's screen (a table's "vào" where the panel says "VÀO"), the
catalogue holds them under the context ``console``. Vietnamese is the default; a word
without a translation shows in English rather than not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from kiosk.catalog import pgettext

Lang = Literal["vi", "en"]
LANGS: tuple[str, ...] = get_args(Lang)
DEFAULT: Lang = "vi"
CONTEXT = "console"


def translator(lang: Lang) -> Callable[[str], str]:
    return lambda text: pgettext(CONTEXT, text, lang)


def language(value: str | None) -> Lang:
    return "en" if value == "en" else DEFAULT
