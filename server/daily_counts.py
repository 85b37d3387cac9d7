"""Visits per checkpoint, local day, direction and kind, and the same by local month: what
reports read instead of the visits.

A weekly table sums at most checkpoints × 7 day rows, and a year-to-date sums whole months
from ``monthly_visits`` and only the days of the current month from ``daily_visits``, so
neither grows with the weeks stored (issue 17: a city of 637,533 checkpoints). On
PostgreSQL both primary keys carry the count (``INCLUDE (visits)``), so a SUM is an
index-only scan: with visits this sparse (0.16 a checkpoint a day in the city bench)
nearly every visit has a count row of its own, and a SUM that read the heap was slower
than the COUNT over the visits it replaces (bench/server_report.py, docs/scale.md).

The counts are exact, not estimated: ``add`` runs in the transaction that stored the
visits and adds exactly the rows its INSERT created (``RETURNING``), to the day and to the
month alike, so a rollback takes both away, a duplicate or a conflict adds nothing, and
USB imports (which go through the same ingest) count like uploads. Concurrent batches add
with one atomic upsert per table (``ON CONFLICT … DO UPDATE SET visits = visits +
excluded``), keys in sorted order and the day table first, so two transactions never wait
on each other in opposite orders.

The day is the local (Asia/Ho_Chi_Minh) date of ``occurred_at``, the time reports use, so a
7-day window in Vietnam time is exactly 7 days of counts; the month is that day's month.

Counts are history and are never decremented. A purge clears personal fields and keeps the
rows; dropping old months of visits (whole partitions on PostgreSQL, server/retention.py)
keeps the counts too: a report says how many visits happened, not how many are still
stored. ``recount`` compares both tables with a full GROUP BY over the stored visits from
the first month whose visits are all kept (visit rows are only ever added after it, so
there the two are equal for every key), and the months with the sums of their days over
all time (``checkpoint-server check-counts``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from kiosk.clock import LOCAL_TZ
from server.schema import daily_visits, monthly_visits, visits

CountsTable = Literal["daily_visits", "monthly_visits"]
# Vietnam has kept UTC+7 all year, without summer time, since 1975; every stored visit is
# after TIME_FLOOR (2020, server/ingest.py). SQLite has no time zones, so it adds the offset.
SQLITE_LOCAL_OFFSET = "+7 hours"


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def _upsert(conn: Connection, table: sa.Table, tally: Counter[tuple[Any, ...]]) -> None:
    keys = [c.name for c in table.primary_key.columns]
    values = [dict(zip(keys, key, strict=True), visits=n) for key, n in sorted(tally.items())]
    insert = postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    # The keys as executemany parameters, apart from the statement: SQLAlchemy caches its
    # compiled form, where a multi-row VALUES was compiled again for every batch.
    upsert = insert.on_conflict_do_update(index_elements=keys, set_={"visits": table.c.visits + insert.excluded.visits})
    conn.execute(upsert, values)


def add(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Count these newly stored visit rows by day and by month (inside the transaction that stored them)."""
    days = Counter((r["checkpoint_id"], local_day(r["occurred_at"]), r["direction"], r["kind"]) for r in rows)
    if not days:
        return
    months: Counter[tuple[Any, ...]] = Counter()
    for (checkpoint, day, direction, kind), n in days.items():
        months[checkpoint, day.replace(day=1), direction, kind] += n
    _upsert(conn, daily_visits, days)
    _upsert(conn, monthly_visits, months)


def _whole_months(first_day: date, last_day: date) -> tuple[date, date] | None:
    """The first day of the first and of the last whole month inside first_day..last_day, if any."""
    first = first_day if first_day.day == 1 else (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    after = last_day + timedelta(days=1)
    last = (after if after.day == 1 else after.replace(day=1)) - timedelta(days=1)
    return (first, last.replace(day=1)) if first <= last else None


def visits_between(checkpoint: sa.ColumnElement[Any], first_day: date, last_day: date) -> sa.ColumnElement[Any]:
    """The visits of ``checkpoint`` (a column of the enclosing query) over the local days
    first_day..last_day, as a correlated expression: whole months from the monthly roll-up,
    the days before and after them from the daily counts.

    Correlated, so PostgreSQL probes the covering primary keys once per checkpoint of the
    district (an index-only range of at most 31 days or 12 months) instead of hashing a
    scan of every district's window: 150 ms rather than 495 ms for a year-to-date of 21,253
    checkpoints in a city of 63,753, and the cost stays with the district's checkpoints
    however large the city or long the history (bench/server_report.py, docs/scale.md)."""
    spans: list[tuple[sa.Table, sa.Column[Any], date, date]] = []
    months = _whole_months(first_day, last_day)
    if months is None:
        spans.append((daily_visits, daily_visits.c.day, first_day, last_day))
    else:
        spans.append((monthly_visits, monthly_visits.c.month, *months))
        if first_day < months[0]:
            spans.append((daily_visits, daily_visits.c.day, first_day, months[0] - timedelta(days=1)))
        after = (months[1].replace(day=28) + timedelta(days=4)).replace(day=1)
        if after <= last_day:
            spans.append((daily_visits, daily_visits.c.day, after, last_day))
    sums = [
        sa.func.coalesce(
            sa.select(sa.func.sum(table.c.visits))
            .where(table.c.checkpoint_id == checkpoint, period.between(first, last))
            .scalar_subquery(),
            0,
        )
        for table, period, first, last in spans
    ]
    total: sa.ColumnElement[Any] = sums[0]
    for more in sums[1:]:
        total = total + more
    return total


def per_checkpoint(conn: Connection, checkpoint_ids: sa.Select[Any], first_day: date, last_day: date) -> dict[int, int]:
    """Visits per checkpoint (of ``checkpoint_ids``; those with none are left out) over the
    local days first_day..last_day (``visits_between``)."""
    checkpoint = checkpoint_ids.subquery().c[0]
    query = sa.select(checkpoint, visits_between(checkpoint, first_day, last_day))
    return {int(c): int(n) for c, n in conn.execute(query).all() if n}


def _local_day_sql(dialect: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone(str(LOCAL_TZ), visits.c.occurred_at), sa.Date)
    return sa.func.date(visits.c.occurred_at, SQLITE_LOCAL_OFFSET)


def _month_sql(dialect: str, day: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The first day of the month of a local day (a date, never a time: no zone involved)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc("month", sa.cast(day, sa.DateTime(timezone=False))), sa.Date)
    return sa.func.date(day, "start of month")


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _grouped(source: Any, period: sa.ColumnElement[Any], name: str, total: sa.ColumnElement[Any]) -> sa.Select[Any]:
    period = period.label(name)
    return (
        sa.select(source.c.checkpoint_id, period, source.c.direction, source.c.kind, total.label("visits"))
        .select_from(source)
        .group_by(source.c.checkpoint_id, period, source.c.direction, source.c.kind)
    )


def recount_sql(dialect: str) -> sa.Select[Any]:
    """The daily counts as a GROUP BY over the stored visits (migration 0005 builds them the same way)."""
    return _grouped(visits, _local_day_sql(dialect), "day", sa.func.count())


def monthly_recount_sql(dialect: str) -> sa.Select[Any]:
    """The monthly counts as a GROUP BY over the stored visits."""
    return _grouped(visits, _month_sql(dialect, _local_day_sql(dialect)), "month", sa.func.count())


def monthly_from_daily_sql(dialect: str) -> sa.Select[Any]:
    """The monthly counts as the sums of the daily ones (migration 0010 builds them so)."""
    return _grouped(daily_visits, _month_sql(dialect, daily_visits.c.day), "month", sa.func.sum(daily_visits.c.visits))


@dataclass(frozen=True)
class Mismatch:
    table: CountsTable  # the counts that differ
    recounted_from: Literal["visits", "daily_visits"]
    checkpoint_id: int
    day: date  # the day, or the first day of the month
    direction: str
    kind: str
    counted: int  # in ``table``
    stored: int  # recounted from ``recounted_from``

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "day": self.day.isoformat()}


def _differences(
    conn: Connection,
    counts: sa.Table,
    recounted: sa.Select[Any],
    source: Literal["visits", "daily_visits"],
    since: date | None = None,
) -> Iterable[Mismatch]:
    """Keys where ``counts`` differ from ``recounted`` on the days or months from ``since``
    (all when None), compared in the database (a full outer join), so only differences come
    back."""
    stored = recounted.subquery()
    keys = [c for c in counts.primary_key.columns]
    same_key = sa.and_(*(column == stored.c[column.name] for column in keys))
    query = (
        sa.select(
            *(sa.func.coalesce(column, stored.c[column.name]).label(column.name) for column in keys),
            sa.func.coalesce(counts.c.visits, 0).label("counted"),
            sa.func.coalesce(stored.c.visits, 0).label("stored"),
        )
        .select_from(counts.join(stored, same_key, full=True))
        .where(sa.func.coalesce(counts.c.visits, 0) != sa.func.coalesce(stored.c.visits, 0))
    )
    if since is not None:
        period = keys[1]  # the day or the month, after the checkpoint
        query = query.where(sa.func.coalesce(period, stored.c[period.name]) >= since)
    name: CountsTable = "daily_visits" if counts is daily_visits else "monthly_visits"
    for r in conn.execute(query).all():
        yield Mismatch(name, source, r.checkpoint_id, _as_date(r[1]), r.direction, r.kind, int(r.counted), int(r.stored))


def recount(engine: Engine, since: date | None = None) -> list[Mismatch]:
    """Every key where the counts differ (empty: they agree), in one snapshot: the daily and
    the monthly counts each against a full recount of the stored visits from ``since`` (the
    first day of the first month kept whole; every day when None: nothing was dropped), and
    the months against the sums of their days."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        dialect = conn.dialect.name
        found = [
            *_differences(conn, daily_visits, recount_sql(dialect), "visits", since),
            *_differences(conn, monthly_visits, monthly_recount_sql(dialect), "visits", since),
            *_differences(conn, monthly_visits, monthly_from_daily_sql(dialect), "daily_visits"),
        ]
    return sorted(found, key=lambda m: (m.table, m.recounted_from, m.checkpoint_id, m.day, m.direction, m.kind))
