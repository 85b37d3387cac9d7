"""Enrolment codes as QR codes: in the terminal for an admin at the server, as PNG to print."""

from __future__ import annotations

import io
from pathlib import Path

import segno


def terminal_text(text: str) -> str:
    """The QR code drawn with block characters, scannable from a screen."""
    out = io.StringIO()
    segno.make(text, error="m", micro=False).terminal(out=out, compact=True, border=2)
    return out.getvalue()


def save_png(text: str, path: Path) -> None:
    segno.make(text, error="m", micro=False).save(str(path), kind="png", scale=8, border=4)
