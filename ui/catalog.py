"""Gettext catalogs read straight from their ``.po`` sources.

The ``.po`` files are the translators' files and the only ones committed; reading them
directly (no ``.mo`` build step) means a fresh checkout, an editable install and a
wheel all show the same words, and a catalog can never be stale. English is the source
language: an English catalog needs no file, and a missing translation shows English.
"""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "checkpoint-kiosk"


def N_(text: str) -> str:  # the xgettext keyword for "translate later"
    """Marks a constant for the catalog; it is translated where it is shown."""
    return text


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr for every translated, non-fuzzy entry, in NFC.

    Handles what translators' tools write: comments, flags, multi-line strings with C
    escapes. Plurals and contexts are not used by the kiosk and are skipped.
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
        if msgid and msgstr and not fuzzy and "msgctxt" not in entry:
            catalog[msgid] = unicodedata.normalize("NFC", msgstr)
        entry.clear()
        fuzzy = False

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith('"'):
            if field in entry:
                entry[field] += ast.literal_eval(line)
            continue
        if complete() and (not line or line.startswith(("#", "msgid", "msgctxt"))):
            flush()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if not line or line.startswith("#"):
            continue
        field, _, value = line.partition(" ")
        entry[field] = ast.literal_eval(value) if value.startswith('"') else ""
    if complete():
        flush()
    return catalog


def load_catalog(lang: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """The catalog for a language; English (the source language) is empty."""
    path = po_path(lang, locale_dir)
    return parse_po(path.read_text(encoding="utf-8")) if path.is_file() else {}
