"""District officials and their API tokens: reports, checkpoint import, enrolment codes, tracing."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kiosk.catalog import bilingual
from server import audit
from server.db import writing
from server.errors import Conflict, NotFound
from server.places import clean_name
from server.schema import officials
from server.tokens import digest, new_token

TOKEN_PREFIX = "off"


class OfficialAuthError(Exception):
    """The bearer token is not a current official's token."""


def add_official(engine: Engine, name: str, actor: str) -> str:
    """Register an official and return their token (shown once, stored hashed)."""
    name = clean_name(name)
    token = new_token(TOKEN_PREFIX)
    with writing(engine) as conn:
        if conn.execute(sa.select(officials.c.id).where(officials.c.name == name)).first():
            raise Conflict("official_exists", bilingual("official '{name}' already exists", name=name))
        conn.execute(officials.insert().values(name=name, token_hash=digest(token), created_at=datetime.now(timezone.utc)))
        audit.write(conn, actor, "official.add", params={"official": name})
    return token


def revoke_official(engine: Engine, name: str, actor: str) -> None:
    with writing(engine) as conn:
        done = conn.execute(
            officials.update()
            .where(officials.c.name == clean_name(name), officials.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(timezone.utc))
        ).rowcount
        if not done:
            raise NotFound("official_not_found", bilingual("no active official '{name}'", name=name))
        audit.write(conn, actor, "official.revoke", params={"official": clean_name(name)})


def list_officials(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = (
            conn.execute(sa.select(officials.c.name, officials.c.created_at, officials.c.revoked_at).order_by(officials.c.name))
            .mappings()
            .all()
        )
    return [dict(row) for row in rows]


def official_for_token(conn: Connection, token: str) -> str:
    row = conn.execute(
        sa.select(officials.c.name).where(officials.c.token_hash == digest(token), officials.c.revoked_at.is_(None))
    ).first()
    if row is None:
        raise OfficialAuthError
    return row.name
