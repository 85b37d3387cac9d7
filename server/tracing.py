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

from kiosk.cards import NUMBER_MAX
from kiosk.catalog import N_, bilingual, text
from kiosk.clock import LOCAL_TZ
from kiosk.credentials import Rejection
from kiosk.masking import mask_digits
from kiosk.messages import DIRECTION_WORDS, KIND_WORDS
from kiosk.phone import parse_phone
from server import audit
from server.cards import same_holder
from server.db import writing
from server.errors import UserError
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
    card_number: int | None = None


TRACE_HEADINGS = [
    N_("Time"),
    N_("Checkpoint"),
    N_("Commune"),
    N_("Direction"),
    N_("Kind"),
    N_("Name"),
    N_("ID number"),
    N_("Phone number"),
    N_("Card number"),
]
UNKNOWN_TIME = N_("scan time unknown, received")


class TraceResult(BaseModel):
    count: int
    truncated: bool
    visits: list[TraceVisit]

    def table(self) -> Table:
        """For the CLI's table, CSV and XLSX and the console's XLSX: times in Vietnam time."""
        rows = [
            [
                v.occurred_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
                + (f" ({text(UNKNOWN_TIME, 'vi')}; {text(UNKNOWN_TIME, 'en')})" if v.time_unknown else ""),
                f"{v.checkpoint} · {v.checkpoint_name}",
                v.commune,
                text(DIRECTION_WORDS[v.direction], "vi"),
                text(KIND_WORDS[v.kind], "vi"),
                v.name,
                v.id_number,
                v.phone,
                v.card_number,
            ]
            for v in self.visits
        ]
        title = text("{count} visits", "vi", count=self.count) + (" " + bilingual("truncated") if self.truncated else "")
        return Table([text(h, "vi") for h in TRACE_HEADINGS], rows, title)


def _check(reason: str, start: datetime, end: datetime) -> str:
    reason = " ".join(reason.split())
    if len(reason) < REASON_MIN:
        raise UserError(
            "reason_required",
            bilingual("a reason of at least {limit} characters is required", limit=REASON_MIN),
        )
    if start.tzinfo is None or end.tzinfo is None or start >= end:
        raise UserError(
            "bad_window",
            bilingual("invalid window: give time zones, start before end"),
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
        .order_by(visits.c.occurred_at, visits.c.id)
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
            card_number=r["card_number"],
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
    card_number: int | None = None,
) -> TraceResult:
    """Every visit of one person, by ID number (as scanned or typed), phone or card number (with the
    cards it replaced or was replaced by), in the window."""
    reason = _check(reason, start, end)
    if sum(key is not None and key != "" for key in (id_number, phone, card_number)) != 1:
        raise UserError("person_key", bilingual("give exactly one of id_number, phone or card_number"))
    if card_number is not None:
        if not 1 <= card_number <= NUMBER_MAX:
            raise UserError("card_number_invalid", bilingual("invalid card number"))
        with engine.connect() as conn:
            numbers = same_holder(conn, card_number)  # a lost card's visits belong to its holder too
        match: sa.ColumnElement[bool] = visits.c.card_number.in_(numbers)
        asked: dict[str, str] = {"card_number": str(card_number)}
    elif id_number:
        key = unicodedata.normalize("NFKC", id_number).strip().replace(" ", "")  # fullwidth digits typed
        if not (key.isascii() and key.isdigit() and len(key) in (9, 12)):
            raise UserError("id_number_invalid", bilingual("an ID number has 12 (or 9) digits"))
        match = visits.c.id_number == key
        asked = {"id_number": mask_digits(key)}
    else:
        parsed = parse_phone(phone or "")
        if isinstance(parsed, Rejection):
            raise UserError("phone_invalid", bilingual("invalid phone number"))
        key = parsed.phone
        match = visits.c.phone == key
        asked = {"phone": mask_digits(key)}
    with writing(engine) as conn:
        audit_id = audit.write(
            conn, actor, "trace.person", reason=reason, params={**asked, "start": start.isoformat(), "end": end.isoformat()}
        )
        return _run(conn, audit_id, sa.and_(match, _in_window(start, end)))
