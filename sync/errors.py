"""Why enrolment or a sync could not be done, as a stable code and plain words."""

from __future__ import annotations

from typing import Any

from kiosk.messages import render

# The server refused the device: only a new enrolment helps, so stop asking.
REENROL_CODES = frozenset({"token_revoked", "token_rotated", "token_unknown", "needs_reenrolment"})
# No answer at all: the background worker waits for the network with its health probe.
OFFLINE_CODES = frozenset({"server_unreachable", "server_error", "server_bad_answer"})


class SyncError(Exception):
    """``code`` is stable for scripts and screens; ``message()`` is Vietnamese unless asked for English."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def message(self, lang: str = "vi") -> str:
        return render(self.code, lang, **self.params)

    def __str__(self) -> str:
        return f"{self.message('vi')} ({self.message('en')})"
