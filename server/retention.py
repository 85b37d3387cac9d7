"""Retention: personal data is kept only as long as tracing may need it, and then it goes by itself.

Purging clears the personal columns of old visits and stamps ``purged_at``; the rows stay,
so the district table and year-to-date counts do not change after a purge. On SQLite the
cleared bytes are zeroed (``secure_delete``, server/db.py) and the WAL truncated, so they
are gone from the files too; PostgreSQL keeps old row versions until VACUUM reuses them.

The running server purges on a timer (``purge_periodically``, started by the app's
lifespan in server/app.py): once at start, so a server that was down for a month catches
up at once, then every ``[retention] purge_every_s``. A purge is one idempotent UPDATE
(``purged_at IS NULL``), so several workers each running the timer, or the timer beside
``checkpoint-server purge``, clear each visit once. The timer writes an audit entry only
when it cleared something (an hourly "nothing" entry would bury the audit log); the
command always writes one, because an official ran it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from server import audit
from server.config import RetentionSection
from server.db import writing
from server.schema import visits

log = logging.getLogger(__name__)
TIMER_ACTOR = "server:retention-timer"


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


async def purge_periodically(engine_of: Callable[[], Engine | None], rules: RetentionSection) -> None:
    """Purge now and every ``rules.purge_every_s`` until cancelled, in the database the app
    serves at that moment (``engine_of``); a failing database is logged and tried again at the
    next turn, never the end of the timer."""
    while True:
        engine = engine_of()
        if engine is None:  # an app made before its database (the API spec's tests): nothing to purge yet
            await asyncio.sleep(rules.purge_every_s)
            continue
        try:
            cleared = await asyncio.to_thread(purge, engine, rules.days, TIMER_ACTOR, audit_nothing=False)
        except SQLAlchemyError as exc:
            log.warning("retention: purge failed (%s); next try in %s s", type(exc).__name__, rules.purge_every_s)
        else:
            level = logging.INFO if cleared else logging.DEBUG
            log.log(level, "retention: cleared the personal data of %d visits older than %d days", cleared, rules.days)
        await asyncio.sleep(rules.purge_every_s)
