"""systemd's notify protocol (sd_notify), so a unit with ``Type=notify`` and ``WatchdogSec=``
knows when the kiosk is ready and restarts it when it stops answering.

systemd sets ``NOTIFY_SOCKET`` (and ``WATCHDOG_USEC`` with ``WatchdogSec=``); each
message is one datagram. In kiosk/ so that both the touchscreen app (heartbeat from the
Kivy clock) and ``run --headless`` (heartbeat through the reader pipeline) use one copy,
without the drivers depending on the UI. Outside systemd every call is a no-op.
"""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send one sd_notify message (``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``, ``STATUS=…``);
    False when not running under systemd."""
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


def watchdog_interval_s() -> float | None:
    """How often to send ``WATCHDOG=1`` (half the period systemd expects), or None when off."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    return int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None


def child_environment() -> dict[str, str]:
    """This process's environment without systemd's notify variables, for the commands it
    runs: a systemd tool that inherits NOTIFY_SOCKET reports its own failure there
    (``ERRNO=…``) as if it came from the kiosk."""
    return {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
