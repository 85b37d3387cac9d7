"""Pending visits read back from a damaged database kept aside, into the live one, still pending.

The sqlite3 shell's ``.recover`` would be the obvious tool, but Debian 12's shell is built
without the ``sqlite_dbpage`` table it needs ("no such table: sqlite_dbpage"). So the
damaged file is read through SQLite itself, one visit at a time by its local sequence
number: a lookup that runs into a damaged page fails on its own, and visits on sound pages
come back exactly as stored. Each must still look like a visit (a UUID, JSON fields, a
known direction, a readable time) before it is stored, and it is stored with its own id
(INSERT OR IGNORE): running this twice adds nothing, and the server dedupes on the id.
Visits already delivered are left out: the server has them.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.quarantine import CORRUPT_MARK, move_database
from kiosk.store import RECOVERED_COLUMNS, VisitStore, unsealed_form

RECOVERED_MARK = ".recovered-"
BATCH = 500
_SELECT = f"SELECT {', '.join(RECOVERED_COLUMNS)}, sync_state FROM visits WHERE seq = ?"
# A file from before sealing (schema < 4) has neither: its rows are put in the form schema 4 keeps.
_SEALING_COLUMNS = ("sealed", "key_id", "clear")
_OLD_SELECT = f"SELECT {', '.join(c for c in RECOVERED_COLUMNS if c not in _SEALING_COLUMNS)}, sync_state FROM visits WHERE seq = ?"


@dataclass(frozen=True)
class Salvage:
    recovered: int  # pending visits now in the live database
    already_there: int  # pending visits the live database already had (a second run)
    unreadable: int  # sequence numbers whose row could not be read or made no sense
    renamed_to: Path  # the damaged file, now marked as dealt with


def salvage(store: VisitStore, damaged: Path) -> Salvage:
    """Copy the readable pending visits of ``damaged`` into ``store``, then rename it ``….recovered-…``."""
    pending: list[tuple[Any, ...]] = []
    unreadable = 0
    for row in _rows(damaged):
        if row is None:
            unreadable += 1
        elif row[-1] == "pending":
            if _looks_like_a_visit(row[:-1]):
                pending.append(row[:-1])
            else:
                unreadable += 1
    recovered = sum(store.import_visits(pending[i : i + BATCH]) for i in range(0, len(pending), BATCH))
    return Salvage(recovered, len(pending) - recovered, unreadable, _mark_recovered(damaged))


def _rows(damaged: Path) -> Iterator[tuple[Any, ...] | None]:
    """Every visit row by sequence number; None where a row could not be read."""
    try:
        conn = sqlite3.connect(f"{damaged.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error:
        return
    with closing(conn):
        highest = _highest_seq(conn)
        select = _SELECT if _has_sealing_columns(conn) else _OLD_SELECT
        for seq in range(1, highest + 1):
            try:
                row = conn.execute(select, [seq]).fetchone()
                if row is not None and select is _OLD_SELECT:
                    row = _in_sealing_form(row)
            except sqlite3.Error:
                yield None
                continue
            if row is not None:
                yield row


def _has_sealing_columns(conn: sqlite3.Connection) -> bool:
    try:
        return "clear" in {row[1] for row in conn.execute("PRAGMA table_info(visits)")}
    except sqlite3.Error:
        return True  # unreadable schema: the current form, and rows that fail count as unreadable


def _in_sealing_form(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """An old row (fields and raw in clear) as schema 4 keeps it: masked fields, the rest in ``clear``,
    a random repeat key instead of the old plain hash of the ID number or phone."""
    values = dict(zip([c for c in RECOVERED_COLUMNS if c not in _SEALING_COLUMNS], row[:-1], strict=True))
    try:
        values["fields"], values["clear"] = unsealed_form(values["kind"], values["fields"], values["raw"])
    except (TypeError, ValueError):
        return row  # not JSON: _looks_like_a_visit turns it away
    values.update(raw=None, sealed=None, key_id=None, credential_key=uuid.uuid4().hex)  # the old one is a plain hash
    return (*(values[c] for c in RECOVERED_COLUMNS), row[-1])


def _highest_seq(conn: sqlite3.Connection) -> int:
    """From AUTOINCREMENT's own record, else the table's last row; 0 when neither can be read."""
    for query in ("SELECT seq FROM sqlite_sequence WHERE name = 'visits'", "SELECT max(seq) FROM visits"):
        try:
            row = conn.execute(query).fetchone()
        except sqlite3.Error:
            continue
        if row and isinstance(row[0], int):
            return row[0]
    return 0


def _looks_like_a_visit(row: Sequence[Any]) -> bool:
    values = dict(zip(RECOVERED_COLUMNS, row, strict=True))
    try:
        fields = json.loads(values["fields"])
        return (
            str(uuid.UUID(values["id"])) == values["id"]
            and isinstance(fields, dict)
            and values["direction"] in ("in", "out")
            and values["clock_synchronised"] in (0, 1)
            and isinstance(values["monotonic_ns"], int)
            and datetime.fromisoformat(values["scanned_at"]).tzinfo is not None
            and all(
                isinstance(values[k], str) and values[k]
                for k in ("checkpoint_code", "device_id", "source", "kind", "credential_key", "boot_id")
            )
        )
    except (TypeError, ValueError):
        return False


def _mark_recovered(damaged: Path) -> Path:
    """``visits.sqlite3.corrupt-T`` → ``visits.sqlite3.recovered-T`` (side files too): dealt with, still kept."""
    if CORRUPT_MARK not in damaged.name:
        return damaged
    return move_database(damaged, damaged.with_name(damaged.name.replace(CORRUPT_MARK, RECOVERED_MARK, 1)))
