"""USB sticks an admin can export to: removable filesystems mounted under /media or /run/media.

Desktop automounters (udisks) mount sticks at /media/USER/LABEL or /run/media/USER/LABEL;
on the appliance the udev rule of ``setup.sh --service`` mounts them at
/media/checkpoint-kiosk/LABEL-sdXN. Only writable mounts are offered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MOUNT_ROOTS = ("/media", "/run/media")


@dataclass(frozen=True)
class Stick:
    path: Path
    label: str
    free_bytes: int


def _unescape(field: str) -> str:
    """/proc/mounts writes spaces and tabs in paths as octal escapes (\\040)."""
    return field.encode("latin-1").decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")


def mounted_sticks(mounts_file: Path = Path("/proc/mounts"), roots: tuple[str, ...] = MOUNT_ROOTS) -> list[Stick]:
    """Writable filesystems mounted below ``roots``, in path order."""
    try:
        lines = mounts_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    sticks = []
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        path = Path(_unescape(fields[1]))
        if not any(path.is_relative_to(root) and str(path) != root for root in roots):
            continue
        if "ro" in fields[3].split(",") or not os.access(path, os.W_OK):
            continue
        try:
            fs = os.statvfs(path)
        except OSError:
            continue
        sticks.append(Stick(path, path.name, fs.f_bavail * fs.f_frsize))
    return sorted(sticks, key=lambda s: str(s.path))


def flush_stick(path: Path) -> None:
    """Write everything still cached for the stick at ``path`` onto it: after this, pulling it loses nothing.

    The kiosk does not unmount the stick. Inside its hardened service it cannot: umount(2)
    needs CAP_SYS_ADMIN, and its mount namespace only receives the host's mounts (an
    unmount there would leave the host's mount in place); ``systemd-mount --umount`` as
    the kiosk's user needs polkit, which Raspberry Pi OS Lite does not have. The mount
    made by the udev rule is bound to the device and goes away when the stick is pulled.
    """
    if not path.is_dir():
        raise FileNotFoundError(path)
    os.sync()
