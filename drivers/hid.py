"""USB keyboard-wedge readers through evdev: find them, take them, turn their keys into scans.

Readers are found by polling ``/sys/class/input`` twice a second (a directory listing
and a few small sysfs files per device, no permission needed), so a replugged reader is
back within about a second with no udev binding to install. Each reader gets one thread
running one long-lived read loop, because leaving evdev's read loop mid-batch drops the
rest of the batch. A reader that vanishes (ENODEV) is closed and forgotten, never polled.
"""

from __future__ import annotations

import errno
import fcntl
import fnmatch
import logging
import os
import re
import select
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import evdev

from drivers.keymap import KeyDecoder
from drivers.source import Sink, Source, SourceState
from kiosk.catalog import N_, bilingual
from kiosk.clock import SystemClock
from kiosk.config import Config, HidScannerConfig
from kiosk.scan import ScanEvent

log = logging.getLogger(__name__)

SYS_INPUT = Path("/sys/class/input")
DEV_INPUT = Path("/dev/input")
POLL_S = 0.5
EVIOCSCLOCKID = 0x400445A0  # _IOW('E', 0xa0, int): which clock stamps the events
Event = tuple[int, int, int, float]  # type, code, value, time (seconds)

# Without configured devices, only these are taken: never an ordinary keyboard.
READER_WORDS = ("barcode", "bar code", "scanner", "reader", "imager")
READER_VENDORS = {
    "0c2e": "Honeywell/Metrologic",
    "0536": "Hand Held Products (Honeywell)",
    "05e0": "Symbol/Zebra",
    "05f9": "Datalogic",
    "1eab": "Newland",
}
_USB_ID = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")
VIETNAMESE_WARNING = N_(
    "Keyboard-wedge mode cannot carry Vietnamese letters: chip ID-card QR codes need a reader in serial mode or the camera."
)


@dataclass(frozen=True)
class InputDeviceInfo:
    """What the kernel says about one input device, readable without opening it."""

    path: str  # /dev/input/eventN
    name: str
    vendor: str  # 4 hex digits, "" when unknown
    product: str
    links: tuple[str, ...] = ()  # /dev/input/by-id and by-path names pointing here

    @property
    def usb_id(self) -> str:
        return f"{self.vendor}:{self.product}" if self.vendor else ""

    @property
    def label(self) -> str:
        """The stable name (by-id link) when there is one: eventN numbers change on replug."""
        by_id = [link for link in self.links if "/by-id/" in link]
        return by_id[0] if by_id else self.path


@dataclass(frozen=True)
class Choice:
    use: bool
    reason: str  # Vietnamese (English), for the diagnostics screen


def read_text(path: Path) -> str:
    """A small sysfs file's content, "" when it is not there."""
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def list_input_devices(sys_root: Path = SYS_INPUT, dev_root: Path = DEV_INPUT) -> list[InputDeviceInfo]:
    """Every evdev node with its name and USB ids, from sysfs (no permission needed)."""
    links: dict[str, list[str]] = {}
    for folder in ("by-id", "by-path"):
        for link in sorted((dev_root / folder).glob("*")):
            links.setdefault(os.path.realpath(link), []).append(str(link))
    found = []
    for node in sorted(sys_root.glob("event*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 0):
        path = str(dev_root / node.name)
        device = node / "device"
        found.append(
            InputDeviceInfo(
                path=path,
                name=read_text(device / "name"),
                vendor=read_text(device / "id" / "vendor").lower(),
                product=read_text(device / "id" / "product").lower(),
                links=tuple(links.get(os.path.realpath(path), [])),
            )
        )
    return found


def _entry_matches(entry: str, info: InputDeviceInfo) -> bool:
    usb = _USB_ID.match(entry)
    if usb:
        return info.usb_id == f"{usb[1]}:{usb[2]}".lower()
    if entry.startswith("/"):
        names = (info.path, *info.links)
        return any(fnmatch.fnmatchcase(n, entry) for n in names) or os.path.realpath(entry) == info.path
    pattern = entry.lower()
    name = info.name.lower()
    return fnmatch.fnmatchcase(name, pattern) if any(c in pattern for c in "*?[") else pattern in name


def choose(info: InputDeviceInfo, config: HidScannerConfig) -> Choice:
    """Whether the kiosk takes this device as a reader, and why (shown to field staff)."""
    if config.devices:
        for entry in config.devices:
            if _entry_matches(entry, info):
                return Choice(True, f"{bilingual('matches devices entry')} {entry!r}")
        return Choice(False, bilingual("not in [scanners.hid] devices"))
    lowered = info.name.lower()
    for word in READER_WORDS:
        if word in lowered:
            return Choice(True, bilingual("name says {word}", word=repr(word)))
    if info.vendor in READER_VENDORS:
        return Choice(True, bilingual("reader vendor {vendor}", vendor=READER_VENDORS[info.vendor]))
    return Choice(False, bilingual("ordinary keyboard or device, left alone: list it in [scanners.hid] devices if it is a reader"))


class KeyDevice(Protocol):
    """The little the read loop needs from a device: real evdev nodes and recorded replays alike."""

    label: str

    def fileno(self) -> int: ...

    def read_batch(self) -> list[Event]:
        """All events of one read; BlockingIOError when none, OSError (ENODEV) when gone."""

    def close(self) -> None: ...


class NotAReader(Exception):
    """The device has no Enter or digit keys (a reader's extra interface, a power button)."""


class EvdevDevice:
    """A real /dev/input/eventN node, optionally grabbed for the kiosk alone."""

    def __init__(self, info: InputDeviceInfo, grab: bool) -> None:
        self.label = info.label
        self._dev = evdev.InputDevice(info.path)
        try:
            keys = set(self._dev.capabilities().get(evdev.ecodes.EV_KEY, []))
            if not keys & {evdev.ecodes.KEY_ENTER, evdev.ecodes.KEY_KPENTER, evdev.ecodes.KEY_1}:
                raise NotAReader(info.path)
            if grab:
                self._dev.grab()
            # A Pi's wall clock jumps at its first NTP sync; a jump inside a scan must not
            # look like a pause between keys (which ends a scan), so stamp with the monotonic clock.
            fcntl.ioctl(self._dev.fd, EVIOCSCLOCKID, struct.pack("i", time.CLOCK_MONOTONIC))
        except BaseException:
            self._dev.close()
            raise

    def fileno(self) -> int:
        return self._dev.fileno()

    def read_batch(self) -> list[Event]:
        return [(ev.type, ev.code, ev.value, ev.sec + ev.usec / 1e6) for ev in self._dev.read()]

    def close(self) -> None:
        self._dev.close()  # closing the fd also ends the grab


class Catalog(Protocol):
    """Where devices come from: the system (sysfs + evdev) or, in tests, recorded replays."""

    def devices(self) -> list[InputDeviceInfo]: ...

    def open(self, info: InputDeviceInfo, grab: bool) -> KeyDevice: ...


class SystemCatalog:
    def devices(self) -> list[InputDeviceInfo]:
        return list_input_devices()

    def open(self, info: InputDeviceInfo, grab: bool) -> KeyDevice:
        return EvdevDevice(info, grab)


def read_loop(
    device: KeyDevice, decoder: KeyDecoder, on_scan: Callable[[str], None], wake_fd: int, stopping: Callable[[], bool]
) -> None:
    """Read one device until it is gone (OSError) or stopping; every event of a batch is fed.

    Waits in select with no timeout unless a scan is half-typed (then ``key_timeout_s``, so
    a reader with no Enter suffix still ends its scan), so an idle reader costs nothing.
    On stop, events already queued in the kernel are still read, so no scan is lost.
    """
    watched: list[KeyDevice | int] = [device, wake_fd]
    while not stopping():
        timeout = decoder.key_timeout_s if decoder.pending and decoder.key_timeout_s else None
        ready, _, _ = select.select(watched, [], [], timeout)
        if not ready:
            _deliver([decoder.flush()], on_scan)
        elif device in ready:
            _read_batch(device, decoder, on_scan)
    while _read_batch(device, decoder, on_scan):
        pass
    _deliver([decoder.flush()], on_scan)


def _read_batch(device: KeyDevice, decoder: KeyDecoder, on_scan: Callable[[str], None]) -> bool:
    """Feed one whole batch; False when nothing was waiting."""
    try:
        batch = device.read_batch()
    except BlockingIOError:
        return False
    for event in batch:
        _deliver(decoder.feed(*event), on_scan)
    return bool(batch)


def _deliver(texts: Iterable[str | None], on_scan: Callable[[str], None]) -> None:
    for text in texts:
        if text:
            on_scan(text)


@dataclass(frozen=True)
class _Reader:
    device: KeyDevice
    thread: threading.Thread
    gone: threading.Event  # set by the thread when it has closed its device


class HidSource(Source):
    """All keyboard-wedge readers: a discovery loop here, one reading thread per reader."""

    kind = "hid"

    def __init__(self, sink: Sink, config: Config, catalog: Catalog | None = None, poll_s: float = POLL_S) -> None:
        super().__init__(sink)
        self.config = config.scanners.hid
        self.catalog = catalog or SystemCatalog()
        self.poll_s = poll_s
        self.clock = SystemClock()
        self._readers: dict[str, _Reader] = {}  # by device path
        self._ignored: set[InputDeviceInfo] = set()
        self._problems: dict[str, str] = {}  # path → why a chosen device could not be opened
        self._wake_r, self._wake_w = os.pipe()

    def run_once(self) -> None:
        """Discovery: every ``poll_s``, drop readers that are gone and start new ones."""
        while not self.stopping:
            devices = self.catalog.devices()
            self._reap(devices)
            for info in devices:
                if info.path not in self._readers and info not in self._ignored:
                    self._consider(info)
            self._publish()
            self.wait(self.poll_s)
        for reader in self._readers.values():  # they see the wake-up pipe and finish their batches
            reader.thread.join(5.0)
        self._readers.clear()

    def close(self) -> None:
        if self._wake_w >= 0:  # -1 once released
            os.write(self._wake_w, b"x")  # never drained: every reader's select sees it and stops

    def release(self) -> None:
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._wake_r = self._wake_w = -1

    def _consider(self, info: InputDeviceInfo) -> None:
        choice = choose(info, self.config)
        if not choice.use:
            self._ignored.add(info)
            return
        try:
            device = self.catalog.open(info, self.config.grab)
        except NotAReader:
            self._ignored.add(info)
            return
        except OSError as exc:
            self._problems[info.path] = _open_problem(exc)
            return
        self._problems.pop(info.path, None)
        gone = threading.Event()
        thread = threading.Thread(target=self._read, args=(device, gone), name=f"hid-{info.path}", daemon=True)
        self._readers[info.path] = _Reader(device, thread, gone)
        log.info("hid: reading %s (%s)", device.label, info.name)
        thread.start()

    def _read(self, device: KeyDevice, gone: threading.Event) -> None:
        decoder = KeyDecoder(tab_ends_scan=self.config.tab_ends_scan, key_timeout_s=self.config.key_timeout_s)
        label = device.label

        def on_scan(text: str) -> None:
            self.emit(ScanEvent(source="hid", text=text, device=label, time=self.clock.read()))

        try:
            read_loop(device, decoder, on_scan, self._wake_r, lambda: self.stopping)
        except OSError as exc:
            vanished = exc.errno in (errno.ENODEV, errno.EIO, errno.ENXIO, errno.EBADF)
            log.info("hid: %s %s", label, "unplugged" if vanished else f"failed: {exc.strerror}")
            if decoder.flush():  # cut off mid-scan: storing the fragment would be a wrong visit
                log.warning("hid: %s: an unfinished scan was discarded", label)
        finally:
            device.close()
            gone.set()

    def _reap(self, devices: list[InputDeviceInfo]) -> None:
        """Forget readers whose device is gone, and ignored devices that changed (replugged)."""
        for path, reader in list(self._readers.items()):
            if reader.gone.is_set():
                reader.thread.join()
                del self._readers[path]
        self._ignored &= set(devices)
        present = {info.path for info in devices}
        self._problems = {path: why for path, why in self._problems.items() if path in present}

    def _publish(self) -> None:
        if self._readers:
            labels = ", ".join(r.device.label for r in self._readers.values())
            self.set_status(SourceState.CONNECTED, labels, bilingual(VIETNAMESE_WARNING))
        elif self._problems:
            path, why = next(iter(self._problems.items()))
            self.set_status(SourceState.ERROR, path, why)
        else:
            self.set_status(SourceState.WAITING, None, bilingual("no keyboard-wedge reader found"))


def _open_problem(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return bilingual("no permission: add the kiosk user to the 'input' group")
    if exc.errno == errno.EBUSY:
        return bilingual("device grabbed by another program")
    return f"{bilingual('cannot open')}: {exc.strerror or exc}"
