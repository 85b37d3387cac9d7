"""systemd's watchdog, fed from the Kivy clock: a UI whose main loop freezes gets restarted.

With ``WatchdogSec=`` in the unit, systemd sets ``WATCHDOG_USEC`` and ``NOTIFY_SOCKET``;
the app sends ``READY=1`` once its scan screen is up and ``WATCHDOG=1`` every half
period from a Clock callback, so only a living main loop keeps the kiosk alive.
"""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send one sd_notify message; False when not running under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract socket namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError:
            return False
    return True


def interval_s() -> float | None:
    """How often to send WATCHDOG=1 (half the period systemd expects), or None when off."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    return int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
