"""The doctor's reader and camera checks (entry points ``checkpoint_kiosk.doctor_checks``).

``scanners`` says what the kiosk *would* use; these checks open it, as the user running
the doctor, because a reader that is found but cannot be opened (a missing group, a udev
rule not applied) is the most common field failure. Opening is read-only and brief: no
grab, no configuration, so it is safe beside a running kiosk.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator

from drivers.capture import CaptureError, open_capture
from drivers.decoder import decode_frame
from drivers.hid import choose, list_input_devices
from drivers.serial_reader import matching_ports
from kiosk.doctor import DoctorContext, Finding

DENIED = (errno.EACCES, errno.EPERM)


def _try_open(kind: str, path: str, flags: int, group: str, user: str) -> Finding:
    params = {"kind": kind, "path": path, "group": group, "user": user}
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in DENIED:
            return Finding("readers", "fail", "doctor_reader_denied", "fix_reader_denied", params)
        return Finding(
            "readers", "fail", "doctor_reader_error", "fix_reader_error", {**params, "detail": exc.strerror or type(exc).__name__}
        )
    os.close(fd)
    return Finding("readers", "ok", "doctor_reader_ok", params=params)


def check_readers(ctx: DoctorContext) -> Iterator[Finding]:
    """Each enabled serial port and keyboard-mode reader: there, and openable by this user."""
    scanners = ctx.config.scanners
    if not (scanners.serial.enabled or scanners.hid.enabled or scanners.camera.enabled):
        yield Finding("readers", "warn", "doctor_readers_none", "fix_readers_none")
        return
    if scanners.serial.enabled:
        ports = matching_ports(scanners.serial.port)
        if not ports:
            yield Finding(
                "readers", "fail", "doctor_reader_missing", "fix_reader_missing", {"kind": "serial", "wanted": scanners.serial.port}
            )
        else:  # the kiosk uses the first matching port (drivers/serial_reader.py)
            yield _try_open("serial", ports[0], os.O_RDWR | os.O_NOCTTY, "dialout", ctx.user)
    if scanners.hid.enabled:
        chosen = [info.path for info in list_input_devices() if choose(info, scanners.hid).use]
        if not chosen:
            wanted = ", ".join(scanners.hid.devices) or "barcode/scanner/reader"
            yield Finding("readers", "fail", "doctor_reader_missing", "fix_reader_missing", {"kind": "hid", "wanted": wanted})
        for path in chosen:
            yield _try_open("hid", path, os.O_RDONLY, "input", ctx.user)


def check_camera(ctx: DoctorContext) -> Iterable[Finding]:
    """When the camera is enabled: open it, take one frame and run the decoder on it.

    A live camera the running kiosk holds may refuse a second opener: then the kiosk's own
    status (Readers panel, ``scanners``) is the place to look, and this line says why.
    """
    cfg = ctx.config.scanners.camera
    if not cfg.enabled:
        return []
    params = {"device": cfg.device, "user": ctx.user}
    try:
        capture = open_capture(cfg.device, width=cfg.width, height=cfg.height, fps=cfg.fps)
    except CaptureError as exc:
        return [Finding("camera", "fail", "doctor_camera_failed", "fix_camera", {**params, "detail": exc.detail})]
    try:
        frame = capture.read()
        if frame is None:
            return [Finding("camera", "fail", "doctor_camera_failed", "fix_camera", {**params, "detail": "no frame"})]
        codes = decode_frame(frame.image)
    finally:
        capture.release()
    height, width = frame.image.shape[:2]
    return [Finding("camera", "ok", "doctor_camera_ok", params={**params, "width": width, "height": height, "codes": len(codes)})]
