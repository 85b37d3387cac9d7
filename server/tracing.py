"""Contact tracing for officials: who passed a checkpoint, where a person was seen.

Personal data is for tracing only, so every query needs a reason and is written to the
audit log (who, why, what was asked, how many visits came back) *before* it runs, in the
same transaction: a query that leaves no record cannot happen. The audit keeps only a
masked form of the ID number or phone that was looked up.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection, Engine

from kiosk.clock import LOCAL_TZ
from kiosk.credentials import Rejection
from kiosk.masking import mask_digits
from kiosk.phone import parse_phone
from server import audit
from server.db import writing
from server.errors import UserError, both
from server.export import Table
from server.places import checkpoint_row
from server.schema import audit_log, checkpoints, communes, visits

MAX_RESULTS = 5000
REASON_MIN = 5


class TraceVisit(BaseModel):
    id: str
    checkpoint: str
    checkpoint_name: str
    commune: str
    occurred_at: datetime = Field(
        description="When it happened; when the kiosk's time was impossible (time_unknown), when the server received it."
    )
    time_unknown: bool = False
    direction: str
    kind: str
    source: str
    name: str | None
    id_number: str | None
    phone: str | None


TRACE_HEADINGS = ["Thời điểm", "Điểm kiểm soát", "Xã", "Chiều", "Loại", "Họ tên", "Số định danh", "Số điện thoại"]


class TraceResult(BaseModel):
    count: int
    truncated: bool
    visits: list[TraceVisit]

    def table(self) -> Table:
        """For the CLI's table, CSV and XLSX and the console's XLSX: times in Vietnam time."""
        rows = [
            [
                v.occurred_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
                + (" (không rõ giờ quét, đây là giờ nhận; scan time unknown, received)" if v.time_unknown else ""),
                f"{v.checkpoint} · {v.checkpoint_name}",
                v.commune,
                v.direction,
                v.kind,
                v.name,
                v.id_number,
                v.phone,
            ]
            for v in self.visits
        ]
        title = f"{self.count} lượt" + (" (đã cắt bớt, truncated)" if self.truncated else "")
        return Table(TRACE_HEADINGS, rows, title)


def _check(reason: str, start: datetime, end: datetime) -> str:
    reason = " ".join(reason.split())
    if len(reason) < REASON_MIN:
        raise UserError(
            "reason_required",
            both(
                f"Cần nêu lý do tra cứu (ít nhất {REASON_MIN} ký tự)", f"a reason of at least {REASON_MIN} characters is required"
            ),
        )
    if start.tzinfo is None or end.tzinfo is None or start >= end:
        raise UserError(
            "bad_window",
            both(
                "Khoảng thời gian không hợp lệ (cần múi giờ, bắt đầu trước kết thúc)",
                "invalid window: give time zones, start before end",
            ),
        )
    return reason


def _run(conn: Connection, audit_id: int, where: sa.ColumnElement[bool]) -> TraceResult:
    query = (
        sa.select(
            visits,
            checkpoints.c.code.label("checkpoint"),
            checkpoints.c.name.label("checkpoint_name"),
            communes.c.name.label("commune"),
        )
        .select_from(visits.join(checkpoints).join(communes))
        .where(where, visits.c.purged_at.is_(None))
        .order_by(visits.c.occurred_at, visits.c.seq)
        .limit(MAX_RESULTS + 1)
    )
    rows = conn.execute(query).mappings().all()
    found = [
        TraceVisit(
            id=str(r["id"]),
            checkpoint=r["checkpoint"],
            checkpoint_name=r["checkpoint_name"],
            commune=r["commune"],
            occurred_at=r["occurred_at"],
            time_unknown=r["time_unknown"],
            direction=r["direction"],
            kind=r["kind"],
            source=r["source"],
            name=r["person_name"],
            id_number=r["id_number"],
            phone=r["phone"],
        )
        for r in rows[:MAX_RESULTS]
    ]
    conn.execute(audit_log.update().where(audit_log.c.id == audit_id).values(result_count=len(found)))
    return TraceResult(count=len(found), truncated=len(rows) > MAX_RESULTS, visits=found)


def _in_window(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(visits.c.occurred_at >= start, visits.c.occurred_at < end)


def at_checkpoint(engine: Engine, actor: str, reason: str, checkpoint: str, start: datetime, end: datetime) -> TraceResult:
    """Everyone recorded at ``checkpoint`` from ``start`` (inclusive) to ``end`` (exclusive)."""
    reason = _check(reason, start, end)
    with writing(engine) as conn:
        audit_id = audit.write(
            conn,
            actor,
            "trace.checkpoint",
            reason=reason,
            params={"checkpoint": checkpoint, "start": start.isoformat(), "end": end.isoformat()},
        )
        row = checkpoint_row(conn, checkpoint)
        return _run(conn, audit_id, sa.and_(visits.c.checkpoint_id == row["id"], _in_window(start, end)))


def person(
    engine: Engine,
    actor: str,
    reason: str,
    start: datetime,
    end: datetime,
    *,
    id_number: str | None = None,
    phone: str | None = None,
) -> TraceResult:
    """Every visit of one person, by ID number (as scanned or typed) or phone, in the window."""
    reason = _check(reason, start, end)
    if bool(id_number) == bool(phone):
        raise UserError(
            "person_key", both("Cần đúng một trong hai: số định danh hoặc số điện thoại", "give exactly one of id_number or phone")
        )
    if id_number:
        key = unicodedata.normalize("NFKC", id_number).strip().replace(" ", "")  # fullwidth digits typed
        if not (key.isascii() and key.isdigit() and len(key) in (9, 12)):
            raise UserError(
                "id_number_invalid", both("Số định danh phải có 12 (hoặc 9) chữ số", "an ID number has 12 (or 9) digits")
            )
        match = visits.c.id_number == key
        asked = {"id_number": mask_digits(key)}
    else:
        parsed = parse_phone(phone or "")
        if isinstance(parsed, Rejection):
            raise UserError("phone_invalid", both("Số điện thoại không hợp lệ", "invalid phone number"))
        key = parsed.phone
        match = visits.c.phone == key
        asked = {"phone": mask_digits(key)}
    with writing(engine) as conn:
        audit_id = audit.write(
            conn, actor, "trace.person", reason=reason, params={**asked, "start": start.isoformat(), "end": end.isoformat()}
        )
        return _run(conn, audit_id, sa.and_(match, _in_window(start, end)))
