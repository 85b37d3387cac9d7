"""Visits by month on PostgreSQL: partitions made ahead, and old months dropped whole.

On PostgreSQL ``visits`` is a table partitioned by ``occurred_at`` (RANGE), one partition
per local (Asia/Ho_Chi_Minh) month, named ``visits_pYYYY_MM``, bounded at local midnight of
the first: a month then holds whole local days, so dropping one leaves whole days of counts
behind it and none half-recounted (server/daily_counts.py). The reason for partitions is
retention: an old month goes with one DETACH and DROP instead of a DELETE or UPDATE that
rewrites every row and leaves as many dead ones for VACUUM (docs/scale.md).

The server makes the current month and the next ``AHEAD`` months whenever it migrates (so
at ``migrate`` and at ``serve`` start, server/migrate.py) and on every turn of the
retention timer, so ingest never waits for DDL. A visit that falls in no monthly
partition (a kiosk clock wildly wrong but still after 2020, or a month the server was not
running to prepare) is kept in ``visits_default``: no visit is lost to a clock. Making a
month whose visits already sit in the default partition moves them into the new month in
the same transaction, so the partitions stay exact. Retention removes old rows of the
default partition with a DELETE (few rows: only wrong clocks), see server/retention.py.

SQLite keeps one plain table with the same columns: a district's volume does not need it.
Everything here is a no-op there except ``drop_before``, which deletes the same months'
rows, so ``[retention] rows_days`` means the same on both databases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from kiosk.clock import LOCAL_TZ
from server.schema import visit_keys, visits

AHEAD = 2  # months made ahead of the current one
DEFAULT = "visits_default"
_NAME = re.compile(r"^visits_p(\d{4})_(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> Month:
        local = moment.astimezone(LOCAL_TZ)
        return cls(local.year, local.month)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        """Local midnight of the first day, as an aware datetime."""
        return datetime(self.year, self.month, 1, tzinfo=LOCAL_TZ)

    @property
    def end(self) -> datetime:
        return self.plus(1).start

    @property
    def table(self) -> str:
        return f"visits_p{self.year:04d}_{self.month:02d}"


def is_partition_name(name: str | None) -> bool:
    """Whether a table name is one of visits' partitions (schema comparisons leave them out)."""
    return name == DEFAULT or bool(name and _NAME.match(name))


def is_partitioned(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def existing(conn: Connection) -> list[Month]:
    """The monthly partitions attached to ``visits``, oldest first (in the search path's schema)."""
    names = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'visits'::regclass"
    ).scalars()
    return sorted(Month(int(m[1]), int(m[2])) for name in names if (m := _NAME.match(name)))


def has_default(conn: Connection) -> bool:
    return bool(conn.exec_driver_sql("SELECT to_regclass(%(name)s) IS NOT NULL", {"name": DEFAULT}).scalar())


def create_default(conn: Connection) -> None:
    conn.exec_driver_sql(f"CREATE TABLE {DEFAULT} PARTITION OF visits DEFAULT")


def create_month(conn: Connection, month: Month) -> None:
    """Make ``month``'s partition, moving in any of its visits the default partition holds.

    Made as a plain table first and attached after the move: attaching checks that the
    default partition holds none of the month's rows, which creating it directly as a
    partition would refuse outright."""
    bounds = {"start": month.start, "end": month.end}
    conn.exec_driver_sql(f"CREATE TABLE {month.table} (LIKE visits INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE occurred_at >= %(start)s AND occurred_at < %(end)s RETURNING *) "
        f"INSERT INTO {month.table} SELECT * FROM moved",
        bounds,
    )
    # DDL takes no parameters: the bounds are written out (made from integers, nothing given)
    conn.exec_driver_sql(
        f"ALTER TABLE visits ATTACH PARTITION {month.table} "
        f"FOR VALUES FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"
    )


def _one_at_a_time(conn: Connection) -> None:
    """Every worker runs the retention timer: one of them at a time changes the partitions
    (until its transaction ends), and the others then see what it made or dropped."""
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('checkpoint-server: visits partitions'))")


def ensure(conn: Connection, months: list[Month]) -> list[Month]:
    """Make the default partition and each of ``months`` that does not exist yet; returns those made."""
    if not is_partitioned(conn):
        return []
    _one_at_a_time(conn)
    if not has_default(conn):
        create_default(conn)
    present = set(existing(conn))
    made = [month for month in sorted(set(months)) if month not in present]
    for month in made:
        create_month(conn, month)
    return made


def ensure_ahead(conn: Connection, now: datetime, ahead: int = AHEAD) -> list[Month]:
    """The current local month and the next ``ahead`` ones (returns those made now)."""
    current = Month.of(now)
    return ensure(conn, [current.plus(n) for n in range(ahead + 1)])


@dataclass(frozen=True)
class Dropped:
    months: list[Month]  # whole partitions detached and dropped (PostgreSQL)
    rows: int  # visits removed with them, and from the default partition (or the SQLite table)


def drop_before(conn: Connection, before: Month) -> Dropped:
    """Remove every visit of the months before ``before`` (and their keys).

    PostgreSQL: each such partition's keys are deleted, then it is detached and dropped;
    the default partition's visits before the month are deleted row by row. SQLite: one DELETE."""
    cutoff = before.start
    rows = 0
    months: list[Month] = []
    if is_partitioned(conn):
        _one_at_a_time(conn)
        for month in existing(conn):
            if month >= before:
                break
            # one key per visit, with its time: the keys deleted are the month's visits counted
            in_month = visit_keys.delete().where(visit_keys.c.occurred_at >= month.start, visit_keys.c.occurred_at < month.end)
            rows += conn.execute(in_month).rowcount
            conn.exec_driver_sql(f"ALTER TABLE visits DETACH PARTITION {month.table}")
            conn.exec_driver_sql(f"DROP TABLE {month.table}")
            months.append(month)
    rows += conn.execute(visits.delete().where(visits.c.occurred_at < cutoff)).rowcount
    conn.execute(visit_keys.delete().where(visit_keys.c.occurred_at < cutoff))
    return Dropped(months, rows)
