"""A task the running kiosk repeats on a daemon thread of its own: now, then every ``interval_s``.

The clock watch and retention run this way rather than on Kivy's clock or the headless
loop: each may wait (a subprocess asking timedatectl, a purge's write transaction), which
the UI's main thread and the readers' thread must never do, and one implementation then
serves the app, ``run --terminal`` and ``run --headless`` alike.
"""

from __future__ import annotations

import threading


class Periodic:
    """``tick()`` at ``start`` and every ``interval_s`` until ``stop``; a subclass says what a tick does."""

    def __init__(self, name: str, interval_s: float) -> None:
        self.name = name
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> object:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop and wait for a tick under way to end (each of ours ends in seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval_s)
