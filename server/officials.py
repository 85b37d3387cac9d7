"""District officials: their role and place, their API token (optionally expiring) and their
console password. Reports, checkpoint import, enrolment codes and tracing check the role
(server/roles.py) whichever door the official came through."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kiosk.catalog import bilingual
from server import audit, passwords
from server.db import writing
from server.errors import Conflict, NotFound, UserError
from server.places import clean_name, commune_name, district_id
from server.roles import ROLES, Official, Role
from server.schema import communes, districts, officials, web_sessions
from server.tokens import digest, new_token

TOKEN_PREFIX = "off"


class OfficialAuthError(Exception):
    """The bearer token is not a current official's token."""


def _place(conn: Connection, role: Role, district: str | None, province: str | None, commune: str | None) -> dict[str, Any]:
    if role not in ROLES:
        raise UserError("role_unknown", bilingual("role must be one of {roles}", roles=", ".join(ROLES)))
    if role == "commune" and not (commune and district):
        raise UserError(
            "commune_required",
            bilingual("a commune official needs --district and --commune"),
        )
    if commune and role != "commune":
        raise UserError("commune_for_role", bilingual("only the commune role has a commune"))
    if not district:
        return {"district_id": None, "commune_id": None}
    did = district_id(conn, district, province)
    cid = None
    if commune:
        name = commune_name(conn, did, commune)
        cid = conn.execute(sa.select(communes.c.id).where(communes.c.district_id == did, communes.c.name == name)).scalar_one()
    return {"district_id": did, "commune_id": cid}


def add_official(
    engine: Engine,
    name: str,
    actor: str,
    *,
    role: Role = "district",
    district: str | None = None,
    province: str | None = None,
    commune: str | None = None,
    password: str | None = None,
    token_valid_days: int | None = None,
) -> str:
    """Register an official and return their API token (shown once, stored hashed)."""
    name = clean_name(name)
    token = new_token(TOKEN_PREFIX)
    hashed = passwords.hash_password(password) if password is not None else None
    now = datetime.now(timezone.utc)
    with writing(engine) as conn:
        if conn.execute(sa.select(officials.c.id).where(officials.c.name == name)).first():
            raise Conflict("official_exists", bilingual("official '{name}' already exists", name=name))
        conn.execute(
            officials.insert().values(
                name=name,
                token_hash=digest(token),
                created_at=now,
                role=role,
                password_hash=hashed,
                token_expires_at=now + timedelta(days=token_valid_days) if token_valid_days else None,
                **_place(conn, role, district, province, commune),
            )
        )
        audit.write(conn, actor, "official.add", params={"official": name, "role": role})
    return token


def _active_id(conn: Connection, name: str) -> int:
    row = conn.execute(
        sa.select(officials.c.id).where(officials.c.name == clean_name(name), officials.c.revoked_at.is_(None))
    ).first()
    if row is None:
        raise NotFound("official_not_found", bilingual("no active official '{name}'", name=name))
    return int(row.id)


def set_password(engine: Engine, name: str, password: str, actor: str) -> None:
    """A new console password; every browser signed in as them is signed out."""
    hashed = passwords.hash_password(password)
    with writing(engine) as conn:
        official_id = _active_id(conn, name)
        conn.execute(officials.update().where(officials.c.id == official_id).values(password_hash=hashed))
        _sign_out_everywhere(conn, official_id)
        audit.write(conn, actor, "official.password", params={"official": clean_name(name)})


def change_own_password(engine: Engine, official_id: int, current: str, new: str) -> None:
    """The console's password change: the current password first, then every session ends."""
    with engine.connect() as conn:
        stored = conn.execute(sa.select(officials.c.password_hash).where(officials.c.id == official_id)).scalar()
    if not passwords.verify(stored, current):
        raise UserError("password_wrong", bilingual("the current password is wrong"))
    hashed = passwords.hash_password(new)
    with writing(engine) as conn:
        conn.execute(officials.update().where(officials.c.id == official_id).values(password_hash=hashed))
        _sign_out_everywhere(conn, official_id)
        name = conn.execute(sa.select(officials.c.name).where(officials.c.id == official_id)).scalar_one()
        audit.write(conn, f"official:{name}", "official.password")


def _sign_out_everywhere(conn: Connection, official_id: int) -> None:
    conn.execute(web_sessions.delete().where(web_sessions.c.official_id == official_id))


def revoke_official(engine: Engine, name: str, actor: str) -> None:
    with writing(engine) as conn:
        official_id = _active_id(conn, name)
        conn.execute(officials.update().where(officials.c.id == official_id).values(revoked_at=datetime.now(timezone.utc)))
        _sign_out_everywhere(conn, official_id)
        audit.write(conn, actor, "official.revoke", params={"official": clean_name(name)})


def list_officials(engine: Engine) -> list[dict[str, Any]]:
    query = (
        sa.select(
            officials.c.name,
            officials.c.role,
            districts.c.name.label("district"),
            communes.c.name.label("commune"),
            (officials.c.password_hash.is_not(None)).label("password"),
            officials.c.token_expires_at,
            officials.c.created_at,
            officials.c.revoked_at,
        )
        .select_from(
            officials.outerjoin(districts, officials.c.district_id == districts.c.id).outerjoin(
                communes, officials.c.commune_id == communes.c.id
            )
        )
        .order_by(officials.c.name)
    )
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def official_from_row(row: Any) -> Official:
    return Official(id=row.id, name=row.name, role=row.role, district_id=row.district_id, commune_id=row.commune_id)


OFFICIAL_COLUMNS = (
    officials.c.id,
    officials.c.name,
    officials.c.role,
    officials.c.district_id,
    officials.c.commune_id,
)


def official_for_token(conn: Connection, token: str) -> Official:
    row = conn.execute(
        sa.select(*OFFICIAL_COLUMNS, officials.c.token_expires_at).where(
            officials.c.token_hash == digest(token), officials.c.revoked_at.is_(None)
        )
    ).first()
    if row is None or (row.token_expires_at is not None and row.token_expires_at <= datetime.now(timezone.utc)):
        raise OfficialAuthError
    return official_from_row(row)
