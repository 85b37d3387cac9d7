"""A restore accepts only what this kiosk itself makes: its schema exactly, and rows of its shape.

A backup is a file from a USB stick, and restoring it copies every page, so whatever the
file holds runs inside the kiosk afterwards. A planted trigger that marked each new scan
``synced`` was seen: those visits were never sent, then purged. So the file's schema
(every table, column, index, trigger and view, as ``sqlite_master`` holds it) must be
exactly the one the store's own migrations create for that schema version (compared as
SQL, ignoring only identifier quotes and layout), built afresh in memory from
``kiosk.store.MIGRATIONS`` (no list kept here: when the store changes, this
check changes with it). Anything more, less or different is refused, naming it.

Then every row: each column's stored type must be its declared one (SQLite stores any
type in any column), sync states must be the store's, and a visit's envelope (id, times,
kind, direction, checkpoint, source, reader, operator, boot id, monotonic time, and the
credential fields while they are stored as JSON) must be what ``kiosk.contract`` accepts,
and the store's counters in ``meta`` (rejections seen, retention's totals and time) numbers
and a time: the status line, ``status`` and the Sync panel read them as such.
Problems name tables and columns with a count, never a value: rows hold personal data.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from typing import Any, get_args

import sqlite_utils
from pydantic import BaseModel, ValidationError, create_model

from kiosk.contract import FIELD_MODELS, VisitIn
from kiosk.store import MIGRATIONS, PURGED_LAST_AT, REJECTIONS_SEEN, SyncState

SchemaObject = tuple[str, str, str, str | None]  # type, name, table, SQL
# The store's visit column → the contract's field that says what it may hold.
ENVELOPE = {
    "id": "id",
    "checkpoint_code": "checkpoint",
    "direction": "direction",
    "source": "source",
    "kind": "kind",
    "scanned_at": "scanned_at",
    "corrected_at": "corrected_at",
    "monotonic_ns": "monotonic_ns",
    "boot_id": "boot_id",
    "reader": "reader",
    "operator": "operator",
}
_MASTER = "SELECT type, name, tbl_name, sql FROM sqlite_master"
_LAYOUT = re.compile(r'[\s"\[\]`]+')
SQL_TYPES = {"TEXT": "text", "INTEGER": "integer", "REAL": "real", "BLOB": "blob"}
SHOWN = 5  # problems named in the refusal; the rest are counted


def expected_schema(version: int) -> set[SchemaObject]:
    """``sqlite_master`` of a store created by this software's migrations up to ``version``."""
    with closing(sqlite3.connect(":memory:")) as conn:
        db = sqlite_utils.Database(conn)
        for migrate in MIGRATIONS[:version]:
            migrate(db)
        return _schema(conn)


def _schema(conn: sqlite3.Connection) -> set[SchemaObject]:
    return {(kind, name, table, _spelling(sql)) for kind, name, table, sql in conn.execute(_MASTER)}


def _spelling(sql: str | None) -> str | None:
    """SQL without identifier quotes and whitespace: how sqlite-utils quotes and lays out what
    it creates changes between its versions (``[visits]``, ``"visits"``), a kiosk's meaning not."""
    return _LAYOUT.sub("", sql) if sql is not None else None


def schema_differences(conn: sqlite3.Connection, version: int) -> list[str]:
    """What the file's schema has that the store's lacks (``extra …``), lacks (``missing …``),
    or has in another form (``changed …``); [] when it is exactly the store's."""
    found, wanted = _schema(conn), expected_schema(version)
    known = {(kind, name) for kind, name, _table, _sql in wanted}
    problems = []
    for kind, name, table, _sql in sorted(found - wanted, key=lambda o: (o[0], o[1])):
        state = "changed" if (kind, name) in known else "extra"
        problems.append(f"{state} {kind} {name}" + (f" on {table}" if kind in ("trigger", "index") else ""))
    present = {(kind, name) for kind, name, _table, _sql in found}
    problems += [f"missing {kind} {name}" for kind, name, _table, _sql in sorted(wanted - found) if (kind, name) not in present]
    return problems


def row_problems(conn: sqlite3.Connection) -> list[str]:
    """Rows not of the store's shape, as ``table.column: N rows``; [] when every row is.

    Call only on a file whose schema is the store's (``schema_differences`` found nothing).
    """
    bad: Counter[str] = Counter()
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        for column, allowed in _column_types(conn, table):
            marks = ", ".join("?" * len(allowed))
            n = conn.execute(f'SELECT count(*) FROM "{table}" WHERE typeof("{column}") NOT IN ({marks})', allowed).fetchone()[0]
            if n:
                bad[f"{table}.{column}"] += n
    if not bad:  # the contract's checks read the values as their declared types
        bad.update(_visit_problems(conn))
        bad.update(_meta_problems(conn))
    return [f"{where}: {n} rows" for where, n in sorted(bad.items())]


def _column_types(conn: sqlite3.Connection, table: str) -> Iterator[tuple[str, list[str]]]:
    """Each column with a declared type and the storage types SQLite may hold in it."""
    for _cid, name, declared, notnull, _default, pk in conn.execute(f'PRAGMA table_info("{table}")'):
        storage = SQL_TYPES.get(declared.upper())
        if storage is not None:
            yield name, [storage] if notnull or pk else [storage, "null"]


def _visit_problems(conn: sqlite3.Connection) -> Iterator[str]:
    columns = [row[1] for row in conn.execute("PRAGMA table_info(visits)")]
    envelope = _envelope_model(columns)
    states = set(get_args(SyncState))
    for values in conn.execute(f"SELECT {', '.join(columns)} FROM visits"):
        row = dict(zip(columns, values, strict=True))
        try:
            envelope.model_validate(row)
        except ValidationError as exc:
            yield from dict.fromkeys(f"visits.{e['loc'][0]}" for e in exc.errors())
        if row.get("sync_state") not in states:
            yield "visits.sync_state"
        if "clear" in row:  # schema 4 on: masked fields in clear, the whole ones sealed or waiting in ``clear``
            if not _masked_fit(row["kind"], row["fields"]):
                yield "visits.fields"
            if row["clear"] is not None and not _clear_fits(row["kind"], row["clear"]):
                yield "visits.clear"
        elif "fields" in row and not _fields_fit(row["kind"], row["fields"]):
            yield "visits.fields"


def _meta_problems(conn: sqlite3.Connection) -> Iterator[str]:
    """The store's own counters must be numbers and its times times: code reads them as such."""
    for key, value in conn.execute("SELECT key, value FROM meta WHERE key = ? OR key LIKE 'retention.%'", [REJECTIONS_SEEN]):
        if key == PURGED_LAST_AT:
            try:
                datetime.fromisoformat(value)
            except ValueError:
                yield f"meta.{key}"
        elif not (value.isascii() and value.isdigit()):
            yield f"meta.{key}"


def _envelope_model(columns: list[str]) -> type[BaseModel]:
    """The contract's rules for the envelope columns this schema has, under the store's names."""
    rules: dict[str, Any] = {
        column: (VisitIn.model_fields[field].annotation, VisitIn.model_fields[field])
        for column, field in ENVELOPE.items()
        if column in columns
    }
    return create_model("StoredVisit", **rules)


# What kiosk.masking.masked_fields keeps in clear for each kind: the keys it always writes,
# and the numbers, which it writes masked ("***4321") and never whole.
MASKED_KEYS: dict[str, set[str]] = {
    "cccd": {"name", "id_number"},
    "phone": {"phone"},
    "dcc": {"name"},
    "card": {"name", "card_number"},
    "opaque": {"hint"},
}
MASKED_NUMBERS = ("id_number", "phone", "card_number")


def _masked_fit(kind: str, text: str) -> bool:
    try:
        fields = json.loads(text)
    except ValueError:
        return False
    if not isinstance(fields, dict) or not MASKED_KEYS.get(kind, {"?"}) <= fields.keys():
        return False
    return all(str(fields[key]).startswith("***") for key in MASKED_NUMBERS if key in fields)


def _clear_fits(kind: str, text: str) -> bool:
    """A visit waiting for the district key keeps ``{"fields": …, "raw": …}``: fields by the contract."""
    try:
        secret = json.loads(text)
    except ValueError:
        return False
    raw_ok = isinstance(secret, dict) and isinstance(secret.get("raw"), str | None)
    return raw_ok and _fields_fit(kind, json.dumps(secret.get("fields")))


def _fields_fit(kind: str, text: str) -> bool:
    try:
        fields = json.loads(text)
        model = FIELD_MODELS[kind]
    except (ValueError, KeyError):
        return False
    if not isinstance(fields, dict):
        return False
    try:
        model.model_validate(fields)
    except ValidationError:
        return False
    return True


def shown(problems: list[str]) -> str:
    """The first few problems, and how many more: a refusal an admin can read on one screen."""
    more = len(problems) - SHOWN
    return "; ".join(problems[:SHOWN]) + (f"; … (+{more})" if more > 0 else "")
