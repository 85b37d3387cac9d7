"""Recorded evdev event sequences, replayed through the kiosk's real read loop.

No input device exists on a build machine, so a recording stands in for one: each
``read_batch`` returns the next batch exactly as the kernel's read() did, a pipe makes
select() wait for it as it waits for a device, and an ``error`` line raises the OSError
a vanished device raises. Format (JSON lines, tests/data/evdev/): a first line
``{"device": {"name", "usb_id"}}``, then ``{"batch", "time", "type", "code", "value"}``
per event, or ``{"batch", "error": "ENODEV"}``.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from drivers.hid import Event, InputDeviceInfo

DATA = Path(__file__).parent / "data" / "evdev"


class Recording:
    def __init__(self, name: str) -> None:
        lines = [json.loads(line) for line in (DATA / name).read_text().splitlines()]
        self.device: dict[str, str] = lines[0]["device"]
        self.batches: list[list[Event] | str] = []
        for line in lines[1:]:
            if line["batch"] == len(self.batches):
                self.batches.append(line.get("error") or [])
            if "error" not in line:
                batch = self.batches[-1]
                assert isinstance(batch, list)
                batch.append((line["type"], line["code"], line["value"], line["time"]))

    def info(self, number: int) -> InputDeviceInfo:
        vendor, _, product = self.device["usb_id"].partition(":")
        return InputDeviceInfo(f"/dev/input/event{number}", self.device["name"], vendor, product)


class ReplayDevice:
    """A KeyDevice playing one recording; ``release`` makes its next batches readable."""

    def __init__(self, recording: Recording, label: str, on_gone: Callable[[], None] = lambda: None) -> None:
        self.label = label
        self._on_gone = on_gone
        self._batches = list(recording.batches)
        self._ready_r, self._ready_w = os.pipe()
        os.set_blocking(self._ready_r, False)
        self.closed = False

    def release(self, count: int | None = None) -> None:
        os.write(self._ready_w, b"x" * (len(self._batches) if count is None else count))

    def fileno(self) -> int:
        return self._ready_r

    def read_batch(self) -> list[Event]:
        os.read(self._ready_r, 1)  # BlockingIOError when nothing was released, like evdev
        batch = self._batches.pop(0)
        if isinstance(batch, str):
            self._on_gone()  # the kernel removes the node as the error is raised
            raise OSError(getattr(errno, batch), os.strerror(getattr(errno, batch)))
        return batch

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._ready_r)
            os.close(self._ready_w)


class ReplayCatalog:
    """Input devices that come and go as a test plugs recordings in; each plug plays from the start.

    A recording's error line unplugs its device, as a vanished device leaves /dev/input.
    """

    def __init__(self) -> None:
        self._plugged: dict[str, tuple[InputDeviceInfo, Recording]] = {}
        self._lock = threading.Lock()
        self.opened: list[tuple[str, bool]] = []  # (path, grabbed)

    def plug(self, info: InputDeviceInfo, recording: Recording) -> None:
        with self._lock:
            self._plugged[info.path] = (info, recording)

    def unplug(self, path: str) -> None:
        with self._lock:
            self._plugged.pop(path, None)

    def devices(self) -> list[InputDeviceInfo]:
        with self._lock:
            return [info for info, _ in self._plugged.values()]

    def open(self, info: InputDeviceInfo, grab: bool) -> ReplayDevice:
        with self._lock:
            if info.path not in self._plugged:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), info.path)
            recording = self._plugged[info.path][1]
            self.opened.append((info.path, grab))
        device = ReplayDevice(recording, info.label, lambda: self.unplug(info.path))
        device.release()
        return device
