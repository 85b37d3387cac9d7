"""Batch ingest: every visit of a batch gets its own answer, and resending is always safe.

The kiosk UUID is the identity of a visit. One ``INSERT … ON CONFLICT DO NOTHING
RETURNING id`` per batch tells exactly which visits this request stored (``created``);
every other valid one was already there (``duplicate``), whether from an earlier try or
from a concurrent request. A bad visit is ``rejected`` with a code and a reason that name
fields, never values, and never fails the rest of the batch.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from server.config import Settings
from server.db import writing
from server.enrolment import DeviceAuth
from server.errors import both
from server.schema import devices, visits
from sync.protocol import FIELD_MODELS, VisitIn, VisitResult, describe_problems

REJECTIONS = {
    "invalid_visit": ("Lượt ghi không hợp lệ", "invalid visit"),
    "wrong_checkpoint": ("Lượt ghi thuộc điểm kiểm soát khác với thiết bị", "visit belongs to another checkpoint than the device"),
    "scanned_in_future": ("Thời điểm quét ở tương lai quá xa", "scanned_at is too far in the future"),
    "too_old": ("Lượt ghi cũ hơn thời hạn lưu giữ", "visit is older than the retention period"),
}


@dataclass(frozen=True)
class IngestRules:
    max_future: timedelta
    retention: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestRules:
        """The same rules for uploads and USB imports."""
        return cls(max_future=timedelta(seconds=settings.limits.max_future_s), retention=timedelta(days=settings.retention.days))


def _rejected(visit_id: str, code: str, detail: str = "") -> VisitResult:
    vi, en = REJECTIONS[code]
    reason = both(vi, en) + (f": {detail}" if detail else "")
    return VisitResult(id=visit_id, status="rejected", code=code, reason=reason)


def _given_id(item: Any, index: int) -> str:
    raw = item.get("id") if isinstance(item, dict) else None
    return raw[:64] if isinstance(raw, str) and raw else f"#{index}"


def _person(visit: VisitIn, key: str) -> Any:
    """A searchable personal field, only where the kind's model validated it (not an opaque extra)."""
    return visit.fields.get(key) if key in FIELD_MODELS[visit.kind].model_fields else None


def visit_row(visit: VisitIn, device: DeviceAuth, received_at: datetime) -> dict[str, Any]:
    return {
        "id": uuid.UUID(visit.id),
        "checkpoint_id": device.checkpoint_id,
        "device_id": device.device_id,
        "direction": visit.direction,
        "source": visit.source,
        "kind": visit.kind,
        "scanned_at": visit.scanned_at,
        "corrected_at": visit.corrected_at,
        "occurred_at": visit.corrected_at or visit.scanned_at,
        "clock_synchronised": visit.clock_synchronised,
        "monotonic_ns": visit.monotonic_ns,
        "boot_id": visit.boot_id,
        "received_at": received_at,
        "id_number": _person(visit, "id_number"),
        "phone": _person(visit, "phone"),
        "person_name": _person(visit, "name"),
        "fields": visit.fields,
        "operator": visit.operator,
    }


Checked = tuple[list[VisitResult | None], list[tuple[str, dict[str, Any]]]]


def check(items: list[Any], device: DeviceAuth, rules: IngestRules, now: datetime) -> Checked:
    """Validate each item: a result for the rejected ones (None for the rest) and (given id, row) to insert."""
    results: list[VisitResult | None] = []
    rows: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(items):
        given = _given_id(item, index)
        try:
            visit = VisitIn.model_validate(item)
        except ValidationError as exc:
            results.append(_rejected(given, "invalid_visit", describe_problems(exc)))
            continue
        occurred = visit.corrected_at or visit.scanned_at
        if visit.checkpoint != device.checkpoint_code:
            results.append(_rejected(visit.id, "wrong_checkpoint"))
        elif occurred > now + rules.max_future:
            results.append(_rejected(visit.id, "scanned_in_future"))
        elif occurred < now - rules.retention:
            results.append(_rejected(visit.id, "too_old"))
        else:
            results.append(None)
            rows.append((visit.id, visit_row(visit, device, now)))
    return results, rows


def _insert_sqlite(conn: Connection, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    statement = sqlite.insert(visits).on_conflict_do_nothing(index_elements=[visits.c.id]).returning(visits.c.id)
    return set(conn.execute(statement, rows).scalars())


# PostgreSQL: the same INSERT … ON CONFLICT DO NOTHING RETURNING, fed one array per column
# through unnest() instead of 20 parameters per row: 4–5× faster for batches of 500.
_PG_COLUMNS = [c for c in visits.c if c.name != "seq"]
_PG_INSERT = (
    f"INSERT INTO visits ({', '.join(c.name for c in _PG_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'%s::{c.type.compile(dialect=postgresql.dialect())}[]' for c in _PG_COLUMNS)}) "
    "ON CONFLICT (id) DO NOTHING RETURNING id"
)


def _insert_postgresql(conn: Connection, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    arrays = tuple([json.dumps(r.get(c.name), ensure_ascii=False) if isinstance(c.type, sa.JSON) else r.get(c.name)
                    for r in rows]
                   for c in _PG_COLUMNS)
    return set(conn.exec_driver_sql(_PG_INSERT, arrays).scalars())


def ingest(engine: Engine, device: DeviceAuth, items: list[Any], rules: IngestRules, now: datetime) -> list[VisitResult]:
    """Store what is new, in one transaction that also records the device as seen."""
    checked, rows = check(items, device, rules, now)
    created: set[uuid.UUID] = set()
    with writing(engine) as conn:
        if rows:  # write first: on SQLite a transaction that read first could not take the write lock later
            unique = list({row["id"]: row for _, row in reversed(rows)}.values())
            created = (_insert_postgresql if engine.dialect.name == "postgresql" else _insert_sqlite)(conn, unique)
        conn.execute(devices.update().where(devices.c.id == device.device_id).values(last_seen_at=now))
    results: list[VisitResult] = []
    answered: set[uuid.UUID] = set()
    row_iter = iter(rows)
    for result in checked:
        if result is not None:
            results.append(result)
            continue
        given, row = next(row_iter)
        status = "created" if row["id"] in created and row["id"] not in answered else "duplicate"
        answered.add(row["id"])
        results.append(VisitResult(id=given, status=status))
    return results


def count_visits(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(visits)).scalar_one()
