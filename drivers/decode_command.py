"""``checkpoint-kiosk decode FILE...``: what the kiosk's camera would read from photos and videos.

For field staff checking a card that "does not scan", and for replaying footage: each
file goes through the camera's own reader, decoder and appearance rule, so a code held
up for many frames of a video is reported once, at the frame where it came into view.
Output is one JSON object per line per code: ``file``, ``frame``, ``format``, ``text``
and ``kind`` (the credential kind, or null when the payload is rejected). Nothing else
about the person is printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from drivers.appearances import Appearances
from drivers.capture import CaptureError, open_recording
from drivers.decoder import Decoded, decode_frame
from kiosk.catalog import bilingual
from kiosk.config import Config
from kiosk.credentials import Rejection
from kiosk.exitcodes import ExitCode
from kiosk.recognise import recognise

if TYPE_CHECKING:  # the CLI loads this module while it is itself being imported
    from kiosk.cli import Context


def kind_of(code: Decoded, config: Config) -> str | None:
    credential = recognise(code.raw, max_bytes=config.kiosk.max_payload_bytes)
    return None if isinstance(credential, Rejection) else credential.kind


def decode_file(path: Path, config: Config) -> int:
    """Print every code appearance in one file; the number printed. Raises CaptureError."""
    camera = config.scanners.camera
    capture = open_recording(path, fps=camera.fps)
    seen = Appearances(camera.gone_after_s)
    found = 0
    try:
        for frame in capture.frames():
            for code in seen.new(decode_frame(frame.image), frame.time_s):
                line = {
                    "file": str(path),
                    "frame": frame.index,
                    "format": code.format,
                    "text": code.text,
                    "kind": kind_of(code, config),
                }
                click.echo(json.dumps(line, ensure_ascii=False))
                found += 1
    finally:
        capture.release()
    return found


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def decode(obj: Context, files: tuple[Path, ...]) -> None:
    """Decode every QR code in images (PNG, JPEG, …), videos and image folders.

    Prints one JSON object per line per code found: file, frame, format, text, kind.
    Exit 1 if a file has no code or cannot be read.
    """
    failed = False
    for path in files:
        try:
            found = decode_file(path, obj.config)
        except CaptureError as exc:
            click.echo(f"decode: {exc.detail}", err=True)
            failed = True
            continue
        if not found:
            click.echo(f"decode: {path}: {bilingual('no QR code found')}", err=True)
            failed = True
    sys.exit(ExitCode.NOT_DONE if failed else ExitCode.OK)
