"""Whether ``checkpoint-kiosk run`` has a screen to open the app on, decided before anything is taken.

Over SSH without a display the app would start on no screen anyone sees (or on the
Pi's own console, behind the back of whoever is at it) and hold the run lock, so the
readers' own service and the next ``run`` are refused while nothing visible happens. So
``run`` refuses first, in one sentence that names ``run --headless`` and ``run --terminal``.

Never refused: a desktop session (``$DISPLAY``, ``$WAYLAND_DISPLAY``); a video driver set
explicitly (``$SDL_VIDEODRIVER``: the appliance's unit sets ``kmsdrm``, tests use
``offscreen``: whoever sets it knows where the app goes); a process started by systemd
(``$INVOCATION_ID``: the units in deploy/); and the Pi's own console, where SDL finds the
KMS/DRM screen by itself. Pure: the environment is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping

DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY")
SSH_VARIABLES = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")


def no_screen(environ: Mapping[str, str]) -> bool:
    """True when the app would open on no screen the person who started it can see: an SSH
    session without a forwarded display, no video driver configured, not a systemd unit."""
    if any(environ.get(name) for name in DISPLAY_VARIABLES):
        return False
    if environ.get("SDL_VIDEODRIVER") or environ.get("INVOCATION_ID"):
        return False
    return any(environ.get(name) for name in SSH_VARIABLES)
