"""Enrolment codes as QR codes in the terminal for an admin at the server (the page to
print is ``server/code_sheet.py``)."""

from __future__ import annotations

import io

import segno


def terminal_text(text: str) -> str:
    """The QR code drawn with block characters, scannable from a screen."""
    out = io.StringIO()
    segno.make(text, error="m", micro=False).terminal(out=out, compact=True, border=2)
    return out.getvalue()
