"""One kiosk per data directory, and no restore or quarantine under a running kiosk.

``run`` (the app, ``--headless``, ``--terminal``) holds an ``flock`` on ``run.lock`` in
the data directory for as long as it runs; ``restore`` and the store's move-aside of a
corrupt database take the same lock, so they never swap a file a kiosk is writing to.
The kernel drops the lock when its holder dies (``kill -9``, power cut), so a crash never
leaves the kiosk locked out. A process remembers which directories it holds, so its own
later steps (the kiosk opening its store) are not refused by its own lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kiosk.filelock import holder_pid, try_lock, unlock
from kiosk.messages import render_both

LOCK_FILE = "run.lock"

_held: dict[Path, int] = {}  # data directory → the fd holding its lock, in this process


class KioskRunning(Exception):
    """Another process holds the run lock of this data directory."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        super().__init__(data_dir, pid)
        self.data_dir = data_dir
        self.pid = pid

    def __str__(self) -> str:
        return render_both("kiosk_running", data_dir=self.data_dir, pid=self.pid or "?")


def _key(data_dir: Path) -> Path:
    return Path(data_dir).resolve()


def holds_run_lock(data_dir: Path) -> bool:
    return _key(data_dir) in _held


def acquire_run_lock(data_dir: Path) -> None:
    """Take the lock for this process until it exits (``run``), or raise KioskRunning."""
    key = _key(data_dir)
    if key in _held:
        return
    try:
        key.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = try_lock(key / LOCK_FILE)
    except OSError:
        return  # a read-only or full disk: the kiosk runs without the lock rather than not at all
    if fd is None:
        raise KioskRunning(key, holder_pid(key / LOCK_FILE))
    _held[key] = fd


def release_run_lock(data_dir: Path) -> None:
    fd = _held.pop(_key(data_dir), None)
    if fd is not None:
        unlock(fd)


@contextmanager
def run_lock(data_dir: Path) -> Iterator[None]:
    """The lock for one step (a restore, a quarantine); kept if this process already held it."""
    if holds_run_lock(data_dir):
        yield
        return
    acquire_run_lock(data_dir)
    try:
        yield
    finally:
        release_run_lock(data_dir)
