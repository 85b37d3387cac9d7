"""One sync at a time on a device, whether the worker, the CLI or the screen started it.

An ``flock`` on a file in the data directory: it excludes other processes and, because
each acquisition opens the file anew, other threads of the same process too. The kernel
drops it when its holder dies, even by ``kill -9`` or a power cut, so a crash can never
leave the kiosk unable to sync.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

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
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if wait and not pause(POLL_S, stop):
                    continue
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for an admin with lsof at hand
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
