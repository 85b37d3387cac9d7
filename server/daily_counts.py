"""Visits per checkpoint, local day, direction and kind: what reports read instead of the visits.

A weekly table or a year-to-date over a district then sums at most checkpoints × days
rows, however many visits or weeks are stored (issue 17: a city of 637,533 checkpoints).
The counts are exact, not estimated: ``add`` runs in the transaction that stored the
visits and adds exactly the rows its INSERT created (``RETURNING``), so a rollback takes
both away, a duplicate or a conflict adds nothing, and USB imports (which go through the
same ingest) count like uploads. Concurrent batches add with one atomic upsert
(``ON CONFLICT … DO UPDATE SET visits = visits + excluded``), keys in sorted order so two
transactions never wait on each other in opposite orders.

The day is the local (Asia/Ho_Chi_Minh) date of ``occurred_at``, the time reports use, so a
7-day window in Vietnam time is exactly 7 days of counts.

Counts are history and are never decremented. A purge clears personal fields and keeps the
rows; dropping old months of visits (whole partitions on PostgreSQL, server/retention.py)
keeps the counts too: a report says how many visits happened, not how many are still
stored. ``recount`` compares the counts with a full GROUP BY over the stored visits
(``checkpoint-server check-counts``) from the first day whose visits are all kept; visit
rows are only ever added after it, so there the two are equal for every key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from kiosk.clock import LOCAL_TZ
from server.schema import daily_visits, visits

_KEY_COLUMNS = ["checkpoint_id", "day", "direction", "kind"]
# Vietnam has kept UTC+7 all year, without summer time, since 1975; every stored visit is
# after TIME_FLOOR (2020, server/ingest.py). SQLite has no time zones, so it adds the offset.
SQLITE_LOCAL_OFFSET = "+7 hours"


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def add(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Count these newly stored visit rows (inside the transaction that stored them)."""
    tally = Counter((r["checkpoint_id"], local_day(r["occurred_at"]), r["direction"], r["kind"]) for r in rows)
    if not tally:
        return
    values = [dict(zip(_KEY_COLUMNS, key, strict=True), visits=n) for key, n in sorted(tally.items())]
    insert = postgresql.insert(daily_visits) if conn.dialect.name == "postgresql" else sqlite.insert(daily_visits)
    statement = insert.values(values).on_conflict_do_update(
        index_elements=_KEY_COLUMNS, set_={"visits": daily_visits.c.visits + insert.excluded.visits}
    )
    conn.execute(statement)


def per_checkpoint(conn: Connection, checkpoint_ids: sa.Select[Any], first_day: date, last_day: date) -> dict[int, int]:
    """Visits per checkpoint (of ``checkpoint_ids``) over the local days first_day..last_day."""
    query = (
        sa.select(daily_visits.c.checkpoint_id, sa.func.sum(daily_visits.c.visits))
        .where(
            daily_visits.c.checkpoint_id.in_(checkpoint_ids),
            daily_visits.c.day >= first_day,
            daily_visits.c.day <= last_day,
        )
        .group_by(daily_visits.c.checkpoint_id)
    )
    return {checkpoint: int(total) for checkpoint, total in conn.execute(query).all()}


def _local_day_sql(dialect: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone(str(LOCAL_TZ), visits.c.occurred_at), sa.Date)
    return sa.func.date(visits.c.occurred_at, SQLITE_LOCAL_OFFSET)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def recount_sql(dialect: str) -> sa.Select[Any]:
    """The counts as a GROUP BY over the stored visits (migration 0005 builds them the same way)."""
    day = _local_day_sql(dialect).label("day")
    return sa.select(visits.c.checkpoint_id, day, visits.c.direction, visits.c.kind, sa.func.count().label("visits")).group_by(
        visits.c.checkpoint_id, day, visits.c.direction, visits.c.kind
    )


@dataclass(frozen=True)
class Mismatch:
    checkpoint_id: int
    day: date
    direction: str
    kind: str
    counted: int  # in daily_visits
    stored: int  # visits in the table

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "day": self.day.isoformat()}


def recount(engine: Engine, since: date | None = None) -> list[Mismatch]:
    """Every key where the counts differ from the visits stored (empty: they agree), in one
    snapshot, on the local days from ``since`` (every day when None: nothing was dropped).
    Compared in the database (a full outer join), so only differences come back."""
    stored = recount_sql(engine.dialect.name).subquery()
    counted = daily_visits.c
    keys = [counted.checkpoint_id, counted.day, counted.direction, counted.kind]
    same_key = sa.and_(*(column == stored.c[column.name] for column in keys))
    query = (
        sa.select(
            *(sa.func.coalesce(column, stored.c[column.name]).label(column.name) for column in keys),
            sa.func.coalesce(counted.visits, 0).label("counted"),
            sa.func.coalesce(stored.c.visits, 0).label("stored"),
        )
        .select_from(daily_visits.join(stored, same_key, full=True))
        .where(sa.func.coalesce(counted.visits, 0) != sa.func.coalesce(stored.c.visits, 0))
    )
    if since is not None:
        query = query.where(sa.func.coalesce(counted.day, stored.c.day) >= since)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = conn.execute(query).all()
    found = [Mismatch(r.checkpoint_id, _as_date(r.day), r.direction, r.kind, r.counted, r.stored) for r in rows]
    return sorted(found, key=lambda m: (m.checkpoint_id, m.day, m.direction, m.kind))
