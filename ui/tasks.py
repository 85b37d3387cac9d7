"""Work off the main thread, results back on it: the UI never waits for a disk or a network.

``background(work, done)`` runs ``work`` in a daemon thread and calls ``done(result)`` or
``failed(exc)`` on Kivy's main thread; ``report`` hands progress callbacks the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from kivy.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")


def on_main(func: Callable[..., Any], *args: Any) -> None:
    """Call ``func(*args)`` on Kivy's main thread at the next frame."""
    Clock.schedule_once(lambda _dt: func(*args), 0)


def report(func: Callable[..., Any]) -> Callable[..., None]:
    """A callback safe to call from any thread: it runs ``func`` on the main thread."""
    return lambda *args: on_main(func, *args)


def background(
    work: Callable[[], T], done: Callable[[T], Any], failed: Callable[[BaseException], Any], name: str = "ui-task"
) -> threading.Thread:
    def run() -> None:
        try:
            result = work()
        except Exception as exc:  # every failure is shown to the admin, in words
            log.error("%s failed: %s", name, type(exc).__name__)
            on_main(failed, exc)
            return
        on_main(done, result)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
