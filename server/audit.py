"""The audit log: who looked at personal data or changed who may send it, when and why."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from server.schema import audit_log


def write(
    conn: Connection,
    actor: str,
    action: str,
    *,
    reason: str | None = None,
    params: dict[str, Any] | None = None,
    result_count: int | None = None,
) -> int:
    """Written in the caller's transaction: the action and its record stand or fall together."""
    return conn.execute(
        audit_log.insert()
        .values(at=datetime.now(timezone.utc), actor=actor, action=action, reason=reason, params=params, result_count=result_count)
        .returning(audit_log.c.id)
    ).scalar_one()


def entries(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)).mappings().all()
    return [dict(row) for row in rows]
