"""Officials signed in to the console: web sessions and the lockout, both in the database.

Several server workers (and a restart) must agree on who is signed in and on how many
wrong passwords a name has had, so neither lives in process memory. The browser holds a
random 256-bit session token in an HttpOnly cookie; the table keeps only its SHA-256
(a stolen database signs no one in), the official and the session's CSRF token, which
every form must send back (server/console/security.py).

Lockout: after ``MAX_FAILURES`` wrong passwords in a row for one login name — whether or
not an official has that name, so the answer tells nothing about who exists — the name
is locked for ``LOCK_MINUTES``; the right password does not open it sooner. A success
clears the count. The lock is per name, not per address: officials share office NATs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from kiosk.catalog import bilingual
from server import audit, passwords
from server.db import writing
from server.errors import UserError
from server.names import folded
from server.officials import OFFICIAL_COLUMNS, login_key, official_from_row
from server.roles import Official
from server.schema import login_failures, officials, web_sessions
from server.tokens import digest

SESSION_HOURS = 12  # a working day: an official signs in once in the morning
MAX_FAILURES = 5
LOCK_MINUTES = 15


class SignInRefused(UserError):
    status = 401


@dataclass(frozen=True)
class Session:
    official: Official
    csrf: str
    must_change_password: bool = False  # someone else set it: the console asks for a new one first


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _locked(conn: Connection, key: str, now: datetime) -> bool:
    until = conn.execute(sa.select(login_failures.c.locked_until).where(login_failures.c.login == key)).scalar()
    return until is not None and until > now


def _count_failure(conn: Connection, key: str, now: datetime) -> None:
    """One more failure, in one statement that two workers cannot both win (an upsert)."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(login_failures)
    failures = login_failures.c.failures + 1
    conn.execute(
        insert.values(login=key, failures=1, last_failed_at=now).on_conflict_do_update(
            index_elements=[login_failures.c.login],
            set_={
                "failures": sa.case((login_failures.c.failures >= MAX_FAILURES, 1), else_=failures),
                "last_failed_at": now,
                "locked_until": sa.case((failures >= MAX_FAILURES, now + timedelta(minutes=LOCK_MINUTES)), else_=None),
            },
        )
    )


def sign_in(engine: Engine, name: str, password: str) -> tuple[str, Session]:
    """A new session for the official ``name`` (case does not matter): (cookie token, session)."""
    now, key = _now(), login_key(name)
    refused = SignInRefused("sign_in_failed", bilingual("wrong name or password"))
    with writing(engine) as conn:
        if _locked(conn, key, now):
            raise SignInRefused(
                "sign_in_locked",
                bilingual("too many wrong passwords: this name is locked for {LOCK_MINUTES} minutes", LOCK_MINUTES=LOCK_MINUTES),
            )
        candidates = conn.execute(
            sa.select(*OFFICIAL_COLUMNS, officials.c.password_hash, officials.c.must_change_password).where(
                officials.c.revoked_at.is_(None)
            )
        ).all()
        row = next((r for r in candidates if folded(r.name) == key), None)
        matches = passwords.verify(row.password_hash if row else None, password)  # costs the same for unknown names
        if row is None or not matches:
            _count_failure(conn, key, now)
            audit.write(conn, f"console:{name[:80]}", "console.sign_in_failed")
            # committed with the failure: the refusal is raised after the transaction
        else:
            seen: dict[str, object] = {"last_sign_in_at": now}
            if passwords.needs_rehash(row.password_hash):
                seen["password_hash"] = passwords.hash_password(password)
            conn.execute(officials.update().where(officials.c.id == row.id).values(**seen))
            conn.execute(login_failures.delete().where(login_failures.c.login == key))
            conn.execute(web_sessions.delete().where(web_sessions.c.expires_at <= now))
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            conn.execute(
                web_sessions.insert().values(
                    token_hash=digest(token),
                    official_id=row.id,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + timedelta(hours=SESSION_HOURS),
                )
            )
            official = official_from_row(row)
            audit.write(conn, official.actor, "console.sign_in")
            return token, Session(official, csrf, bool(row.must_change_password))
    raise refused


def session_for(conn: Connection, token: str) -> Session | None:
    row = conn.execute(
        sa.select(*OFFICIAL_COLUMNS, web_sessions.c.csrf, officials.c.must_change_password)
        .select_from(web_sessions.join(officials))
        .where(
            web_sessions.c.token_hash == digest(token),
            web_sessions.c.expires_at > _now(),
            officials.c.revoked_at.is_(None),
        )
    ).first()
    return Session(official_from_row(row), row.csrf, bool(row.must_change_password)) if row else None


def sign_out(engine: Engine, token: str) -> None:
    with writing(engine) as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == digest(token)))
