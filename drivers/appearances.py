"""Which codes in a frame are new scans.

A card held up to the camera is in view for dozens of frames, and the decoder misses it
in a few of them (motion blur, glare). It must still count as one scan. A different code
counts at once, and the same code shown again after it has been out of view for
``gone_after_s`` is a new scan too (the scan service's camera repeat window then decides
whether the guard sees green or amber).
"""

from __future__ import annotations

from drivers.decoder import Decoded


class Appearances:
    """Remembers when each code was last seen, in the frames' own time (seconds)."""

    def __init__(self, gone_after_s: float) -> None:
        self.gone_after_s = gone_after_s
        self._last_seen: dict[tuple[str, bytes], float] = {}

    def new(self, codes: list[Decoded], at: float) -> list[Decoded]:
        """The codes of the frame taken at ``at`` that were not in view just before."""
        fresh: list[Decoded] = []
        for code in codes:
            key = (code.format, code.raw)
            last = self._last_seen.get(key)
            if last is None or at - last > self.gone_after_s:
                fresh.append(code)
            self._last_seen[key] = at
        self._last_seen = {key: seen for key, seen in self._last_seen.items() if at - seen <= self.gone_after_s}
        return fresh
