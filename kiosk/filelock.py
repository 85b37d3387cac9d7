"""An ``flock`` on a file in the data directory: one holder across processes and threads.

Used for the run lock (one kiosk per data directory, kiosk/runlock.py) and the sync lock
(one sync at a time, sync/lock.py). Each acquisition opens the file anew, so other
threads of the same process are excluded too. The kernel drops the lock when its holder
dies, even by ``kill -9`` or a power cut, so a crash never leaves the kiosk locked out.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import suppress
from pathlib import Path


def try_lock(path: Path) -> int | None:
    """The locked file's descriptor, or None while another holder has it. The holder's pid
    is written in the file, for a refusal message or an admin with lsof at hand."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    with suppress(OSError):  # a full disk: the lock holds without the note
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def holder_pid(path: Path) -> int | None:
    """The pid the holder wrote, if it could."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
