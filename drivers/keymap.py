"""Key events from a keyboard-wedge reader → scanned text, as a US keyboard would type it.

A reader in keyboard mode sends key positions, not characters, so the text depends on
the layout the reader assumes: readers default to US, and this decoder applies US only.
It is pure (no device, no clock: event times come with the events), so recorded event
sequences replay through exactly the code that runs at the checkpoint.

What it understands: Shift, CapsLock (letters only, like a real keyboard), the keypad's
digits and operators, Ctrl+letter control characters, and Alt+keypad decimal codes,
which readers use for what a layout cannot type (Zebra sends GS as Alt+029). Vietnamese
letters have no dependable path through any of these: ID cards need serial or camera.
"""

from __future__ import annotations

from evdev import ecodes as e

EV_KEY, EV_SYN, SYN_DROPPED = e.EV_KEY, e.EV_SYN, e.SYN_DROPPED
RELEASE, PRESS, REPEAT = 0, 1, 2

_ROWS = {
    e.KEY_1: "1!",
    e.KEY_2: "2@",
    e.KEY_3: "3#",
    e.KEY_4: "4$",
    e.KEY_5: "5%",
    e.KEY_6: "6^",
    e.KEY_7: "7&",
    e.KEY_8: "8*",
    e.KEY_9: "9(",
    e.KEY_0: "0)",
    e.KEY_MINUS: "-_",
    e.KEY_EQUAL: "=+",
    e.KEY_LEFTBRACE: "[{",
    e.KEY_RIGHTBRACE: "]}",
    e.KEY_BACKSLASH: "\\|",
    e.KEY_SEMICOLON: ";:",
    e.KEY_APOSTROPHE: "'\"",
    e.KEY_GRAVE: "`~",
    e.KEY_COMMA: ",<",
    e.KEY_DOT: ".>",
    e.KEY_SLASH: "/?",
    e.KEY_SPACE: "  ",
}
_LETTERS = {getattr(e, f"KEY_{c}"): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_KEYPAD = {
    e.KEY_KP0: "0",
    e.KEY_KP1: "1",
    e.KEY_KP2: "2",
    e.KEY_KP3: "3",
    e.KEY_KP4: "4",
    e.KEY_KP5: "5",
    e.KEY_KP6: "6",
    e.KEY_KP7: "7",
    e.KEY_KP8: "8",
    e.KEY_KP9: "9",
    e.KEY_KPDOT: ".",
    e.KEY_KPSLASH: "/",
    e.KEY_KPASTERISK: "*",
    e.KEY_KPMINUS: "-",
    e.KEY_KPPLUS: "+",
    e.KEY_KPEQUAL: "=",
    e.KEY_KPCOMMA: ",",
}
_KEYPAD_DIGITS = {code: ch for code, ch in _KEYPAD.items() if ch.isdigit()}
_SHIFT = {e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT}
_ALT = {e.KEY_LEFTALT, e.KEY_RIGHTALT}
_CTRL = {e.KEY_LEFTCTRL, e.KEY_RIGHTCTRL}
_ENTER = {e.KEY_ENTER, e.KEY_KPENTER}
_CONTROL_BASE = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_"  # Ctrl+X → chr(ord(X) & 0x1f)


def alt_code(digits: str) -> str | None:
    """The character of an Alt+keypad decimal code, as Windows reads it.

    Below 128 it is ASCII, control characters included (GS = Alt+029). From 128 on, a
    leading zero selects the ANSI code page (cp1252), none the OEM one (cp437); values
    past 255 wrap modulo 256. Alt+0 alone types nothing.
    """
    value = int(digits) % 256
    if value == 0:
        return None
    if value < 128:
        return chr(value)
    try:
        return bytes([value]).decode("cp1252" if digits.startswith("0") else "cp437")
    except UnicodeDecodeError:  # the five holes of cp1252: keep the byte's own code point
        return chr(value)


class KeyDecoder:
    """Turns one device's key events into complete scans; one instance per device.

    A scan ends at Enter (or Tab when ``tab_ends_scan``), or when the next key comes more
    than ``key_timeout_s`` after the last one (readers with no suffix); the read loop
    calls ``flush`` when the device has been quiet that long.
    """

    def __init__(self, *, tab_ends_scan: bool = False, key_timeout_s: float = 0.0) -> None:
        self.tab_ends_scan = tab_ends_scan
        self.key_timeout_s = key_timeout_s
        self._text: list[str] = []
        self._last_key_at: float | None = None
        self._shift: set[int] = set()
        self._alt: set[int] = set()
        self._ctrl: set[int] = set()
        self._caps = False
        self._alt_digits = ""
        self._dropping = False  # after SYN_DROPPED, until the next SYN_REPORT

    @property
    def pending(self) -> bool:
        """True while a scan has begun and not ended."""
        return bool(self._text)

    def flush(self) -> str | None:
        """End the current scan (the reader went quiet); None when there is none."""
        text = "".join(self._text)
        self._text.clear()
        return text or None

    def feed(self, etype: int, code: int, value: int, time: float) -> list[str]:
        """One event; returns the scans it completed (usually none, at most two)."""
        if etype == EV_SYN:
            self._on_sync(code)
            return []
        if etype != EV_KEY or self._dropping:
            return []
        done: list[str] = []
        if value != RELEASE:
            if self._timed_out(time):
                self._finish(done)
            self._last_key_at = time
        if self._on_key(code, value):
            self._finish(done)
        return done

    def _finish(self, done: list[str]) -> None:
        text = self.flush()
        if text is not None:
            done.append(text)

    def _timed_out(self, time: float) -> bool:
        last = self._last_key_at
        return bool(self.key_timeout_s and self._text and last is not None and time - last > self.key_timeout_s)

    def _on_sync(self, code: int) -> None:
        if code == SYN_DROPPED:
            # The kernel's buffer overflowed: keys of this scan are missing, so the scan
            # is discarded rather than stored wrong, and held modifiers are forgotten.
            self._text.clear()
            self._shift.clear()
            self._alt.clear()
            self._ctrl.clear()
            self._alt_digits = ""
            self._dropping = True
        else:
            self._dropping = False

    def _on_key(self, code: int, value: int) -> bool:
        """Apply one key event; True when it ends the scan."""
        if code in _SHIFT or code in _CTRL:
            held = self._shift if code in _SHIFT else self._ctrl
            (held.discard if value == RELEASE else held.add)(code)
            return False
        if code in _ALT:
            return self._on_alt(code, value)
        if value == RELEASE:
            return False
        if code == e.KEY_CAPSLOCK:
            self._caps ^= value == PRESS
            return False
        if self._alt:
            if code in _KEYPAD_DIGITS:
                self._alt_digits += _KEYPAD_DIGITS[code]
            return False  # Alt+other keys are shortcuts, not text
        if code in _ENTER or (code == e.KEY_TAB and self.tab_ends_scan):
            return True
        char = self._char(code)
        if char is not None:
            self._text.append(char)
        return False

    def _on_alt(self, code: int, value: int) -> bool:
        if value != RELEASE:
            self._alt.add(code)
            return False
        self._alt.discard(code)
        if not self._alt and self._alt_digits:
            char = alt_code(self._alt_digits)
            self._alt_digits = ""
            if char is not None:
                self._text.append(char)
        return False

    def _char(self, code: int) -> str | None:
        shifted = bool(self._shift)
        if code in _LETTERS:
            letter = _LETTERS[code]
            char = letter.upper() if shifted != self._caps else letter
        elif code in _ROWS:
            char = _ROWS[code][shifted]
        elif code in _KEYPAD:
            char = _KEYPAD[code]
        elif code == e.KEY_TAB:
            char = "\t"
        else:
            return None
        if self._ctrl:
            upper = char.upper()
            return chr(ord(upper) & 0x1F) if upper in _CONTROL_BASE else None
        return char
