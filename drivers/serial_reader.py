"""Readers in USB-serial (CDC/VCOM) or RS-232 mode, through pyserial.

Serial mode is the one reader mode that carries Vietnamese names exactly, so this path
keeps the bytes as the reader sent them and leaves decoding to ``kiosk.textcodec``
(UTF-8, UTF-16 with or without BOM, then the configured code page). Framing is ours:
``readline`` returns partial lines at a timeout, and some readers send UTF-16 (where a
CR is two bytes) or no terminator at all. An unplugged reader is closed and reopened when
it returns, with a growing pause in between (see ``Source``), never a busy loop.
"""

from __future__ import annotations

import codecs
import errno
import glob
import logging
import re
import threading

import serial

from drivers.source import Sink, Source, SourceState
from kiosk.catalog import bilingual
from kiosk.clock import SystemClock
from kiosk.config import Config
from kiosk.messages import render_both
from kiosk.scan import ScanEvent

log = logging.getLogger(__name__)

MAX_FRAME = 65536  # no terminator in this many bytes: wrong line settings or noise; cut here
_BOMS = {codecs.BOM_UTF16_BE: "be", codecs.BOM_UTF16_LE: "le"}
_TERMINATOR = {"bytes": re.compile(rb"[\r\n]"), "be": re.compile(rb"\x00[\r\n]"), "le": re.compile(rb"[\r\n]\x00")}


def forced_order(encoding: str) -> str | None:
    """'be'/'le' when the configured encoding fixes the UTF-16 byte order, else None."""
    name = codecs.lookup(encoding).name
    return {"utf-16-be": "be", "utf-16-le": "le"}.get(name)


class Framer:
    """Bytes as they arrive → frames ending at CR, LF or CRLF, in UTF-16 too.

    Whether a frame is UTF-16 is decided from its first two bytes (a BOM, or the zero
    byte every ASCII character has in UTF-16: ID numbers, ``HC1:`` and phone numbers
    all start with ASCII), unless the configured encoding fixes it. Frames keep their
    bytes exactly, without the terminator; empty frames (the LF of a CRLF) are dropped.
    """

    def __init__(self, order: str | None = None) -> None:
        self.forced = order
        self._buf = bytearray()
        self._order: str | None = order
        self._last: str | None = None  # the order of the frame before: a lone CR or LF after UTF-16 waits for its 0

    @property
    def pending(self) -> bool:
        return bool(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """The frames completed by these bytes."""
        self._buf += data
        frames = []
        while self._buf:
            order = self._order or self._detect()
            if order is None:
                break
            self._order = order
            end = self._terminator(order)
            if end is None:
                if len(self._buf) >= MAX_FRAME:
                    frames.append(self._cut(MAX_FRAME, 0))
                break
            frames.append(self._cut(end, 1 if order == "bytes" else 2))
        return [f for f in frames if _has_content(f)]

    def flush(self) -> bytes | None:
        """End the frame now (the reader went quiet, or was unplugged)."""
        frame = self._cut(len(self._buf), 0)
        return frame if _has_content(frame) else None

    def _detect(self) -> str | None:
        head = bytes(self._buf[:2])
        if head in _BOMS:
            return _BOMS[head]
        if len(head) < 2:
            if head == b"\x00" or head not in (b"\r", b"\n") or self._last in ("le", "be"):
                return None  # a UTF-16LE terminator's second half may still be on its way
            return "bytes"
        if head[0] == 0:
            return "be"
        return "le" if head[1] == 0 else "bytes"

    def _terminator(self, order: str) -> int | None:
        for match in _TERMINATOR[order].finditer(self._buf):
            if order == "bytes" or match.start() % 2 == 0:
                return match.start()
        return None

    def _cut(self, end: int, skip: int) -> bytes:
        frame = bytes(self._buf[:end])
        del self._buf[: end + skip]
        self._last, self._order = self._order, self.forced
        return frame


def _has_content(frame: bytes) -> bool:
    return bool(frame.strip(b"\r\n\x00"))


def matching_ports(pattern: str) -> list[str]:
    """The ports a configured path or glob names, in name order."""
    return sorted(glob.glob(pattern)) if glob.has_magic(pattern) else glob.glob(glob.escape(pattern))


def open_problem(exc: OSError) -> str:
    """Why a port cannot be opened, in words an admin can act on."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return bilingual("no permission: add the kiosk user to the 'dialout' group")
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in str(exc):
        return bilingual("port in use by another program")
    return f"{bilingual('cannot open the port')}: {getattr(exc, 'strerror', None) or exc}"


class SerialSource(Source):
    """One serial reader: the first port matching ``[scanners.serial] port`` that opens."""

    kind = "serial"

    def __init__(self, sink: Sink, config: Config) -> None:
        super().__init__(sink)
        self.config = config.scanners.serial
        self.clock = SystemClock()
        self._port: serial.Serial | None = None
        self._port_lock = threading.Lock()  # close() runs on the stopping thread
        self._unplugged = False  # lost since it was last open: "waiting for it to come back" says it all

    def run_once(self) -> None:
        port = self._open()
        if port is None:
            return
        framer = Framer(forced_order(self.config.encoding))
        try:
            self._read(port, framer)
            self._emit(framer.flush(), port.port)  # stopping: a scan with no terminator is complete
        except OSError as exc:  # SerialException is an OSError: the reader was unplugged
            # one line of ours per unplugging; pyserial's own words only for whoever debugs it
            unplugged = render_both("reader_unplugged", device=port.port)
            log.warning("serial: %s", unplugged)
            log.debug("serial: %s: %s", port.port, exc)
            self._unplugged = True
            self.set_status(SourceState.WAITING, port.port, unplugged, logged=False)
            if framer.flush():  # cut off mid-scan: storing the fragment would be a wrong visit
                log.warning("serial: %s: an unfinished scan was discarded", port.port)
        finally:
            with self._port_lock:
                self._port = None
                port.close()

    def close(self) -> None:
        with self._port_lock:
            if self._port is not None:
                self._port.cancel_read()

    def _open(self) -> serial.Serial | None:
        cfg = self.config
        problem = None
        for path in matching_ports(cfg.port):
            try:
                port = serial.Serial(
                    path,
                    baudrate=cfg.baudrate,
                    bytesize=cfg.bytesize,
                    parity=cfg.parity,
                    stopbits=cfg.stopbits,
                    timeout=None,
                    exclusive=True,
                )
            except OSError as exc:
                problem = (path, open_problem(exc))
                continue
            with self._port_lock:
                self._port = port
            self._unplugged = False
            self.set_status(SourceState.CONNECTED, path)
            return port
        if problem:
            self.set_status(SourceState.ERROR, *problem)
        elif not self._unplugged:  # after an unplugging the status already says it is awaited
            self.set_status(SourceState.WAITING, cfg.port, bilingual("no such port yet"))
        return None

    def _read(self, port: serial.Serial, framer: Framer) -> None:
        """Frames until stopped; then what the kernel already holds, so no scan is lost."""
        quiet = self.config.quiet_s
        while not self.stopping:
            timeout = quiet if framer.pending and quiet else None
            if port.timeout != timeout:
                port.timeout = timeout
            chunk = port.read(port.in_waiting or 1)
            if chunk:
                for frame in framer.feed(chunk):
                    self._emit(frame, port.port)
            elif not self.stopping:
                self._emit(framer.flush(), port.port)  # quiet for quiet_s: a frame with no terminator
        while waiting := port.in_waiting:
            for frame in framer.feed(port.read(waiting)):
                self._emit(frame, port.port)

    def _emit(self, frame: bytes | None, device: str | None) -> None:
        if frame:
            self.emit(ScanEvent(source="serial", raw=frame, device=device, time=self.clock.read(), encoding=self.config.encoding))
