"""District officials: their role and place, their API token (optionally expiring) and their
console password. Reports, checkpoint import, enrolment codes and tracing check the role
(server/roles.py) whichever door the official came through.

The CLI (``checkpoint-server official …``) and the console's officials pages call the same
functions here, so a rule (a commune official needs a commune, names are unique, every
change is in the audit log in the change's own transaction) holds on both. An official is
never deleted: the audit log names them. Disabling (the CLI's ``revoke``) ends their
sessions and stops their password and token; enabling gives both back as they were. A
password someone else set or generated must be changed at the next sign-in."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kiosk.catalog import bilingual
from server import audit, passwords
from server.db import writing
from server.errors import Conflict, NotFound, UserError
from server.names import folded
from server.places import clean_name, commune_name, district_id
from server.roles import ROLES, Official, Role
from server.schema import communes, districts, login_failures, officials, web_sessions
from server.tokens import CODE_ALPHABET, digest, new_token

TOKEN_PREFIX = "off"
ONE_TIME_GROUPS, ONE_TIME_GROUP_LEN = 4, 4  # e.g. 7KQ2-MX4P-9TJD-R3WA: 80 bits, read aloud or typed from a phone


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
    must_change_password: bool = False,
    with_token: bool = True,
) -> str:
    """Register an official and return their API token (shown once, stored hashed); without
    ``with_token`` (a person who only uses the console) the token is born expired: not to be shown."""
    name = clean_name(name)
    token = new_token(TOKEN_PREFIX)
    hashed = passwords.hash_password(password) if password is not None else None
    now = datetime.now(timezone.utc)
    expires = (now + timedelta(days=token_valid_days) if token_valid_days else None) if with_token else now
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
                must_change_password=must_change_password,
                token_expires_at=expires,
                **_place(conn, role, district, province, commune),
            )
        )
        audit.write(conn, actor, "official.add", params={"official": name, "role": role})
    return token


def login_key(name: str) -> str:
    """What sign-in counts failures under: the name without case, whether or not anyone has it."""
    return folded(name)[:100]


def one_time_password() -> str:
    """A password for someone else to type once, then change (``must_change_password``)."""
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(ONE_TIME_GROUP_LEN)) for _ in range(ONE_TIME_GROUPS))
    return "-".join(groups)


def _active_id(conn: Connection, name: str) -> int:
    row = conn.execute(
        sa.select(officials.c.id).where(officials.c.name == clean_name(name), officials.c.revoked_at.is_(None))
    ).first()
    if row is None:
        raise NotFound("official_not_found", bilingual("no active official '{name}'", name=name))
    return int(row.id)


def _any_id(conn: Connection, name: str) -> int:
    found = conn.execute(sa.select(officials.c.id).where(officials.c.name == clean_name(name))).scalar()
    if found is None:
        raise NotFound("official_not_found", bilingual("no official '{name}'", name=name))
    return int(found)


def set_password(engine: Engine, name: str, password: str, actor: str, *, must_change: bool = False) -> None:
    """A new console password; every browser signed in as them is signed out. ``must_change``:
    they choose their own at their next sign-in (someone else set this one)."""
    hashed = passwords.hash_password(password)
    with writing(engine) as conn:
        official_id = _active_id(conn, name)
        conn.execute(
            officials.update().where(officials.c.id == official_id).values(password_hash=hashed, must_change_password=must_change)
        )
        _sign_out_everywhere(conn, official_id)
        audit.write(conn, actor, "official.password", params={"official": clean_name(name)})


def set_role(
    engine: Engine,
    name: str,
    actor: str,
    *,
    role: Role,
    district: str | None = None,
    province: str | None = None,
    commune: str | None = None,
) -> None:
    """A new role and place, by the rules of ``add_official``; their open sessions end, so no
    browser keeps what the old role allowed."""
    with writing(engine) as conn:
        official_id = _any_id(conn, name)
        conn.execute(
            officials.update()
            .where(officials.c.id == official_id)
            .values(role=role, **_place(conn, role, district, province, commune))
        )
        _sign_out_everywhere(conn, official_id)
        audit.write(conn, actor, "official.role", params={"official": clean_name(name), "role": role, "commune": commune})


def enable_official(engine: Engine, name: str, actor: str) -> None:
    """Undo a disable (``revoke_official``): their password and token work again as they were."""
    with writing(engine) as conn:
        official_id = _any_id(conn, name)
        conn.execute(officials.update().where(officials.c.id == official_id).values(revoked_at=None))
        audit.write(conn, actor, "official.enable", params={"official": clean_name(name)})


def unlock(engine: Engine, name: str, actor: str) -> None:
    """Clear the wrong-password count of a name (server/sessions.py locks it after too many)."""
    with writing(engine) as conn:
        conn.execute(login_failures.delete().where(login_failures.c.login == login_key(name)))
        audit.write(conn, actor, "official.unlock", params={"official": clean_name(name)})


def issue_token(engine: Engine, name: str, actor: str, valid_days: int | None = None) -> str:
    """A new API token for scripts (shown once), with the official's role; the old one stops working."""
    token = new_token(TOKEN_PREFIX)
    expires = datetime.now(timezone.utc) + timedelta(days=valid_days) if valid_days else None
    with writing(engine) as conn:
        official_id = _active_id(conn, name)
        conn.execute(
            officials.update().where(officials.c.id == official_id).values(token_hash=digest(token), token_expires_at=expires)
        )
        audit.write(conn, actor, "official.token", params={"official": clean_name(name), "valid_days": valid_days})
    return token


def revoke_token(engine: Engine, name: str, actor: str) -> None:
    """Their API token stops working now; their console sign-in is untouched."""
    with writing(engine) as conn:
        official_id = _any_id(conn, name)
        conn.execute(officials.update().where(officials.c.id == official_id).values(token_expires_at=datetime.now(timezone.utc)))
        audit.write(conn, actor, "official.token_revoke", params={"official": clean_name(name)})


def change_own_password(engine: Engine, official_id: int, current: str, new: str) -> None:
    """The console's password change: the current password first, then every session ends."""
    with engine.connect() as conn:
        stored = conn.execute(sa.select(officials.c.password_hash).where(officials.c.id == official_id)).scalar()
    if not passwords.verify(stored, current):
        raise UserError("password_wrong", bilingual("the current password is wrong"))
    hashed = passwords.hash_password(new)
    with writing(engine) as conn:
        conn.execute(
            officials.update().where(officials.c.id == official_id).values(password_hash=hashed, must_change_password=False)
        )
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


def list_officials(engine: Engine, district_id: int | None = None) -> list[dict[str, Any]]:
    """Every official (or those of one district), with whether their name is locked out now
    and whether their API token works."""
    query = (
        sa.select(
            officials.c.id,
            officials.c.name,
            officials.c.role,
            districts.c.name.label("district"),
            communes.c.name.label("commune"),
            (officials.c.password_hash.is_not(None)).label("password"),
            officials.c.token_expires_at,
            officials.c.created_at,
            officials.c.revoked_at,
            officials.c.last_sign_in_at,
            officials.c.must_change_password,
            officials.c.district_id,
            officials.c.commune_id,
        )
        .select_from(
            officials.outerjoin(districts, officials.c.district_id == districts.c.id).outerjoin(
                communes, officials.c.commune_id == communes.c.id
            )
        )
        .order_by(officials.c.name)
    )
    if district_id is not None:
        query = query.where(officials.c.district_id == district_id)
    now = datetime.now(timezone.utc)
    with engine.connect() as conn:
        locks = dict(conn.execute(sa.select(login_failures.c.login, login_failures.c.locked_until)).all())
        found = [dict(row) for row in conn.execute(query).mappings()]
    for row in found:
        until = locks.get(login_key(row["name"]))
        row["locked_until"] = until if until is not None and until > now else None
        row["token_active"] = row["token_expires_at"] is None or row["token_expires_at"] > now
    return found


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
