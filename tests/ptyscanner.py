"""A serial barcode reader made of a pty pair: the kiosk opens a symlink to the slave side.

The kiosk's own pyserial code opens, configures, reads and loses the port exactly as it
would a USB-CDC reader; unplugging closes the master and removes the symlink, replugging
makes a new pair behind the same path (like /dev/serial/by-id/...).
"""

from __future__ import annotations

import os
import tty
from pathlib import Path


class PtyScanner:
    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self._slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR→LF: the bytes arrive exactly as written
        self.link.symlink_to(os.ttyname(self._slave))

    def unplug(self) -> None:
        self.link.unlink()
        os.close(self._slave)
        os.close(self.master)
        self.master = self._slave = -1

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def close(self) -> None:
        if self.master >= 0:
            self.unplug()
