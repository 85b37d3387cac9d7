"""Retention: personal data is kept only as long as tracing may need it, and then it goes by itself.

Purging clears the personal columns of old visits and stamps ``purged_at``; the rows stay,
so the district table and year-to-date counts do not change after a purge. On SQLite the
cleared bytes are zeroed (``secure_delete``, server/db.py) and the WAL truncated, so they
are gone from the files too; PostgreSQL keeps old row versions until VACUUM reuses them.

The visits themselves, long since purged, go after ``[retention] rows_days`` (400 by
default), a whole local month at a time: on PostgreSQL ``visits`` is partitioned by month
(server/partitions.py), so a month goes with one DETACH and DROP of its partition instead
of a DELETE that rewrites the table; SQLite deletes the same months' rows. The meaning of
reports does not change: the daily counts are history and are never decremented, so a
week's figures are the same before and after its visits are dropped. Each drop is written
to the audit log with the month it kept from; ``kept_since`` reads it, so
``checkpoint-server check-counts`` compares counts with visits only where visits are kept.

The running server does all this on a timer (``purge_periodically``, started by the app's
lifespan in server/app.py): once at start, so a server that was down for a month catches
up at once, then every ``[retention] purge_every_s``; each turn first makes the coming
months' partitions. A purge is one idempotent UPDATE (``purged_at IS NULL``) and a drop
removes only what is older than its month, so several workers each running the timer, or
the timer beside ``checkpoint-server purge``, clear and drop each visit once. The timer
writes an audit entry only when it cleared or dropped something (an hourly "nothing" entry
would bury the audit log); the command always writes one, because an official ran it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from server import audit, partitions
from server.config import RetentionSection
from server.db import writing
from server.schema import audit_log, visits

log = logging.getLogger(__name__)
TIMER_ACTOR = "server:retention-timer"
DROP_ACTION = "visits.drop"


def purge(engine: Engine, older_than_days: int, actor: str, now: datetime | None = None, *, audit_nothing: bool = True) -> int:
    """Clear personal fields of visits that happened more than ``older_than_days`` ago; returns how many."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=older_than_days)
    with writing(engine) as conn:
        cleared = conn.execute(
            visits.update()
            .where(visits.c.occurred_at < cutoff, visits.c.purged_at.is_(None))
            .values(
                id_number=None,
                phone=None,
                person_name=None,
                card_number=None,
                fields=None,
                operator=None,
                purged_at=datetime.now(timezone.utc),
            )
        ).rowcount
        if cleared or audit_nothing:
            audit.write(
                conn,
                actor,
                "visits.purge",
                params={"older_than_days": older_than_days, "cutoff": cutoff.isoformat()},
                result_count=cleared,
            )
    if cleared and engine.dialect.name == "sqlite":
        _truncate_wal(engine)
    return cleared


def _truncate_wal(engine: Engine) -> None:
    """SQLite: the WAL still holds the pages as they were before the purge; copy it into the
    database (where ``secure_delete`` zeroed what was cleared) and truncate it. Blocked by a
    reader, it is left to SQLite's next checkpoint."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def drop_old(
    engine: Engine, rows_days: int, actor: str, now: datetime | None = None, *, audit_nothing: bool = True
) -> partitions.Dropped:
    """Remove the visits of every local month that ended more than ``rows_days`` ago (whole
    partitions on PostgreSQL) with their keys; the counts stay."""
    before = partitions.Month.of((now or datetime.now(timezone.utc)) - timedelta(days=rows_days))
    with writing(engine) as conn:
        dropped = partitions.drop_before(conn, before)
        if dropped.rows or dropped.months or audit_nothing:
            params = {
                "older_than_days": rows_days,
                "kept_from": before.start.isoformat(),
                "partitions": [m.table for m in dropped.months],
            }
            audit.write(conn, actor, DROP_ACTION, params=params, result_count=dropped.rows)
    return dropped


def kept_since(engine: Engine) -> date | None:
    """The first local day from which every visit is still stored (None: nothing was ever dropped)."""
    with engine.connect() as conn:
        drops = conn.execute(sa.select(audit_log.c.params).where(audit_log.c.action == DROP_ACTION)).scalars()
        kept = [datetime.fromisoformat(params["kept_from"]) for params in drops if params and "kept_from" in params]
    return partitions.Month.of(max(kept)).start.date() if kept else None


def retention_turn(engine: Engine, rules: RetentionSection, now: datetime | None = None) -> tuple[int, partitions.Dropped]:
    """One turn of the timer: the coming months' partitions, the purge, the drop of old months."""
    now = now or datetime.now(timezone.utc)
    with writing(engine) as conn:
        partitions.ensure_ahead(conn, now)
    cleared = purge(engine, rules.days, TIMER_ACTOR, now, audit_nothing=False)
    return cleared, drop_old(engine, rules.rows_days, TIMER_ACTOR, now, audit_nothing=False)


async def purge_periodically(engine_of: Callable[[], Engine | None], rules: RetentionSection) -> None:
    """A retention turn now and every ``rules.purge_every_s`` until cancelled, in the database
    the app serves at that moment (``engine_of``); a failing database is logged and tried again
    at the next turn, never the end of the timer."""
    while True:
        engine = engine_of()
        if engine is None:  # an app made before its database (the API spec's tests): nothing to purge yet
            await asyncio.sleep(rules.purge_every_s)
            continue
        try:
            cleared, dropped = await asyncio.to_thread(retention_turn, engine, rules)
        except SQLAlchemyError as exc:
            log.warning("retention: purge failed (%s); next try in %s s", type(exc).__name__, rules.purge_every_s)
        else:
            level = logging.INFO if cleared else logging.DEBUG
            log.log(level, "retention: cleared the personal data of %d visits older than %d days", cleared, rules.days)
            if dropped.rows or dropped.months:
                log.info(
                    "retention: dropped %d visits (%d monthly partitions) older than %d days",
                    dropped.rows,
                    len(dropped.months),
                    rules.rows_days,
                )
        await asyncio.sleep(rules.purge_every_s)
