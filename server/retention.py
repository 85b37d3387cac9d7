"""Retention: personal data is kept only as long as tracing may need it.

Purging clears the personal columns of old visits and stamps ``purged_at``; the rows stay,
so the district table and year-to-date counts do not change after a purge.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Engine

from server import audit
from server.db import writing
from server.schema import visits


def purge(engine: Engine, older_than_days: int, actor: str, now: datetime | None = None) -> int:
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
        audit.write(
            conn,
            actor,
            "visits.purge",
            params={"older_than_days": older_than_days, "cutoff": cutoff.isoformat()},
            result_count=cleared,
        )
    return cleared
