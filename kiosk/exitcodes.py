"""How every command line of the project ends: its exit code, and its JSON on stdout.

One table for ``checkpoint-kiosk`` (the core, drivers/, sync/ and ui/ commands) and
``checkpoint-server``, so a number means the same thing whichever command returns it
(scripts, systemd units and the sync timer read them):

* 0 ``OK``: done (a scan accepted, or a repeat of a visit already stored; nothing failed);
* 1 ``NOT_DONE``: cannot be done as asked, the message says why (input rejected, a refused
  restore, a failed check-up, a sync that left visits pending, a kiosk already running,
  a server request for an unknown checkpoint…);
* 2 ``USAGE``: usage or configuration error (a bad option or config file, no reader
  enabled, a plain ``http://`` server, a command whose part is not installed);
* 3 ``STORAGE``: the data cannot be stored or reached: the kiosk's disk is full or
  read-only, the server's database is unreachable or at another schema version;
* 4 ``SERVER_REJECTED``: (``sync``, ``import-receipt``) the district server rejected
  visits in this run.

Only click and the standard library: the server imports this too, and nothing else of
the kiosk comes with it.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

import click


class ExitCode(IntEnum):
    OK = 0
    NOT_DONE = 1
    USAGE = 2
    STORAGE = 3
    SERVER_REJECTED = 4


def emit(data: Any) -> None:
    """DATA as indented JSON on stdout, Vietnamese letters as they are; dates and paths as text."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
