"""One sync at a time on a device, whether the worker, the CLI or the screen started it.

An ``flock`` on a file in the data directory (kiosk/filelock.py): it excludes other
processes and other threads of the same process, and the kernel drops it when its holder
dies, so a crash can never leave the kiosk unable to sync.
"""

from __future__ import annotations

import threading
from pathlib import Path

from kiosk.filelock import try_lock, unlock
from sync.backoff import pause

LOCK_FILE = "sync.lock"
POLL_S = 0.2


class SyncLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, *, wait: bool, stop: threading.Event | None = None) -> bool:
        """Take the lock; with ``wait``, until it is free or ``stop`` is set. False when not taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        while (fd := try_lock(self.path)) is None:
            if not wait or pause(POLL_S, stop):
                return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            unlock(self._fd)
            self._fd = None
