"""Keyboard-wedge scans typed into the app's window: fast keys ending with Enter.

Without evdev (a laptop, a desktop, a reader the kiosk does not grab) a USB barcode
reader is just a very fast keyboard. A reader types a whole code within milliseconds per
key; a person needs a tenth of a second or more. So keys closer together than
``max_gap_s`` build up a scan, a slower key starts over, and Enter ends the scan.
"""

from __future__ import annotations

MIN_LENGTH = 3  # shorter bursts are key bounces or a person's double tap, not a code


class WedgeBuffer:
    """Collects the keys of one scan; times are monotonic seconds of each key."""

    def __init__(self, max_gap_s: float = 0.08) -> None:
        self.max_gap_s = max_gap_s
        self._chars: list[str] = []
        self._last: float | None = None

    def key(self, text: str, at: float) -> None:
        """A typed character (or the text of one key press)."""
        if self._last is not None and at - self._last > self.max_gap_s:
            self._chars.clear()
        self._chars.append(text)
        self._last = at

    def enter(self, at: float) -> str | None:
        """Enter pressed: the scanned text, or None when the keys were typed by a person."""
        text = "".join(self._chars)
        in_time = self._last is not None and at - self._last <= self.max_gap_s
        self._chars.clear()
        self._last = None
        return text if in_time and len(text) >= MIN_LENGTH else None
