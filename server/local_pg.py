"""``checkpoint-server db create-local``: the PostgreSQL role and database of a laptop or a
single server, made the way ``setup.sh --server --postgresql`` makes them for the service.

The role is named after the login that runs the server by default, so the server reaches
its database over the Unix socket by peer authentication: no password to choose, store or
leak (stock Debian asks for one over TCP). It runs ``psql`` as the postgres superuser
(``sudo -u postgres``, the one account that may create roles on a fresh install), or with
an admin URL given, so the laptop and the tests run the same SQL. Creation is guarded by
``NOT EXISTS``: running it again changes nothing, and an existing database is never
altered (its owner is reported when it is not the role asked for).
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from kiosk.catalog import N_, bilingual
from server.db import DatabaseError
from server.errors import UserError

SOCKET_DIR = "/run/postgresql"  # Debian's
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,62}")
PSQL_CONNECTION_BAD = 2

SCRIPT = r"""
\set ON_ERROR_STOP on
SELECT 'role_exists' FROM pg_roles WHERE rolname = :'role';
SELECT 'database_owner=' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'name';
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'role')
    WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') \gexec
"""


@dataclass(frozen=True)
class Created:
    url: str  # what the server's config takes; no password in it
    report: list[str]  # what was created or found, one line each
    note: str | None = None  # a warning: another owner, or a role peer authentication will not let in


BAD_DATABASE = N_("invalid database name '{value}': letters, digits, _ . - (at most 63)")
BAD_ROLE = N_("invalid role name '{value}': letters, digits, _ . - (at most 63)")


def _check_name(value: str, problem: str) -> str:
    if not NAME_RE.fullmatch(value):
        raise UserError("pg_name_invalid", bilingual(problem, value=value))
    return value


def _psql_command(admin_url: str | None) -> list[str]:
    if shutil.which("psql") is None:
        raise UserError(
            "psql_missing",
            bilingual("psql is missing: install postgresql-client (or postgresql)"),
        )
    psql = ["psql", "-X", "-q", "-t", "-A", "-f", "-"]
    if admin_url:
        return [*psql, "-d", admin_url]
    if getpass.getuser() == "postgres":
        return psql
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *psql]
    return ["sudo", "-u", "postgres", "--", *psql]


def server_url(name: str, role: str, admin_url: str | None, login: str) -> str:
    """The URL the server uses: the admin connection's host (socket or TCP) with ``role`` and ``name``."""
    host, port = SOCKET_DIR, None
    if admin_url:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(admin_url)
        host, port = str(info.get("host") or SOCKET_DIR), info.get("port")
    if host.startswith("/"):
        user = "" if role == login else f"{role}@"
        return f"postgresql://{user}/{name}?host={host}"
    return f"postgresql://{role}@{host}{f':{port}' if port else ''}/{name}"


def create(name: str, role: str, admin_url: str | None, login: str | None = None) -> Created:
    name, role = _check_name(name, BAD_DATABASE), _check_name(role, BAD_ROLE)
    login = login or role
    command = [*_psql_command(admin_url), "-v", f"role={role}", "-v", f"name={name}"]
    done = subprocess.run(command, input=SCRIPT, capture_output=True, text=True, cwd="/", timeout=120, check=False)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"psql exit {done.returncode}"])[-1]
        message = bilingual("could not create the PostgreSQL database: {why}", why=why)
        hint = "" if admin_url else " " + bilingual("needs sudo to run psql as postgres, or give --admin-url")
        if done.returncode == PSQL_CONNECTION_BAD:
            raise DatabaseError(message + hint)
        raise UserError("pg_create_failed", message + hint)
    found = done.stdout.split()
    owner = next((line.split("=", 1)[1] for line in found if line.startswith("database_owner=")), None)
    report = [
        f"{bilingual('role')} {role}: " + bilingual("exists" if "role_exists" in found else "created"),
        f"{bilingual('database')} {name}: "
        + (bilingual("exists, owner {owner}", owner=owner) if owner else bilingual("created, owner {owner}", owner=role)),
    ]
    url = server_url(name, role, admin_url, login)
    note = None
    if owner and owner != role:
        note = bilingual("note: database {name} belongs to {owner}, not {role}; left as it is", name=name, owner=owner, role=role)
    elif role != login and "?host=/" in url:
        note = bilingual(
            "note: over the socket only the system user {role} may log in as role {role} (peer authentication): "
            "run the server as that user",
            role=role,
        )
    return Created(url, report, note)
