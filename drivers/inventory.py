"""What readers this machine has, and what the kiosk would do with each: the field self-test.

Field staff plug a reader in and need to know at once whether the kiosk will use it and,
if not, the one thing to change (a config key, a group, the reader's mode). Everything
here is read from sysfs and /dev without opening a device, so it is safe to run beside a
running kiosk.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from serial.tools import list_ports

from drivers.capture import camera_node
from drivers.hid import VIETNAMESE_WARNING, choose, list_input_devices, read_text
from drivers.serial_reader import matching_ports
from kiosk.catalog import bilingual
from kiosk.config import Config

SYS_VIDEO = Path("/sys/class/video4linux")


@dataclass(frozen=True)
class Found:
    """One device and the kiosk's decision about it."""

    path: str
    name: str
    use: bool
    reason: str
    usb_id: str = ""
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    kind: str
    enabled: bool
    found: list[Found]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "enabled": self.enabled,
            "note": self.note,
            **self.extra,
            "devices": [asdict(f) for f in self.found],
        }


def _disabled(kind: str) -> str:
    return bilingual("the {kind} source is off", kind=kind)


def _access(path: str, group: str) -> str:
    if os.access(path, os.R_OK | os.W_OK):
        return ""
    return "; " + bilingual("no permission: join group '{group}'", group=group)


def hid_section(config: Config) -> Section:
    cfg = config.scanners.hid
    found = []
    for info in list_input_devices():
        choice = choose(info, cfg)
        use = cfg.enabled and choice.use
        reason = choice.reason if cfg.enabled or not choice.use else f"{choice.reason}; {_disabled('hid')}"
        if use:
            reason += _access(info.path, "input")
        found.append(Found(info.path, info.name, use, reason, info.usb_id, info.links))
    return Section("hid", cfg.enabled, found, bilingual(VIETNAMESE_WARNING), {"devices_config": cfg.devices})


def serial_section(config: Config) -> Section:
    cfg = config.scanners.serial
    matches = matching_ports(cfg.port)
    ports = {p.device: p for p in list_ports.comports(include_links=True)}
    found = []
    for path in sorted(set(ports) | set(matches)):
        port = ports.get(path)
        usb_id = f"{port.vid:04x}:{port.pid:04x}" if port is not None and port.vid is not None else ""
        description = port.description if port is not None and port.description != "n/a" else ""
        if path not in matches:
            use, reason = False, f"{bilingual('does not match the configured port')}: port = {cfg.port!r}"
        elif path != matches[0]:
            use, reason = False, bilingual("an earlier matching port is used: {port}", port=matches[0])
        elif not cfg.enabled:
            use, reason = False, _disabled("serial")
        else:
            use, reason = True, f"{bilingual('matches the configured port')}: port = {cfg.port!r}" + _access(path, "dialout")
        target = os.path.realpath(path)
        found.append(Found(path, description, use, reason, usb_id, (target,) if target != path else ()))
    note = bilingual("Serial-mode readers carry Vietnamese names exactly.")
    return Section("serial", cfg.enabled, found, note, {"port_config": cfg.port, "baudrate": cfg.baudrate})


def camera_section(config: Config) -> Section:
    cfg = config.scanners.camera
    node = camera_node(cfg.device)
    wanted = os.path.realpath(node) if node else None
    found = []
    for sys_node in sorted(SYS_VIDEO.glob("video*")):
        path = f"/dev/{sys_node.name}"
        if path != wanted:
            use, reason = False, f"{bilingual('not the configured device')}: {cfg.device!r}"
        elif not cfg.enabled:
            use, reason = False, _disabled("camera")
        else:
            use, reason = True, bilingual("the configured camera") + _access(path, "video")
        found.append(Found(path, read_text(sys_node / "name"), use, reason))
    if node is None:  # a recording stands in for the camera
        present = Path(cfg.device).exists()
        reason = (
            bilingual("a video file or image folder stands in for the camera") if present else bilingual("no such file or folder")
        )
        found.append(Found(cfg.device, "", cfg.enabled and present, reason if cfg.enabled else _disabled("camera")))
    return Section("camera", cfg.enabled, found, "", {"device_config": cfg.device})


def inventory(config: Config) -> list[Section]:
    return [hid_section(config), serial_section(config), camera_section(config)]
