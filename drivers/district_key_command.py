"""``checkpoint-kiosk district-key``: the district's public key loaded by hand, from a file or a QR code.

A kiosk that has not been enrolled (or only ever syncs by USB) records in clear until it
has the district key. The admin brings the key over either as the file of
``checkpoint-server keys export`` or as the QR code its ``--qr`` page prints, scanned here
with the kiosk's own configured reader (serial, keyboard-wedge or camera: the same
pipeline as ``run``, drivers/pipeline.py, every scan diverted so none becomes a visit).
Either way the key must match the fingerprint the admin types from the server's print-out,
so a swapped file or a QR code pasted over the printed one loads nothing. It lives in
drivers/ because only drivers/ may start the readers; the core (kiosk/) parses the key.
"""

from __future__ import annotations

import json
import queue
import time
from typing import TYPE_CHECKING, NoReturn

import click

from drivers.commands import NO_READER
from drivers.pipeline import Pipeline, enabled_kinds
from drivers.source import SourceState
from kiosk.catalog import bilingual
from kiosk.exitcodes import ExitCode
from kiosk.messages import render_both
from kiosk.scan import ScanEvent
from kiosk.seal import DistrictKey, UnusableKey, grouped, normalise_fingerprint
from kiosk.store import StorageError
from kiosk.textcodec import decode_bytes

if TYPE_CHECKING:
    from kiosk.cli import Context  # at run time kiosk.cli loads this module: no import cycle

SCAN_WAIT_S = 120.0


@click.command("district-key")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True), required=False)
@click.option("--qr", is_flag=True, help="Scan the QR code of `checkpoint-server keys export --qr` with this kiosk's reader.")
@click.option(
    "--fingerprint",
    required=True,
    help="The fingerprint the district server printed (keys list / keys export), to check the key against.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=SCAN_WAIT_S,
    show_default=True,
    help="With --qr: how long to wait for the scan, in seconds.",
)
@click.pass_obj
def district_key(obj: Context, file: str | None, qr: bool, fingerprint: str, timeout: float) -> None:
    """Load the district's public key from FILE or its QR code (--qr) before enrolment; checked against --fingerprint.

    Every visit recorded from then on is sealed to it, and the visits recorded before it
    (kept in clear until now) are sealed at once. Exit codes: 1 the key is not the one
    printed, not a key, or no QR code was scanned in time; 2 neither or both of FILE and
    --qr, or no reader to scan with.
    """
    if (file is None) == (not qr):
        _fail(ExitCode.USAGE, render_both("district_key_source"))
    key = _scanned(obj, fingerprint, timeout) if qr else _from_file(file or "-", fingerprint)
    try:
        count = obj.service.store.set_district_key(key)
    except StorageError as exc:
        from kiosk.cli import fail_storage

        fail_storage(exc, obj.config)
    click.echo(render_both("district_key_loaded", fingerprint=grouped(key.fingerprint), count=count))


def _from_file(file: str, fingerprint: str) -> DistrictKey:
    """The key in the JSON of ``keys export`` (or the bare base64 key), checked against ``fingerprint``."""
    text = click.open_file(file, encoding="utf-8", errors="replace").read(64 * 1024)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = {"public_key": text}
    public = data.get("public_key") if isinstance(data, dict) else None
    if not isinstance(public, str):
        _fail(ExitCode.NOT_DONE, render_both("district_key_bad"))
    try:
        key = DistrictKey.from_text(public)
    except UnusableKey:
        _fail(ExitCode.NOT_DONE, render_both("district_key_bad"))
    given = data.get("fingerprint")
    if key.fingerprint != normalise_fingerprint(fingerprint) or (isinstance(given, str) and given != key.fingerprint):
        _fail(ExitCode.NOT_DONE, render_both("district_key_mismatch"))
    return key


def _scanned(obj: Context, fingerprint: str, timeout: float) -> DistrictKey:
    """The first code the kiosk's readers read within ``timeout`` seconds, as a district key."""
    config = obj.config
    if not enabled_kinds(config):
        _fail(ExitCode.USAGE, bilingual(NO_READER))
    scans: queue.Queue[ScanEvent] = queue.Queue()

    def divert(event: ScanEvent) -> bool:  # every scan is the key's, never a visit
        scans.put(event)
        return True

    pipeline = Pipeline(config, obj.service, lambda _event, _result: None, divert=divert)
    if not pipeline.sources:
        reasons = "; ".join(f"{s.source}: {s.detail}" for s in pipeline.unusable)
        _fail(ExitCode.USAGE, f"{bilingual('no usable reader')}: {reasons}")
    deadline = time.monotonic() + timeout
    pipeline.start()
    try:
        while time.monotonic() < deadline and not any(s.state == SourceState.CONNECTED for s in pipeline.statuses()):
            time.sleep(0.05)  # the prompt once a reader is open: what is scanned now is read
        click.echo(render_both("district_key_scan", seconds=f"{timeout:g}"), err=True)
        event = scans.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        _fail(ExitCode.NOT_DONE, render_both("district_key_no_scan", seconds=f"{timeout:g}"))
    finally:
        pipeline.stop()
    text = event.text
    if text is None and event.raw is not None:
        decoded = decode_bytes(event.raw, event.encoding)
        text = decoded[0] if decoded else None
    try:
        key = DistrictKey.from_qr(text or "")
    except UnusableKey:
        _fail(ExitCode.NOT_DONE, render_both("district_key_not_qr"))
    if key.fingerprint != normalise_fingerprint(fingerprint):
        _fail(ExitCode.NOT_DONE, render_both("district_key_mismatch"))
    return key


def _fail(code: ExitCode, message: str) -> NoReturn:
    click.echo(message, err=True)
    raise SystemExit(code)
