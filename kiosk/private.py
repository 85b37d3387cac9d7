"""Files that hold personal data or credentials belong to their owner alone, whatever the umask.

``os.open(..., 0o600)`` is only an upper bound: the umask can narrow it but never widen
it, yet a file that already exists keeps its old mode through ``O_TRUNC``. So every
private file is opened with 0600 *and* ``fchmod``'d to it, and every private directory
``chmod``'d to 0700 after ``mkdir``. Used by the kiosk's data directory and by the district
server's SQLite database and tracing exports (a umask of 022 makes them 0644 otherwise,
readable by every account on the machine), and the kiosk's USB exports and backups.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) made, and ``path`` itself the owner's only."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)
    return path


def open_private(path: Path, *, exclusive: bool = False) -> int:
    """A descriptor to write ``path`` from its start, the file mode 0600 whatever was there;
    with ``exclusive``, FileExistsError when there was something."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, data: bytes) -> None:
    """``data`` into ``path``, mode 0600."""
    with os.fdopen(open_private(path), "wb") as out:
        out.write(data)


def make_private(path: Path) -> None:
    """An existing file or a new empty one, mode 0600 (a database SQLite is about to open)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    os.chmod(path, PRIVATE_FILE)
