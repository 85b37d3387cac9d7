"""Batch ingest: every visit of a batch gets its own answer, and resending is always safe.

The kiosk UUID is the identity of a visit within its district. One ``INSERT … ON
CONFLICT DO NOTHING RETURNING id`` per batch into ``visit_keys`` (district, id) tells
exactly which visits this request stored (``created``), and only those go into
``visits``; every other valid one was already there: ``duplicate`` when this device sent
it before (an earlier try, a concurrent request), ``conflict`` (rejected) when another
device of the district did, because a UUID from two devices is two visits and the second
must not vanish silently. The key table exists because ``visits`` is partitioned by month
on PostgreSQL (server/partitions.py) and a partitioned table's unique keys must include
its partition column; the district is in every key so that a distributed PostgreSQL
(Citus) can shard by it, and a batch (one device, one checkpoint) touches one district:
never a cross-shard transaction. The same UUID from devices of two districts is two
visits (docs/scale.md).
A bad visit is ``rejected`` with a code and a reason that name fields, never values, and
never fails the rest of the batch; a row the database itself refuses is retried alone
and rejected alone.

Nothing a device sends can break a later query: every time is range-checked here
(``TIME_FLOOR`` to the server's clock plus ``max_future``), and a time outside that range
is never stored as a time. But a visit is never lost to a wrong clock either (a Pi has
no real-time clock): when neither the scan time nor its correction is possible, the
visit is stored with its time unknown (``time_unknown``, the original text kept aside),
counted on the day it was received. A visit older than the retention period is stored
already purged: counted, but without personal data, as the purge would have left it.
The visits this request created are counted for reports in the same transaction
(``server/daily_counts.py``).

Sealed visits (kiosk/seal.py) are opened here, before they are checked, with the private
key their ``sealed_key`` names (server/keys.py), and stored as clear as before. The
choice, against keeping them sealed until a tracing query: reports, tracing, purge and
the contract check stay exactly as they were, and a visit that cannot be opened (a key
lost, a damaged seal) is rejected now, in front of the kiosk that can keep it and retry,
instead of being found unreadable weeks later in the middle of a trace. The price: the
server's database holds personal data in clear, as it did before sealing, so it stays
the server's job to protect it (access, backups, retention); sealing protects the kiosks,
their SD cards, USB sticks and backups, which stand at the roadside.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from kiosk.catalog import N_, bilingual
from kiosk.seal import open_sealed
from server import daily_counts
from server.config import Settings
from server.db import error_kind, writing
from server.enrolment import DeviceAuth
from server.keys import Keyring, KeysMissing
from server.schema import checkpoints, communes, devices, visit_keys, visits
from sync.protocol import FIELD_MODELS, KioskHealth, VisitIn, VisitResult, describe_problems

RejectionCode = Literal["invalid_visit", "wrong_checkpoint", "conflict", "database_refused", "unsealable"]
REJECTIONS: dict[RejectionCode, str] = {
    "invalid_visit": N_("invalid visit"),
    "wrong_checkpoint": N_("visit belongs to another checkpoint than the device"),
    "conflict": N_("this visit id was already sent by another device"),
    "database_refused": N_("the database refused this visit"),
    "unsealable": N_("the server cannot open this visit's sealed data (private key missing or seal damaged)"),
}
# The earliest time a visit can have: the kiosks did not exist before. A time outside
# [TIME_FLOOR, now + max_future] is stored as unknown (see the module docstring).
TIME_FLOOR = datetime(2020, 1, 1, tzinfo=timezone.utc)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestRules:
    max_future: timedelta
    retention: timedelta
    keyring: Keyring | None = None  # opens sealed visits; without it, a sealed visit is unsealable

    @classmethod
    def from_settings(cls, settings: Settings, keyring: Keyring | None = None) -> IngestRules:
        """The same rules for uploads and USB imports."""
        return cls(
            max_future=timedelta(seconds=settings.limits.max_future_s),
            retention=timedelta(days=settings.retention.days),
            keyring=keyring or Keyring(settings.keys_dir),
        )


def _rejected(visit_id: str, code: RejectionCode, detail: str = "") -> VisitResult:
    reason = bilingual(REJECTIONS[code]) + (f": {detail}" if detail else "")
    return VisitResult(id=visit_id, status="rejected", code=code, reason=reason)


def _given_id(item: Any, index: int) -> str:
    raw = item.get("id") if isinstance(item, dict) else None
    return raw[:64] if isinstance(raw, str) and raw else f"#{index}"


def _person(visit: VisitIn, key: str) -> Any:
    """A searchable personal field, only where the kind's model validated it (not an opaque extra)."""
    return visit.fields.get(key) if key in FIELD_MODELS[visit.kind].model_fields else None


def _possible(moment: datetime | None, latest: datetime) -> datetime | None:
    """The time in UTC if it can have happened, else None (a year 9999 or 0001 cannot even be converted)."""
    if moment is None:
        return None
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:
        return None
    return utc if TIME_FLOOR <= utc <= latest else None


def visit_row(visit: VisitIn, device: DeviceAuth, received_at: datetime, rules: IngestRules) -> dict[str, Any]:
    latest = received_at + rules.max_future
    scanned, corrected = _possible(visit.scanned_at, latest), _possible(visit.corrected_at, latest)
    occurred = corrected or scanned
    row = {
        "district_id": None,  # the device's district, filled in by ``ingest`` in its transaction
        "id": uuid.UUID(visit.id),
        "checkpoint_id": device.checkpoint_id,
        "device_id": device.device_id,
        "direction": visit.direction,
        "source": visit.source,
        "kind": visit.kind,
        "scanned_at": scanned,
        "scanned_at_text": None if scanned else visit.scanned_at.isoformat(),
        "corrected_at": corrected,
        "occurred_at": occurred or received_at,
        "time_unknown": occurred is None,
        "clock_synchronised": visit.clock_synchronised,
        "monotonic_ns": visit.monotonic_ns,
        "boot_id": visit.boot_id,
        "received_at": received_at,
        "id_number": _person(visit, "id_number"),
        "phone": _person(visit, "phone"),
        "person_name": _person(visit, "name"),
        "card_number": _person(visit, "number"),
        "fields": visit.fields,
        "operator": visit.operator,
        "purged_at": None,
    }
    if occurred is not None and occurred < received_at - rules.retention:  # as the purge would have left it
        row.update(
            id_number=None, phone=None, person_name=None, card_number=None, fields=None, operator=None, purged_at=received_at
        )
    return row


Checked = tuple[list[VisitResult | None], list[tuple[str, dict[str, Any]]]]


def opened(item: Any, keyring: Keyring | None) -> Any:
    """A sealed visit with its fields opened in place; anything else as it came.

    ValueError when it names no key kept here or does not open with it (wrong key, damaged,
    or moved from another visit: the visit id is bound into the seal).
    """
    if not isinstance(item, dict) or item.get("sealed") is None:
        return item
    sealed, key, visit_id = item.get("sealed"), item.get("sealed_key"), item.get("id")
    if keyring is None or not (isinstance(sealed, str) and isinstance(key, str) and isinstance(visit_id, str)):
        raise ValueError("unsealable")
    try:
        secret = open_sealed(keyring.opening_key(key), visit_id, base64.b64decode(sealed, validate=True))
    except (KeysMissing, InvalidTag, binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError("unsealable") from None
    return {**item, "fields": secret.get("fields")}


def check(items: list[Any], device: DeviceAuth, rules: IngestRules, now: datetime) -> Checked:
    """Validate each item: a result for the rejected ones (None for the rest) and (given id, row) to insert."""
    results: list[VisitResult | None] = []
    rows: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(items):
        given = _given_id(item, index)
        try:
            item = opened(item, rules.keyring)
        except ValueError:
            results.append(_rejected(given, "unsealable"))
            continue
        try:
            visit = VisitIn.model_validate(item)
        except ValidationError as exc:
            results.append(_rejected(given, "invalid_visit", describe_problems(exc)))
            continue
        if visit.checkpoint != device.checkpoint_code:
            results.append(_rejected(visit.id, "wrong_checkpoint"))
        else:
            results.append(None)
            rows.append((visit.id, visit_row(visit, device, now, rules)))
    return results, rows


KEY_COLUMNS = [c.name for c in visit_keys.c]


def _insert_sqlite(conn: Connection, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    keys = sqlite.insert(visit_keys).on_conflict_do_nothing(index_elements=[visit_keys.c.district_id, visit_keys.c.id])
    created = set(conn.execute(keys.returning(visit_keys.c.id), [{k: row[k] for k in KEY_COLUMNS} for row in rows]).scalars())
    if created:
        conn.execute(visits.insert(), [row for row in rows if row["id"] in created])
    return created


# PostgreSQL: COPY the batch into a staging table, then one statement that inserts the keys
# (ON CONFLICT (district_id, id) DO NOTHING RETURNING id) and, from the same staging rows,
# the visits whose keys it created. Measured side by side with one multi-row VALUES
# statement and one array per column through unnest() (bench/server_ingest.py, batches of
# 500, 2026-12-01, before the key table): staging 9,200 visits/s, unnest 4,200, VALUES 850;
# bare COPY 10,900. With the key table, see docs/scale.md.
PG_COLUMNS = list(visits.c)
_PG_NAMES = ", ".join(c.name for c in PG_COLUMNS)
_KEY_NAMES = ", ".join(KEY_COLUMNS)
# A staging table per database session, emptied at every commit; made from visits' columns
# without their constraints, so a value visits cannot hold still fails at COPY, as a DataError.
_PG_STAGING = f"CREATE TEMP TABLE IF NOT EXISTS visits_in ON COMMIT DELETE ROWS AS SELECT {_PG_NAMES} FROM visits WITH NO DATA"
_PG_COPY = f"COPY visits_in ({_PG_NAMES}) FROM STDIN"
_PG_FROM_STAGING = (
    f"WITH created AS (INSERT INTO visit_keys ({_KEY_NAMES}) SELECT {_KEY_NAMES} FROM visits_in "
    "ON CONFLICT (district_id, id) DO NOTHING RETURNING id) "
    f"INSERT INTO visits ({_PG_NAMES}) SELECT {_PG_NAMES} FROM visits_in WHERE id IN (SELECT id FROM created) RETURNING id"
)


def driver_row(row: dict[str, Any]) -> list[Any]:
    """A visit row as psycopg takes it, in ``PG_COLUMNS`` order (JSON as its text)."""
    return [
        json.dumps(row[c.name], ensure_ascii=False) if isinstance(c.type, sa.JSON) and row[c.name] is not None else row[c.name]
        for c in PG_COLUMNS
    ]


def insert_postgresql(conn: Connection, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    conn.exec_driver_sql(_PG_STAGING)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with cursor.copy(_PG_COPY) as copy:
            for row in rows:
                copy.write_row(driver_row(row))
    except dbapi_error as exc:  # the driver's own error: wrapped as SQLAlchemy wraps a statement's (DataError …)
        raise sa.exc.DBAPIError.instance(_PG_COPY, None, exc, dbapi_error, hide_parameters=True, dialect=conn.dialect) from exc
    created = set(conn.exec_driver_sql(_PG_FROM_STAGING).scalars())
    conn.exec_driver_sql("DELETE FROM visits_in")  # a row-by-row retry in this transaction starts empty
    return created


def refused_by_database(exc: sa.exc.StatementError) -> bool:
    """A row the database will never take (a constraint, a value it cannot hold), as opposed
    to the database being busy or gone, which is the server's problem and not the visit's."""
    if isinstance(exc, sa.exc.DBAPIError):
        return isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError)
    return True  # raised while binding a value, before the database saw it


def _store(conn: Connection, rows: list[dict[str, Any]]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(created, refused): the batch in one statement; if the database refuses it, row by row."""
    insert = insert_postgresql if conn.dialect.name == "postgresql" else _insert_sqlite
    try:
        with conn.begin_nested():
            return insert(conn, rows), set()
    except sa.exc.StatementError as exc:
        if not refused_by_database(exc):
            raise
        log.warning("the database refused a batch of %d visits (%s); storing them one by one", len(rows), error_kind(exc))
    created: set[uuid.UUID] = set()
    refused: set[uuid.UUID] = set()
    for row in rows:
        try:
            with conn.begin_nested():
                created |= insert(conn, [row])
        except sa.exc.StatementError as exc:
            if not refused_by_database(exc):
                raise
            log.warning("the database refused visit %s (%s)", row["id"], error_kind(exc))
            refused.add(row["id"])
    return created, refused


def _owners(conn: Connection, district_id: int, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The device that stored each of these (already present) visit ids in the district."""
    owners: dict[uuid.UUID, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            sa.select(visit_keys.c.id, visit_keys.c.device_id).where(
                visit_keys.c.district_id == district_id, visit_keys.c.id.in_(chunk)
            )
        )
        owners.update((row.id, row.device_id) for row in rows)
    return owners


def district_of(conn: Connection, checkpoint_id: int) -> int:
    """The district a checkpoint (and so every visit of its devices) belongs to."""
    query = sa.select(communes.c.district_id).join(checkpoints).where(checkpoints.c.id == checkpoint_id)
    return int(conn.execute(query).scalar_one())


def ingest(
    engine: Engine,
    device: DeviceAuth,
    items: list[Any],
    rules: IngestRules,
    now: datetime,
    health: KioskHealth | None = None,
) -> list[VisitResult]:
    """Store what is new, in one transaction that also records the device as seen (with the
    health it reported, if it did)."""
    checked, rows = check(items, device, rules, now)
    created: set[uuid.UUID] = set()
    refused: set[uuid.UUID] = set()
    owners: dict[uuid.UUID, str] = {}
    with writing(engine) as conn:
        if rows:  # writing() took SQLite's write lock at BEGIN, so reading the district first is safe
            district = district_of(conn, device.checkpoint_id)
            unique = list({row["id"]: row for _, row in reversed(rows)}.values())
            for row in unique:
                row["district_id"] = district
            created, refused = _store(conn, unique)
            daily_counts.add(conn, [row for row in unique if row["id"] in created])
            owners = _owners(conn, district, [row["id"] for row in unique if row["id"] not in created | refused])
        reported = {"health": health.model_dump(exclude_none=True), "health_at": now} if health else {}
        conn.execute(devices.update().where(devices.c.id == device.device_id).values(last_seen_at=now, **reported))
    results: list[VisitResult] = []
    answered: set[uuid.UUID] = set()
    row_iter = iter(rows)
    for result in checked:
        if result is not None:
            results.append(result)
            continue
        given, row = next(row_iter)
        key = row["id"]
        if key in refused:
            results.append(_rejected(given, "database_refused"))
        elif key in created and key not in answered:
            results.append(VisitResult(id=given, status="created"))
        elif owners.get(key, device.device_id) != device.device_id:
            results.append(_rejected(given, "conflict"))
        else:
            results.append(VisitResult(id=given, status="duplicate"))
        answered.add(key)
    return results


def count_visits(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(visits)).scalar_one()
