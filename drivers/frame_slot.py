"""One slot holding the newest camera frame, shared by the capture and decode threads.

A camera delivers frames at its own pace; a decoder that queued them would fall further
and further behind the scene in front of it. The slot keeps only the newest frame: a
slow decoder skips frames but always decodes what the camera sees now. A recording, which
has no pace of its own, can instead hand over every frame (``put(..., wait_taken=True)``)
so a replay decodes each frame exactly once.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class FrameSlot(Generic[T]):
    """Thread-safe newest-item slot: ``put`` overwrites, ``take`` waits for something newer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._put = 0  # items put so far
        self._taken = 0  # value of _put at the last take
        self._closed = False

    def put(self, item: T, *, wait_taken: bool = False) -> bool:
        """Store the newest item; False once the slot is closed (the producer should stop)."""
        with self._cond:
            if wait_taken:
                self._cond.wait_for(lambda: self._taken == self._put or self._closed)
            if self._closed:
                return False
            self._item = item
            self._put += 1
            self._cond.notify_all()
            return True

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item not yet taken, waiting up to ``timeout``; None if none came.

        After ``close`` an item put before it is still handed out once, then None at once.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._put > self._taken or self._closed, timeout)
            if self._put == self._taken:
                return None
            self._taken = self._put
            self._cond.notify_all()
            return self._item

    def peek(self) -> T | None:
        """The newest item, taken or not (for a preview), without consuming it."""
        with self._cond:
            return self._item

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def close(self) -> None:
        """No more items: wakes a waiting producer and consumer."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        """Ready for a new producer (the camera was reopened); the old item is dropped."""
        with self._cond:
            self._closed = False
            self._item = None
            self._taken = self._put
