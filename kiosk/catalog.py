"""The one catalogue of every word a person reads: gettext ``.po`` files, read as they are.

Guard screen, admin panels, CLI output and tables, server errors, reports and exports all
take their words from here, Vietnamese first, English second. gettext was chosen because
its ``.po`` files are what translators' tools (Poedit, Weblate, msgfmt) read and check;
English is the source language (the msgids), so an English catalogue needs no file and a
missing translation shows English rather than nothing.

The ``.po`` files are the only ones committed; reading them directly (no ``.mo`` build
step) means a fresh checkout, an editable install and a wheel all show the same words,
and a catalogue can never be stale. They live in the core (``kiosk/locale/``) because both
products, the kiosk and the district server, install ``kiosk/``. ``tests/test_catalogue.py``
fails when a word is written outside the catalogue.
"""

from __future__ import annotations

import ast
import functools
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Literal

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "checkpoint-kiosk"

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")


def N_(text: str) -> str:  # the xgettext keyword for "translate later"
    """Marks a constant for the catalog; it is translated where it is shown."""
    return text


CONTEXT_GLUE = "\x04"  # between a context and its msgid, as GNU gettext joins them


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _unquote(quoted: str) -> str:
    """A .po string's text: C escapes only where there is a backslash (most lines have none,
    and the catalogue is read at every command's start)."""
    return ast.literal_eval(quoted) if "\\" in quoted else quoted[1:-1]


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr for every translated, non-fuzzy entry, in NFC.

    Handles what translators' tools write: comments, flags, multi-line strings with C
    escapes. An entry with a context is keyed ``context + "\x04" + msgid``, as GNU gettext
    keys it (``pgettext``). Plurals are not used and are skipped.
    """
    catalog: dict[str, str] = {}
    entry: dict[str, str] = {}
    field = ""
    fuzzy = False

    def complete() -> bool:
        return any(key.startswith("msgstr") for key in entry)

    def flush() -> None:
        nonlocal fuzzy
        msgid, msgstr = entry.get("msgid"), entry.get("msgstr")
        if msgid and msgstr and not fuzzy:
            key = f"{entry['msgctxt']}{CONTEXT_GLUE}{msgid}" if "msgctxt" in entry else msgid
            catalog[key] = unicodedata.normalize("NFC", msgstr)
        entry.clear()
        fuzzy = False

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith('"'):
            if field in entry:
                entry[field] += _unquote(line)
            continue
        if complete() and (not line or line.startswith(("#", "msgid", "msgctxt"))):
            flush()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if not line or line.startswith("#"):
            continue
        field, _, value = line.partition(" ")
        entry[field] = _unquote(value) if value.startswith('"') else ""
    if complete():
        flush()
    return catalog


def load_catalog(lang: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """The catalog for a language; English (the source language) is empty."""
    path = po_path(lang, locale_dir)
    return parse_po(path.read_text(encoding="utf-8")) if path.is_file() else {}


class Word(str):
    """A msgid used as a parameter: translated into the language of the sentence it fills."""

    __slots__ = ()


@functools.cache
def _catalog(lang: str) -> dict[str, str]:
    return load_catalog(lang)


def gettext(msgid: str, lang: str = "vi") -> str:
    """The translation of ``msgid`` in NFC; the English source when none exists."""
    return unicodedata.normalize("NFC", _catalog(lang).get(msgid, msgid))


def pgettext(context: str, msgid: str, lang: str = "vi") -> str:
    """``msgid`` as translated for ``context`` where the same English needs other words there
    (the console's "in" is "vào" in a table, the guard's is "VÀO" on a panel); otherwise as
    ``gettext`` translates it."""
    translated = _catalog(lang).get(f"{context}{CONTEXT_GLUE}{msgid}")
    return unicodedata.normalize("NFC", translated) if translated is not None else gettext(msgid, lang)


def text(msgid: str, lang: str = "vi", **params: object) -> str:
    """The sentence in one language with its ``{placeholders}`` filled (a ``Word`` translated too)."""
    template = gettext(msgid, lang)
    words = {key: gettext(value, lang) if isinstance(value, Word) else value for key, value in params.items()}
    try:
        return template.format(**words)
    except (KeyError, IndexError):
        return template


def bilingual(msgid: str, **params: object) -> str:
    """Vietnamese, then English in brackets: what the CLI prints, the server answers and the logs keep."""
    return bilingual_of(lambda lang: text(msgid, lang, **params))


def bilingual_of(render: Callable[[str], str]) -> str:
    """A sentence built from several entries, ``render(lang)``, as ``bilingual`` shows one."""
    return f"{render('vi')} ({render('en')})"
