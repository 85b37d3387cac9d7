"""Telex: typing Vietnamese letters with plain Latin keys, for the on-screen name keyboard.

Staff type names of people without a smartphone on a touchscreen that has no Vietnamese
layout, so the kiosk's keyboard has to compose letters itself, the way Unikey's Telex
mode does on every office PC in Vietnam:

    aa → â   aw → ă   ee → ê   oo → ô   ow → ơ   uw → ư   uow → ươ   dd → đ   w → ư
    s → sắc  f → huyền  r → hỏi  x → ngã  j → nặng  z → no tone

A tone key puts the tone on the right vowel of the word wherever it is typed ("hoangf" →
"hoàng", "Thuys" → "Thúy"); pressing the same key twice undoes it and types the letter
("ass" → "as"). Everything here is pure string work, and every result is NFC.
"""

from __future__ import annotations

import unicodedata

TONE_KEYS = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
TONE_MARKS = frozenset(TONE_KEYS.values())
# The letter a modifier key turns each plain vowel (or d) into, and back.
DOUBLES = {"a": "â", "e": "ê", "o": "ô", "d": "đ"}
HORNS = {"a": "ă", "o": "ơ", "u": "ư"}
VOWELS = frozenset("aăâeêioôơuưy")
MARKED = frozenset("ăâêôơư")  # vowels whose own mark takes the tone
UNDO = {**{v: k for k, v in DOUBLES.items()}, **{v: k for k, v in HORNS.items()}}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def split_tone(char: str) -> tuple[str, str]:
    """'ấ' → ('â', '\\u0301'): the letter without its tone, and the tone mark ('' if none)."""
    parts = unicodedata.normalize("NFD", char)
    tone = next((mark for mark in parts if mark in TONE_MARKS), "")
    return nfc(parts.replace(tone, "")) if tone else char, tone


def with_tone(letter: str, tone: str) -> str:
    return nfc(letter + tone)


def _base(char: str) -> str:
    """The lower-case letter without its tone: how the rules see a character."""
    return split_tone(char)[0].lower()


def _same_case(model: str, letter: str) -> str:
    return letter.upper() if model.isupper() else letter


def _restyle(char: str, letter: str) -> str:
    """``char`` turned into ``letter`` (lower case), keeping its case and tone."""
    _, tone = split_tone(char)
    return with_tone(_same_case(char, letter), tone)


def _vowel_span(word: str) -> tuple[int, int]:
    """Start and end of the word's vowel cluster (the last run of vowels), without the
    consonantal u of "qu" and i of "gi"; (0, 0) when the word has no vowel."""
    bases = [_base(c) for c in word]
    end = len(bases)
    while end and bases[end - 1] not in VOWELS:
        end -= 1
    start = end
    while start and bases[start - 1] in VOWELS:
        start -= 1
    if end - start > 1 and start > 0 and bases[start - 1] + bases[start] in ("qu", "gi"):
        start += 1
    return start, end


def tone_position(word: str) -> int | None:
    """Index of the vowel that carries the word's tone (old style: hòa, thủy), or None.

    A vowel with its own mark (â, ơ, …) wins, the later one for ươ; otherwise a single
    vowel, the last one before a final consonant (hoàng), the middle one of three
    (hoài), the first of two at the end of the word (hòa, mía, thủy).
    """
    start, end = _vowel_span(word)
    if start == end:
        return None
    marked = [i for i in range(start, end) if _base(word[i]) in MARKED]
    if marked:
        return marked[-1]
    size = end - start
    if size == 1:
        return start
    if end < len(word):
        return end - 1
    return start + 1 if size == 3 else start


def _apply_tone(word: str, key: str) -> str:
    mark = TONE_KEYS.get(key.lower(), "")
    position = tone_position(word)
    if position is None:
        return word + key
    toned = next((i for i, c in enumerate(word) if split_tone(c)[1]), None)
    if mark and toned is not None and split_tone(word[toned])[1] == mark:
        return word[:toned] + split_tone(word[toned])[0] + word[toned + 1 :] + key  # twice: undo
    if not mark and toned is None:
        return word + key  # z with nothing to remove
    plain = "".join(split_tone(c)[0] for c in word)
    return plain[:position] + with_tone(plain[position], mark) + plain[position + 1 :]


def _apply_double(word: str, key: str) -> str | None:
    """aa → â, ee → ê, oo → ô, dd → đ (and a third press undoes); None if not applicable."""
    if not word:
        return None
    last = word[-1]
    base = _base(last)
    if base == key.lower():
        return word[:-1] + _restyle(last, DOUBLES[base])
    if UNDO.get(base) == key.lower() and base in DOUBLES.values():
        return word[:-1] + _restyle(last, key.lower()) + key
    return None


def _apply_horn(word: str, key: str) -> str:
    """w: uo → ươ, a → ă, o → ơ, u → ư in the vowel cluster; again undoes; alone it is ư."""
    start, end = _vowel_span(word)
    bases = [_base(c) for c in word]
    cluster = "".join(bases[start:end])
    chars = list(word)
    pair = next((p for p in ("uo", "ưo", "uơ") if p in cluster), None)
    if pair is not None:
        at = start + cluster.index(pair)
        chars[at] = _restyle(word[at], "ư")
        chars[at + 1] = _restyle(word[at + 1], "ơ")
        return "".join(chars)
    if any(b in HORNS.values() for b in bases[start:end]):
        for i in range(start, end):
            chars[i] = _restyle(word[i], UNDO.get(bases[i], bases[i])) if bases[i] in HORNS.values() else word[i]
        return "".join(chars) + key
    target = next((i for i in range(end - 1, start - 1, -1) if bases[i] in HORNS), None)
    if target is None:
        return word + _same_case(key, "ư") if start == end else word + key
    chars[target] = _restyle(word[target], HORNS[bases[target]])
    return "".join(chars)


def _reposition(word: str) -> str:
    """Move the tone to where it belongs now that the word grew ("hóa" + n → "hoán")."""
    toned = next((i for i, c in enumerate(word) if split_tone(c)[1]), None)
    if toned is None:
        return word
    plain = "".join(split_tone(c)[0] for c in word)
    position = tone_position(plain)
    if position is None or position == toned:
        return word
    mark = split_tone(word[toned])[1]
    return plain[:position] + with_tone(plain[position], mark) + plain[position + 1 :]


def _compose(word: str, key: str) -> str:
    lower = key.lower()
    if lower in DOUBLES:
        doubled = _apply_double(word, key)
        if doubled is not None:
            return doubled
    if lower == "w":
        return _apply_horn(word, key)
    if lower in TONE_KEYS or lower == "z":
        return _apply_tone(word, key)
    return word + key


def type_key(word: str, key: str) -> str:
    """The word after one more key press; ``word`` is the text since the last space."""
    return nfc(_reposition(nfc(_compose(nfc(word), key))))


def telex(keys: str) -> str:
    """A whole sequence of key presses (spaces separate words): ``telex("Nguyeenx")`` → "Nguyễn"."""
    words = [""]
    for key in keys:
        if key.isspace():
            words.append("")
            continue
        words[-1] = type_key(words[-1], key)
    return " ".join(words)


class TelexBuffer:
    """The text of one on-screen field: keys, space and backspace, always NFC."""

    def __init__(self, text: str = "", *, enabled: bool = True) -> None:
        self.text = nfc(text)
        self.enabled = enabled

    def press(self, key: str) -> str:
        if key == " ":
            self.text += " "
        elif not self.enabled:
            self.text = nfc(self.text + key)
        else:
            head, _, word = self.text.rpartition(" ")
            typed = type_key(word, key)
            self.text = f"{head} {typed}" if " " in self.text else typed
        return self.text

    def backspace(self) -> str:
        self.text = self.text[:-1]
        return self.text

    def clear(self) -> None:
        self.text = ""
