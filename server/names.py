"""Finding a province, district or commune by the name a person types.

People type "Bù Đăng", "huyện bù đăng" or "HUYỆN BÙ ĐĂNG" for "Huyện Bù Đăng". A name
given to look something up matches a stored name when, in this order:

1. it is the same after ``clean_name`` (NFC, single spaces);
2. it is the same without case (Unicode casefold of the NFC form: "Đ" and "đ", "Ư"
   and "ư" are one letter);
3. it is the same without its administrative prefix (Huyện, Xã, Tỉnh, Phường, Quận,
   Thị xã, Thị trấn, Thành phố, TP.), on either side: "Bù Đăng" finds "Huyện Bù Đăng";

the first rule that matches anything decides. When nothing matches, the error suggests
the closest names (difflib on the names without case, prefix or tone marks: "Bu Dang"
suggests "Huyện Bù Đăng"). Tone marks are never ignored for a match: "Bù Đăng" and
"Bú Đáng" could both exist.

The matching is done here, in Python, against the list of names read from the database,
not in SQL: SQLite's ``lower()`` folds only ASCII, PostgreSQL's depends on the database's
collation, and a normalised column would need a migration and a second copy of every
name to keep in step. A city has hundreds of districts and a few thousand communes, a
list read in milliseconds, and the suggestions need that list anyway. Stored names are
never changed.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from typing import Literal

from kiosk.catalog import N_, Word, bilingual_of, text
from server.errors import NotFound, UserError

Level = Literal["province", "district", "commune"]

# Longest first, so "thị xã" is stripped before a shorter prefix could be.
PREFIXES = ("thành phố", "thị trấn", "thị xã", "phường", "huyện", "quận", "tỉnh", "tp.", "tp", "xã")
SUGGESTIONS = 3
WORDS: dict[Level, Word] = {
    "province": Word(N_("province")),
    "district": Word(N_("district")),
    "commune": Word(N_("commune")),
}


def clean_name(value: str) -> str:
    """NFC, single spaces, no control characters (PostgreSQL refuses NUL in text)."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", value) if unicodedata.category(ch) != "Cc" or ch.isspace())
    return " ".join(text.split())


def folded(name: str) -> str:
    """The name without case: NFC, casefolded, NFC again (casefold can decompose)."""
    return unicodedata.normalize("NFC", clean_name(name).casefold())


def without_prefix(name: str) -> str:
    """The folded name without its administrative prefix ("huyện bù đăng" → "bù đăng")."""
    key = folded(name)
    for prefix in PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix) and (key[len(prefix)] == " " or prefix.endswith(".")):
            return key[len(prefix) :].strip()
    return key


def _plain(name: str) -> str:
    """For suggestions only: no prefix, no tone marks, đ as d."""
    decomposed = unicodedata.normalize("NFD", without_prefix(name).replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def matches(given: str, names: Iterable[str]) -> list[str]:
    """The stored names ``given`` stands for, by the first rule that finds any (see above)."""
    stored = sorted(set(names))
    for key in (clean_name, folded, without_prefix):
        wanted = key(given)
        found = [name for name in stored if key(name) == wanted]
        if found:
            return found
    return []


def suggestions(given: str, names: Iterable[str], n: int = SUGGESTIONS) -> list[str]:
    """The stored names closest to ``given``, best first."""
    by_plain: dict[str, list[str]] = {}
    for name in sorted(set(names)):
        by_plain.setdefault(_plain(name), []).append(name)
    close = difflib.get_close_matches(_plain(given), list(by_plain), n=n, cutoff=0.6)
    return [name for plain in close for name in by_plain[plain]][:n]


def resolve(level: Level, given: str, names: Iterable[str]) -> str:
    """The one stored name ``given`` stands for; NotFound with suggestions, or UserError when several match."""
    stored = list(names)
    found = matches(given, stored)
    if len(found) == 1:
        return found[0]
    shown = clean_name(given)[:100]
    if found:
        listed = ", ".join(f"'{name}'" for name in found)
        raise UserError(
            f"{level}_ambiguous",
            bilingual_of(
                lambda lang: text(
                    "'{shown}' could be {listed}: give the full {level} name", lang, shown=shown, listed=listed, level=WORDS[level]
                )
            ),
        )
    close = [f"'{name}'" for name in suggestions(given, stored)]

    def not_found(lang: str) -> str:
        hint = text("; did you mean {names}?", lang, names=f" {text('or', lang)} ".join(close)) if close else ""
        return text("no {level} named '{shown}'", lang, level=WORDS[level], shown=shown) + hint

    raise NotFound(f"{level}_not_found", bilingual_of(not_found))
