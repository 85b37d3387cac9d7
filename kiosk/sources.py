"""Where a scan can come from: the ``source`` of a ScanEvent and of the visit it makes.

A module of its own so that the CLI can offer them as choices without importing the scan
service and everything it needs.
"""

from __future__ import annotations

SOURCES = ("hid", "serial", "camera", "keyboard", "manual", "cli")
