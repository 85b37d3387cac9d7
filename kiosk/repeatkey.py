"""The repeat check's key: random, shared by the kiosk's processes, never written to the SD card.

A repeat is the same credential scanned again within seconds, by any process on this kiosk
(the running kiosk and a ``record`` from the command line, two readers at once), so the
keyed hash the store compares (kiosk/scan.py) must use one key in all of them. The key is
32 random bytes in a file on a RAM filesystem ($XDG_RUNTIME_DIR, else /dev/shm), created
0600 by the first process that needs it after a boot, and gone when the power is: the
card holds hashes nobody can recompute, even for a 12-digit ID number whose few likely
values could otherwise be hashed one by one. Where no RAM filesystem is found, the key is
this process's own: repeats across processes then go unnoticed, which costs a duplicate
visit, never a lost one.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

KEY_BYTES = 32
RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
_process_key = secrets.token_bytes(KEY_BYTES)


def _filesystem(path: Path) -> str:
    """The type of the filesystem holding ``path`` (longest mount point in /proc/self/mounts)."""
    best, kind = "", ""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    real = os.path.realpath(path)
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3:
            point = parts[1].replace("\\040", " ")
            if (real == point or real.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
                best, kind = point, parts[2]
    return kind


def _ram_dir() -> Path | None:
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if candidate and Path(candidate).is_dir() and _filesystem(Path(candidate)) in RAM_FILESYSTEMS:
            return Path(candidate)
    return None


def repeat_key(data_dir: Path) -> bytes:
    """The key for this kiosk's data directory: from RAM if another process made it, else made now."""
    ram = _ram_dir()
    if ram is None:
        return _process_key
    name = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:24]
    path = ram / f"checkpoint-kiosk-{os.getuid()}-{name}.repeat-key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            key = path.read_bytes()
        except OSError:
            return _process_key
        if len(key) == KEY_BYTES and path.stat().st_uid == os.getuid():
            return key
        return _process_key  # half-written by a process that died, or not ours: keep to ourselves
    except OSError:
        return _process_key
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
    finally:
        os.close(fd)
    return path.read_bytes()
