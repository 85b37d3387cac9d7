"""``checkpoint-server``: run the district server and administer it from a terminal.

Every command takes ``--db URL`` and ``--config FILE``; the database comes from ``--db``,
else ``$CHECKPOINT_SERVER_DB``, else the config file's ``[server] db``, else SQLite under
the data directory, and every message about it names it. Exit codes (kiosk/exitcodes.py, the
kiosk's table): 0 ok, 1 the request
cannot be done as asked (the message says why), 2 usage or configuration error,
3 the database cannot be reached or is at another schema version.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from kiosk.catalog import N_, bilingual, text
from kiosk.exitcodes import ExitCode, emit
from kiosk.messages import render_both
from kiosk.private import write_private
from server.errors import UserError
from server.export import FORMATS, Table, render, to_text
from server.roles import ROLES, Role
from sync.transport import is_loopback, plain_remote

# Each command imports the server modules it uses (SQLAlchemy, Alembic, pydantic come with
# them): ``--help`` and a mistyped option cost no more than click. See bench/cli_startup.py.
if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from server.config import Loaded
    from server.keys import KeyInfo, Keyring
    from server.tracing import TraceResult


def _fail(code: ExitCode, message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


class ServerGroup(click.Group):
    """Turns the mistakes a person can fix into one plain message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            _fail(ExitCode.NOT_DONE, f"{text('Error', 'vi')}: {exc.message}")
        except Exception as exc:
            _fail_plainly(exc, ctx.meta.get(DB_META, "?"))
            raise


DB_META = "checkpoint_server.db"  # the database of this invocation, as messages name it (set by with_admin)


def _fail_plainly(exc: Exception, database: str) -> None:
    """A config or database problem as one message and its exit code. Their exception
    classes live in modules a command imports when it reads the config or opens the
    database, so an exception of theirs means they are loaded; nothing is imported here."""
    config, db, sa_exc = (sys.modules.get(name) for name in ("server.config", "server.db", "sqlalchemy.exc"))
    if config is not None and isinstance(exc, config.ConfigError):
        _fail(ExitCode.USAGE, f"{bilingual('config error')}: {exc}")
    if db is not None and isinstance(exc, db.DatabaseError):
        _fail(ExitCode.STORAGE, str(exc))
    if sa_exc is not None and isinstance(exc, sa_exc.OperationalError):
        _fail(ExitCode.STORAGE, f"{bilingual('cannot reach the database {database}', database=database)}: {exc.orig}")
    if sa_exc is not None and isinstance(exc, sa_exc.ArgumentError):  # also NoSuchModuleError: mysql://…
        _fail(ExitCode.USAGE, f"{bilingual('unusable database URL')} {database}: {exc}")


# Accounts that do not name a person: an audit entry by one of them says nothing of who looked.
SHARED_ACCOUNTS = frozenset({"root", "postgres", "checkpoint-server", "checkpoint-kiosk"})
NAME_MAX = 60


def login_name() -> str:
    """Who typed the command: the user behind sudo (the installed command runs as the
    service user through sudo or runuser, which keep SUDO_USER), else the login."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


class Admin:
    """Settings of this invocation and the database, opened and checked on first use."""

    def __init__(self, loaded: Loaded) -> None:
        from server.db import display_url

        self.settings = loaded.settings
        self.config_file = loaded.config_file
        self.db_origin = loaded.db_origin
        self.db_name = display_url(self.settings.db_url)
        self._engine: Engine | None = None
        self.actor = f"cli:{login_name()}"

    @property
    def migrate_command(self) -> str:
        """What to run to migrate this very database: ``--db`` only when it came from the flag."""
        return "checkpoint-server migrate" + (f" --db {self.db_name}" if self.db_origin == "--db" else "")

    def engine(self, *, check_schema: bool = True) -> Engine:
        if self._engine is None:
            from sqlalchemy.exc import ArgumentError

            from server.config import ConfigError
            from server.db import create_db_engine
            from server.migrate import require_current

            try:
                self._engine = create_db_engine(self.settings.db_url)
            except (ArgumentError, ImportError) as exc:  # not a URL; mysql:// without its driver
                raise ConfigError(
                    f"{self.db_origin}: {self.db_name}: " + bilingual("not a usable database URL: {detail}", detail=exc)
                ) from None
            if check_schema:
                require_current(self._engine, self.db_name, self.migrate_command)
        return self._engine

    def act_as(self, name: str | None) -> None:
        """The official behind an audited action: ``--as NAME``, else the login, never a shared account."""
        login = login_name()
        if name is None:
            if login in SHARED_ACCOUNTS:
                raise click.UsageError(
                    bilingual("Give the official's name with --as NAME: account {login} is not a person.", login=login)
                )
            return
        clean = " ".join(unicodedata.normalize("NFC", name).split())
        if not clean or len(clean) > NAME_MAX or not clean.isprintable():
            raise click.BadParameter(bilingual("a name of at most {limit} characters", limit=NAME_MAX), param_hint="--as")
        self.actor = f"cli:{clean}" + ("" if clean == login else f" (login {login})")


def with_admin(func: Callable[..., Any]) -> Callable[..., Any]:
    """Adds ``--db`` and ``--config`` to a command and passes it an Admin."""

    @click.option(
        "--db",
        "db_url",
        metavar="URL",
        help="Database URL (sqlite:///FILE or postgresql://…); overrides $CHECKPOINT_SERVER_DB and the config.",
    )
    @click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (TOML).")
    @functools.wraps(func)
    def wrapper(*args: Any, db_url: str | None, config_path: str | None, **kwargs: Any) -> Any:
        from server.config import choose_database

        admin = Admin(choose_database(config_path, db_url))
        click.get_current_context().meta[DB_META] = admin.db_name
        return func(admin, *args, **kwargs)

    return wrapper


# The headings of the admin tables, by the column's key (the key stays the JSON field).
COLUMN_WORDS = {
    "code": N_("Checkpoint code"),
    "name": N_("Name"),
    "commune": N_("Commune"),
    "district": N_("District"),
    "province": N_("Province"),
    "created_on": N_("Set up on"),
    "active": N_("In use"),
    "id": N_("Device"),
    "checkpoint": N_("Checkpoint"),
    "enrolled_at": N_("Enrolled at"),
    "last_seen_at": N_("Last seen"),
    "synced": N_("Has sent"),
    "revoked_at": N_("Revoked at"),
    "state": N_("State"),
    "time_unknown": N_("Visits without a scan time"),
    "created_at": N_("Created at"),
    "role": N_("Role"),
    "password": N_("Console password"),
    "token_expires_at": N_("API token expires"),
    "purpose": N_("Key for"),
    "fingerprint": N_("Fingerprint"),
    "current": N_("Current"),
}
# Column values that are words (a device's state, server/enrolment.py), shown in Vietnamese.
VALUE_WORDS = {
    "state": {"active": N_("active"), "revoked": N_("revoked"), "orphan": N_("orphan: never used")},
    "purpose": {"encryption": N_("sealing visits"), "signing": N_("signing cards")},
}


def _cell(column: str, value: Any) -> Any:
    words = VALUE_WORDS.get(column, {})
    return text(words[value], "vi") if isinstance(value, str) and value in words else value


def show(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        emit([{c: r.get(c) for c in columns} for r in rows])
    elif rows:
        headings = [text(COLUMN_WORDS[c], "vi") for c in columns]
        click.echo(to_text(Table(headings, [[_cell(c, r.get(c)) for c in columns] for r in rows])), nl=False)
    else:
        click.echo(bilingual("Nothing."))


def print_secret(label: str, secret: str) -> None:
    """A token is shown once, alone on the last line, so scripts can take it with tail -n1."""
    click.echo(label)
    click.echo(secret)


JSON_FLAG = click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
DISTRICT = click.option("--district", help="District name, e.g. 'Huyện Bù Đăng'.")
PROVINCE = click.option("--province", help="Province name, when the district name is not unique.")


@click.group(cls=ServerGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """District server for checkpoint kiosks: enrolment, batch ingest, reports, tracing.

    \b
    Config lookup: --config, $CHECKPOINT_SERVER_CONFIG, /etc/checkpoint-server/config.toml,
    then built-in defaults.
    Database: --db, else $CHECKPOINT_SERVER_DB, else [server] db in the config, else
    SQLite in ~/.local/share/checkpoint-server. `checkpoint-server where` shows which.
    Exit codes: 0 ok, 1 cannot be done as asked, 2 usage/config error, 3 database problem.
    """


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default 8080).")
@click.option("--no-migrate", is_flag=True, help="Refuse to start on an old schema instead of upgrading it.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (more than 1 needs PostgreSQL: every worker shares its state there).",
)
@with_admin
def serve(admin: Admin, host: str | None, port: int | None, no_migrate: bool, workers: int) -> None:
    """Run the HTTP API (upgrades the database schema first)."""
    import uvicorn

    from server.app import create_app
    from server.migrate import upgrade

    admin.settings = admin.settings.with_overrides(host=host, port=port)
    click.echo(f"{bilingual('database')}: {admin.db_name} [{admin.db_origin}]", err=True)
    engine = admin.engine(check_schema=no_migrate)
    if workers > 1 and engine.dialect.name != "postgresql":
        _fail(ExitCode.USAGE, render_both("server_workers_need_postgresql", workers=workers, db=admin.db_name))
    if not no_migrate:
        before, after = upgrade(engine)
        if before != after:
            click.echo(f"{bilingual('schema upgraded')}: {before or 'empty'} → {after}", err=True)
    if plain_remote(admin.settings.public_url):  # kiosks would refuse it: say so before anyone prints a QR code
        click.echo(render_both("server_public_url_plain", url=admin.settings.public_url), err=True)
    elif not admin.settings.server.public_url and not is_loopback(admin.settings.server.host):
        # listening for the network, but enrolment QR codes would send kiosks to 127.0.0.1
        config = admin.config_file or "/etc/checkpoint-server/config.toml"
        click.echo(render_both("enroll_code_local", url=admin.settings.public_url, config=config), err=True)
    if not _keyring(admin).exists():  # kiosks would go on recording unsealed: say so before any enrols
        click.echo(render_both("keys_missing", path=admin.settings.keys_dir), err=True)
    if workers > 1:
        from server import workers as worker_processes

        engine.dispose()  # each worker opens its own
        worker_processes.serve(admin.settings, workers)
        return
    server = admin.settings.server
    uvicorn.run(create_app(admin.settings, engine), host=server.host, port=server.port, log_level="info")


@main.command()
@with_admin
def migrate(admin: Admin) -> None:
    """Create or upgrade the database schema."""
    from server.migrate import upgrade

    before, after = upgrade(admin.engine(check_schema=False))
    click.echo(
        f"{admin.db_name}: schema {before or 'empty'} → {after}"
        if before != after
        else f"{admin.db_name}: schema {after} (up to date)"
    )


@main.command()
@with_admin
def where(admin: Admin) -> None:
    """Which config file and database this command uses, and whether the database is ready.

    Exit code 3 when the database cannot be reached or needs `checkpoint-server migrate`.
    """
    from server.migrate import schema_problem

    settings = admin.settings
    click.echo(f"{bilingual('config file')}: {admin.config_file or bilingual('none: built-in defaults')}")
    click.echo(f"{bilingual('database')}: {admin.db_name}")
    click.echo(f"  {bilingual('from')}: {admin.db_origin}")
    problem = schema_problem(admin.engine(check_schema=False), admin.db_name, admin.migrate_command)
    click.echo(f"  {bilingual('state')}: {problem or bilingual('ready')}")
    click.echo(f"{bilingual('listens on')}: {settings.server.host}:{settings.server.port}")
    from server.code_sheet import local_only

    local = " " + bilingual("this machine only") if local_only(settings.public_url) else ""
    click.echo(f"{bilingual('public URL')}: {settings.public_url}{local}")
    if problem:
        sys.exit(ExitCode.STORAGE)


@main.group()
def db() -> None:
    """The PostgreSQL database of a laptop or single server: create-local."""


@db.command("create-local")
@click.option("--name", default="checkpoint", show_default=True, help="Database to create.")
@click.option("--role", help="Role that owns it (default: your login, so the server reaches it without a password).")
@click.option(
    "--admin-url",
    metavar="URL",
    help="A superuser connection, e.g. postgresql://postgres@127.0.0.1/postgres (default: as the postgres "
    "system user over the local socket, through sudo).",
)
def db_create_local(name: str, role: str | None, admin_url: str | None) -> None:
    """Create the role and the database the server uses, if missing, and print the URL for the config.

    Safe to run again: what exists is kept as it is.
    """
    from server import local_pg

    made = local_pg.create(name, role or login_name(), admin_url, login_name())
    for line in made.report:
        click.echo(line)
    click.echo(f'{bilingual("put in the config file, section [server]")}: db = "{made.url}"')
    export, migrate = f"export CHECKPOINT_SERVER_DB='{made.url}'", "checkpoint-server migrate"  # commands, not words
    click.echo(f"{bilingual('or')}: {export}; {bilingual('then')}: {migrate}")
    if made.note:
        click.echo(made.note, err=True)


# --- places and checkpoints ---------------------------------------------------------------


@main.group()
def commune() -> None:
    """Communes (xã, phường, thị trấn) of the district."""


@commune.command("add")
@click.argument("name")
@click.option("--district", required=True)
@click.option("--province", required=True)
@with_admin
def commune_add(admin: Admin, name: str, district: str, province: str) -> None:
    """Register commune NAME, e.g. 'Xã Đăk Nhau' (province and district created as needed)."""
    from server import places

    places.add_commune(admin.engine(), places.Place(province, district, name))
    click.echo(f"{places.clean_name(name)} · {places.clean_name(district)} · {places.clean_name(province)}")


@commune.command("list")
@DISTRICT
@PROVINCE
@JSON_FLAG
@with_admin
def commune_list(admin: Admin, district: str | None, province: str | None, as_json: bool) -> None:
    from server import places

    show(places.list_communes(admin.engine(), district, province), ["commune", "district", "province"], as_json)


@main.group()
def checkpoint() -> None:
    """Checkpoints (điểm kiểm soát): add, list, import from CSV, (de)activate."""


def _iso_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """A date typed as YYYY-MM-DD or dd/mm/yyyy (see server.dates)."""
    if value is None:
        return None
    from server.dates import DateError, parse_day

    try:
        return parse_day(value, param.name or "date")
    except DateError as exc:
        raise click.BadParameter(f"'{value}': {exc.problem}") from None


CHECKPOINT_COLUMNS = ["code", "name", "commune", "district", "province", "created_on", "active"]


@checkpoint.command("add")
@click.argument("code")
@click.option("--name", required=True, help="e.g. 'Chốt Ngã ba Đăk Nhau'.")
@click.option("--commune", "commune_name", required=True)
@click.option("--district", required=True)
@click.option("--province", required=True)
@click.option("--created-on", callback=_iso_date, help="Registration date (YYYY-MM-DD or dd/mm/yyyy), default today.")
@JSON_FLAG
@with_admin
def checkpoint_add(
    admin: Admin, code: str, name: str, commune_name: str, district: str, province: str, created_on: date | None, as_json: bool
) -> None:
    """Register checkpoint CODE."""
    from server import places

    row = places.add_checkpoint(
        admin.engine(), code, name, places.Place(province, district, commune_name), created_on or date.today(), admin.actor
    )
    show([row], CHECKPOINT_COLUMNS, as_json)


@checkpoint.command("list")
@DISTRICT
@PROVINCE
@JSON_FLAG
@with_admin
def checkpoint_list(admin: Admin, district: str | None, province: str | None, as_json: bool) -> None:
    from server import places

    show(places.list_checkpoints(admin.engine(), district, province), CHECKPOINT_COLUMNS, as_json)


@checkpoint.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@JSON_FLAG
@with_admin
def checkpoint_import(admin: Admin, file: Path, as_json: bool) -> None:
    """Create or update checkpoints from FILE.csv (header: code,name,commune,district,province,created_at)."""
    from server.checkpoint_import import import_checkpoints, read_csv_file

    summary = import_checkpoints(admin.engine(), read_csv_file(file.read_bytes(), str(file)))
    counts = {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged}
    if as_json:
        emit(counts)
    else:
        click.echo(bilingual("created {created}, updated {updated}, unchanged {unchanged}", **counts))


@checkpoint.command("deactivate")
@click.argument("code")
@with_admin
def checkpoint_deactivate(admin: Admin, code: str) -> None:
    """Stop counting CODE as registered and refuse new enrolments for it."""
    from server import places

    places.set_active(admin.engine(), code, False, admin.actor)


@checkpoint.command("activate")
@click.argument("code")
@with_admin
def checkpoint_activate(admin: Admin, code: str) -> None:
    from server import places

    places.set_active(admin.engine(), code, True, admin.actor)


# --- enrolment and devices ------------------------------------------------------------------


# --- disease-control cards -------------------------------------------------------------------


@main.group()
def cards() -> None:
    """District disease-control cards (thẻ kiểm soát dịch bệnh): issue, re-print, replace, revoke, list."""


CARD_COLUMNS = ["number", "name", "birth_year", "commune", "issued_on", "revoked_at", "replaced_by"]
CARDS_PDF = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The PDF to print (A4)."
)


def _write_sheet(admin: Admin, numbers: list[int], output: Path) -> None:
    from server import cards as card_register
    from server.card_sheet import card_pdf

    write_private(output, card_pdf(card_register.faces(admin.engine(), numbers)))
    pages = -(-len(numbers) // 10)
    click.echo(bilingual("written {cards} cards, {pages} pages: {path}", cards=len(numbers), pages=pages, path=output))


@cards.command("issue")
@click.option("--commune", "commune_name", required=True, help="e.g. 'Thị trấn Sịa'.")
@DISTRICT
@PROVINCE
@click.option(
    "--from",
    "residents_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV, UTF-8, header name,birth_year (and replaces: the number of a card this one replaces).",
)
@CARDS_PDF
@with_admin
def cards_issue(
    admin: Admin, commune_name: str, district: str | None, province: str | None, residents_file: Path, output: Path
) -> None:
    """Sign a card for every resident of the list and write the sheets to print."""
    from server import cards as card_register
    from server.checkpoint_import import read_csv_file

    residents = card_register.parse_residents(read_csv_file(residents_file.read_bytes(), str(residents_file)))
    key = card_register.load_signing_key(admin.settings)
    issued = card_register.issue(admin.engine(), key, admin.actor, commune_name, residents, district=district, province=province)
    _write_sheet(admin, [c.number for c in issued], output)


@cards.command("reprint")
@click.argument("numbers", nargs=-1, required=True, type=click.IntRange(1))
@CARDS_PDF
@with_admin
def cards_reprint(admin: Admin, numbers: tuple[int, ...], output: Path) -> None:
    """Print cards NUMBERS again, identical (a damaged print); a revoked card is not printed."""
    from server import cards as card_register

    revoked = [f.number for f in card_register.faces(admin.engine(), list(numbers)) if f.revoked]
    if revoked:
        raise UserError(
            "card_revoked",
            render_both("card_reprint_revoked", number=revoked[0]),
        )
    _write_sheet(admin, list(numbers), output)


@cards.command("replace")
@click.argument("number", type=click.IntRange(1))
@CARDS_PDF
@with_admin
def cards_replace(admin: Admin, number: int, output: Path) -> None:
    """A new card (new number) for the holder of card NUMBER, which is revoked (lost, stolen)."""
    from server import cards as card_register

    key = card_register.load_signing_key(admin.settings)
    card = card_register.replace(admin.engine(), key, admin.actor, number)
    click.echo(bilingual("card {old} revoked, new card {new}", old=number, new=card.number))
    _write_sheet(admin, [card.number], output)


@cards.command("revoke")
@click.argument("number", type=click.IntRange(1))
@with_admin
def cards_revoke(admin: Admin, number: int) -> None:
    """Stop card NUMBER: kiosks show it orange, with the reason, after their next sync."""
    from server import cards as card_register

    card_register.revoke(admin.engine(), admin.actor, number)
    click.echo(bilingual("card {number} revoked", number=number))


@cards.command("list")
@click.option("--commune", "commune_name", help="Only this commune's cards.")
@JSON_FLAG
@with_admin
def cards_list(admin: Admin, commune_name: str | None, as_json: bool) -> None:
    from server import cards as card_register

    show(card_register.list_cards(admin.engine(), commune_name), CARD_COLUMNS, as_json)


@main.command("enroll-code")
@click.argument("checkpoint_code", metavar="CHECKPOINT")
@click.option("--valid-hours", type=click.FloatRange(min=0.01, max=720), help="Validity (default from config: 24).")
@click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a page to print (A4): the QR code, the checkpoint, the code, the server, the expiry.",
)
@click.option("--server-url", help="URL kiosks should use (default: server.public_url).")
@JSON_FLAG
@with_admin
def enroll_code(
    admin: Admin, checkpoint_code: str, valid_hours: float | None, png: Path | None, server_url: str | None, as_json: bool
) -> None:
    """A single-use code to enrol a kiosk at CHECKPOINT, as text and QR code (and a page to print)."""
    from server import code_sheet, enrolment, qr

    hours = valid_hours or admin.settings.enrolment.code_valid_hours
    url = (server_url or admin.settings.public_url).rstrip("/")
    if png:
        code_sheet.font_paths()  # a missing font is said before a code is spent
    made = enrolment.create_enroll_code(admin.engine(), checkpoint_code, timedelta(hours=hours), url, admin.actor)
    loopback = code_sheet.local_only(url)
    if plain_remote(url):  # on stderr: --json output stays clean for scripts
        click.echo(render_both("enroll_code_plain", url=url), err=True)
    elif loopback:
        config = admin.config_file or "/etc/checkpoint-server/config.toml"
        click.echo(render_both("enroll_code_local", url=url, config=config), err=True)
    if png:
        code_sheet.save(code_sheet.sheet_for(made, url), png)
    if as_json:
        emit(made.to_dict())
        return
    click.echo(qr.terminal_text(made.qr), nl=False)
    click.echo(f"{bilingual('enrolment code')}: {made.code}")
    click.echo(f"{bilingual('expires')}: {code_sheet.local_expiry(made.expires_at)}")
    click.echo(f"{bilingual('QR text')}: {made.qr}")
    if png:
        click.echo(f"{bilingual('page to print')}: {png}")


@main.group()
def device() -> None:
    """Enrolled kiosks: list, revoke, rotate their token, remove orphans."""


@device.command("list")
@click.option("--checkpoint", "checkpoint_code")
@click.option(
    "--orphans", is_flag=True, help="Only orphans: never seen, and enrolled again since or unseen past their code's validity."
)
@JSON_FLAG
@with_admin
def device_list(admin: Admin, checkpoint_code: str | None, orphans: bool, as_json: bool) -> None:
    """Devices with whether they ever sent anything (last_seen_at) and their state: active, orphan, revoked.

    \b
    time_unknown counts the device's visits whose scan time could not have happened (its
    clock was wrong and could not be corrected): stored, counted on the day received; fix
    that kiosk's clock.

    \b
    An orphan was never seen (no batch, no USB import) and is not revoked, and either its
    checkpoint has a device enrolled after it, or it is unseen for longer than its
    enrolment code was valid. Remove one with: checkpoint-server device remove DEVICE_ID.
    """
    from server import enrolment

    rows = enrolment.list_devices(
        admin.engine(),
        checkpoint_code,
        orphans_only=orphans,
        default_valid_for=timedelta(hours=admin.settings.enrolment.code_valid_hours),
    )
    show(
        rows,
        ["id", "checkpoint", "enrolled_at", "last_seen_at", "synced", "revoked_at", "state", "time_unknown"]
        + (["orphan"] if as_json else []),
        as_json,
    )


@device.command("remove")
@click.argument("device_id")
@with_admin
def device_remove(admin: Admin, device_id: str) -> None:
    """Delete DEVICE_ID and its tokens, if it never sent a visit (an orphan); else revoke it."""
    from server import enrolment

    removed = enrolment.remove_device(admin.engine(), device_id, admin.actor)
    click.echo(f"{bilingual('removed')}: {removed['device']} ({removed['checkpoint']})")


@device.command("revoke")
@click.argument("device_id")
@with_admin
def device_revoke(admin: Admin, device_id: str) -> None:
    """Stop DEVICE_ID from sending; its kiosk is told its token was revoked."""
    from server import enrolment

    enrolment.revoke_device(admin.engine(), device_id, admin.actor)
    click.echo(f"{bilingual('revoked')}: {device_id}")


@device.command("rotate")
@click.argument("device_id")
@with_admin
def device_rotate(admin: Admin, device_id: str) -> None:
    """Give DEVICE_ID a new token (printed on the last line); the old one stops working."""
    from server import enrolment

    print_secret(bilingual("new token, shown once") + ":", enrolment.rotate_device(admin.engine(), device_id, admin.actor))


@main.group()
def official() -> None:
    """District officials and their API tokens."""


def _new_password() -> str:
    return str(
        click.prompt(
            bilingual("console password, at least 10 characters"),
            hide_input=True,
            confirmation_prompt=bilingual("again"),
        )
    )


@official.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="district",
    show_default=True,
    help="district: everything in the district; commune: one commune's reports, no tracing; tracer: tracing with a reason.",
)
@DISTRICT
@PROVINCE
@click.option("--commune", help="The commune of a commune official, e.g. 'Xã Đăk Nhau'.")
@click.option("--password", "ask_password", is_flag=True, help="Ask for a password to sign in to the web console.")
@click.option("--token-days", type=click.IntRange(1, 3650), help="The API token stops working after this many days.")
@with_admin
def official_add(
    admin: Admin,
    name: str,
    role: Role,
    district: str | None,
    province: str | None,
    commune: str | None,
    ask_password: bool,
    token_days: int | None,
) -> None:
    """Register official NAME; prints their API token on the last line (shown once).

    Without --district a district or tracer official sees every district on this server.
    """
    from server import officials

    password = _new_password() if ask_password else None
    token = officials.add_official(
        admin.engine(),
        name,
        admin.actor,
        role=role,
        district=district,
        province=province,
        commune=commune,
        password=password,
        token_valid_days=token_days,
    )
    print_secret(bilingual("API token, shown once") + ":", token)


@official.command("set-password")
@click.argument("name")
@with_admin
def official_set_password(admin: Admin, name: str) -> None:
    """Set (or reset) official NAME's console password; signs them out everywhere."""
    from server import officials

    officials.set_password(admin.engine(), name, _new_password(), admin.actor)
    click.echo(f"{bilingual('password set')}: {name}")


@official.command("list")
@JSON_FLAG
@with_admin
def official_list(admin: Admin, as_json: bool) -> None:
    from server import officials

    columns = ["name", "role", "district", "commune", "password", "token_expires_at", "created_at", "revoked_at"]
    show(officials.list_officials(admin.engine()), columns, as_json)


@official.command("revoke")
@click.argument("name")
@with_admin
def official_revoke(admin: Admin, name: str) -> None:
    from server import officials

    officials.revoke_official(admin.engine(), name, admin.actor)
    click.echo(f"{bilingual('revoked')}: {name}")


@official.command("set-role")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@DISTRICT
@PROVINCE
@click.option("--commune", help="The commune of a commune official.")
@with_admin
def official_set_role(admin: Admin, name: str, role: Role, district: str | None, province: str | None, commune: str | None) -> None:
    """Give official NAME another role and place (the rules of add); their sessions end."""
    from server import officials

    officials.set_role(admin.engine(), name, admin.actor, role=role, district=district, province=province, commune=commune)
    click.echo(f"{bilingual('role changed')}: {name}")


@official.command("enable")
@click.argument("name")
@with_admin
def official_enable(admin: Admin, name: str) -> None:
    """Undo a revoke: NAME's password and API token work again as they were."""
    from server import officials

    officials.enable_official(admin.engine(), name, admin.actor)
    click.echo(f"{bilingual('official enabled')}: {name}")


@official.command("unlock")
@click.argument("name")
@with_admin
def official_unlock(admin: Admin, name: str) -> None:
    """Clear NAME's wrong-password count: they may sign in again now."""
    from server import officials

    officials.unlock(admin.engine(), name, admin.actor)
    click.echo(f"{bilingual('official unlocked')}: {name}")


@official.command("token")
@click.argument("name")
@click.option("--token-days", type=click.IntRange(1, 3650), help="The API token stops working after this many days.")
@with_admin
def official_token(admin: Admin, name: str, token_days: int | None) -> None:
    """A new API token for NAME (printed on the last line, shown once); the old one stops working."""
    from server import officials

    print_secret(bilingual("API token, shown once") + ":", officials.issue_token(admin.engine(), name, admin.actor, token_days))


@official.command("revoke-token")
@click.argument("name")
@with_admin
def official_revoke_token(admin: Admin, name: str) -> None:
    """NAME's API token stops working now; their console password is untouched."""
    from server import officials

    officials.revoke_token(admin.engine(), name, admin.actor)
    click.echo(f"{bilingual('API token revoked')}: {name}")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--receipt",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the receipt for the kiosk (default: beside FILE, *.receipt.cpr).",
)
@JSON_FLAG
@with_admin
def import_file(admin: Admin, file: Path, receipt: Path | None, as_json: bool) -> None:
    """Import a kiosk's USB export (checkpoint-kiosk export); importing again stores nothing twice."""
    from server import usb_import
    from server.cards import configured_key, trust_wire
    from server.ingest import IngestRules

    cards = trust_wire(admin.engine(), configured_key(admin.settings))
    summary = usb_import.import_sealed(admin.engine(), file, IngestRules.from_settings(admin.settings), admin.actor, receipt, cards)
    if as_json:
        emit(summary.to_dict())
        return
    counts = summary.outcomes
    click.echo(
        text("Imported from device {device} ({checkpoint})", "vi", device=summary.device_id, checkpoint=summary.checkpoint)
        + ": "
        + bilingual(
            "created {created}, duplicate {duplicate}, rejected {rejected}",
            created=counts["created"],
            duplicate=counts["duplicate"],
            rejected=counts["rejected"],
        )
    )
    for code, n in sorted(summary.rejected_by_code.items()):
        click.echo(f"  {code}: {n}")
    click.echo(f"{bilingual('receipt for the kiosk: checkpoint-kiosk import-receipt')}: {summary.receipt}")


# --- reports ---------------------------------------------------------------------------------

VIEWS = ("communes", "checkpoints", "year-to-date")


def write_output(payload: bytes, output: Path | None, fmt: str) -> None:
    """To the file given (mode 0600 whatever the umask: a trace holds personal data), else to
    standard output (a binary XLSX only when it is not a terminal)."""
    if output is not None:
        write_private(output, payload)
        click.echo(f"{bilingual('written')}: {output}", err=True)
        return
    stdout = sys.stdout.buffer
    if fmt == "xlsx" and stdout.isatty():
        raise click.UsageError(bilingual("XLSX needs -o FILE"))
    stdout.write(payload)
    stdout.flush()


@main.command()
@click.option("--district", required=True, help="e.g. 'Huyện Bù Đăng'.")
@PROVINCE
@click.option(
    "--week-ending",
    callback=_iso_date,
    help="Last day of the 7-day window, YYYY-MM-DD or dd/mm/yyyy (Vietnam time); default today.",
)
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    default="communes",
    show_default=True,
    help="communes: the district table; checkpoints: one row per checkpoint; year-to-date: visits per commune.",
)
@click.option("--commune", "commune_name", help="checkpoints view: only this commune.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
@with_admin
def report(
    admin: Admin,
    district: str,
    province: str | None,
    week_ending: date | None,
    view: str,
    commune_name: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """The weekly per-commune table (Vietnamese headings) as a table, CSV, XLSX or JSON."""
    from server import reports

    last_day = week_ending or reports.today_local()
    engine = admin.engine()
    made: reports.CommuneReport | reports.CheckpointReport | reports.YearReport
    if view == "communes":
        made = reports.commune_report(engine, district, last_day, province)
    elif view == "checkpoints":
        made = reports.checkpoint_report(engine, district, last_day, province, commune_name)
    else:
        made = reports.year_report(engine, district, last_day, province)
    if fmt == "json":
        payload = (json.dumps(made.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n").encode()
    else:
        payload = render(made.table(), fmt)
    write_output(payload, output, fmt)


# --- tracing, retention, audit ----------------------------------------------------------------


def _moment(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """ISO or dd/mm/yyyy date, with or without a time; without a zone it is Vietnam time."""
    if value is None:
        return None
    from server.dates import DateError, parse_moment
    from server.reports import LOCAL_TZ

    try:
        moment = parse_moment(value, param.name or "time")
    except DateError as exc:
        raise click.BadParameter(f"'{value}': {exc.problem}; {bilingual('e.g.')} 2026-11-23T08:00, 23/11/2026 08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def trace_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--from",
                "start",
                required=True,
                callback=_moment,
                help="Start: YYYY-MM-DD[THH:MM] or dd/mm/yyyy [HH:MM] (Vietnam time if no zone).",
            ),
            click.option("--to", "end", required=True, callback=_moment, help="End, exclusive."),
            click.option("--reason", required=True, help="Why you look (written to the audit log)."),
            click.option(
                "--as",
                "as_name",
                metavar="NAME",
                help="The official who asks, written to the audit log (default: your login, behind sudo too).",
            ),
            click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True),
            click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path)),
        ]
    ):
        func = option(func)
    return func


def _show_trace(found: TraceResult, fmt: str, output: Path | None) -> None:
    if fmt == "json":
        write_output((found.model_dump_json(indent=2) + "\n").encode(), output, fmt)
        return
    write_output(render(found.table(), fmt), output, fmt)


@main.group()
def trace() -> None:
    """Tracing queries (officials only): every query is written to the audit log with its reason."""


@trace.command("checkpoint")
@click.argument("code")
@trace_options
@with_admin
def trace_checkpoint(
    admin: Admin, code: str, start: datetime, end: datetime, reason: str, as_name: str | None, fmt: str, output: Path | None
) -> None:
    """Who passed checkpoint CODE between --from and --to."""
    from server import tracing

    admin.act_as(as_name)
    _show_trace(tracing.at_checkpoint(admin.engine(), admin.actor, reason, code, start, end), fmt, output)


@trace.command("person")
@click.option("--id-number", help="CCCD (12 digits) or CMND (9 digits).")
@click.option("--phone", help="Phone number, any form (+84…, 09…).")
@click.option("--card", "card_number", type=click.IntRange(1), help="District disease-control card number.")
@trace_options
@with_admin
def trace_person(
    admin: Admin,
    id_number: str | None,
    phone: str | None,
    card_number: int | None,
    start: datetime,
    end: datetime,
    reason: str,
    as_name: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Where a person (by --id-number, --phone or --card) was seen between --from and --to."""
    from server import tracing

    admin.act_as(as_name)
    found = tracing.person(
        admin.engine(), admin.actor, reason, start, end, id_number=id_number, phone=phone, card_number=card_number
    )
    _show_trace(found, fmt, output)


@main.command()
@click.option("--days", type=click.IntRange(1), help="Keep personal data this many days (default: retention.days, 30).")
@JSON_FLAG
@with_admin
def purge(admin: Admin, days: int | None, as_json: bool) -> None:
    """Remove personal fields of visits older than --days; counts for reports stay."""
    from server import retention

    days = days or admin.settings.retention.days
    cleared = retention.purge(admin.engine(), days, admin.actor)
    if as_json:
        emit({"purged": cleared, "older_than_days": days})
    else:
        click.echo(bilingual("Cleared personal data of {count} visits older than {days} days.", count=cleared, days=days))


@main.command("check-counts")
@JSON_FLAG
@with_admin
def check_counts(admin: Admin, as_json: bool) -> None:
    """Check that the daily and monthly counts reports read equal a full recount of the stored
    visits (from the first month retention kept whole)."""
    from server import daily_counts, retention

    engine = admin.engine()
    mismatches = daily_counts.recount(engine, since=retention.kept_since(engine))
    if as_json:
        emit({"ok": not mismatches, "mismatches": [m.to_dict() for m in mismatches]})
    elif not mismatches:
        click.echo(render_both("server_counts_equal"))
    else:
        click.echo(render_both("server_counts_differ", n=len(mismatches)), err=True)
        for m in mismatches:
            click.echo(
                f"  {m.table} {m.recounted_from} {m.checkpoint_id} {m.day} {m.direction} {m.kind}: {m.counted}/{m.stored}", err=True
            )
    if mismatches:
        sys.exit(ExitCode.NOT_DONE)


@main.command("audit")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@JSON_FLAG
@with_admin
def audit_list(admin: Admin, limit: int, as_json: bool) -> None:
    """The audit log, newest first: tracing queries, enrolments, revocations, purges (times in Vietnam time)."""
    from server import audit
    from server.reports import LOCAL_TZ

    rows = audit.entries(admin.engine(), limit)
    columns = ["at", "actor", "action", "reason", "params", "result_count"]
    if as_json or not rows:
        show(rows, columns, as_json)
        return
    table = [
        [
            row["at"].astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            row["actor"],
            row["action"],
            row["reason"],
            json.dumps(row["params"], ensure_ascii=False) if row["params"] else None,
            row["result_count"],
        ]
        for row in rows
    ]
    click.echo(to_text(Table([text(h, "vi") for h in AUDIT_HEADINGS], table)), nl=False)


AUDIT_HEADINGS = [N_("Time (Vietnam)"), N_("Done by"), N_("Action"), N_("Reason"), N_("Details"), N_("Results")]


@main.group()
def keys() -> None:
    """The district's keys: kiosks seal personal data to the encryption key (see docs/server.md)."""


def _keyring(admin: Admin) -> Keyring:
    from server.keys import Keyring

    return Keyring(admin.settings.keys_dir)


def _show_keys(infos: list[KeyInfo], as_json: bool) -> None:
    from kiosk.seal import grouped

    rows = [
        {
            "purpose": k.purpose,
            "fingerprint": grouped(k.fingerprint),
            "current": k.current,
            "created_at": k.created_at.isoformat(timespec="seconds"),
        }
        for k in infos
    ]
    show(rows, ["purpose", "fingerprint", "current", "created_at"], as_json)


@keys.command("init")
@JSON_FLAG
@with_admin
def keys_init(admin: Admin, as_json: bool) -> None:
    """Make the district's key pairs (X25519 to seal to, Ed25519 to sign with), once."""
    ring = _keyring(admin)
    made = ring.init()
    if not made and not as_json:
        click.echo(render_both("keys_exist", path=ring.directory))
    _show_keys(ring.list(), as_json)
    if made and not as_json:
        click.echo(render_both("keys_backup", path=ring.directory))


@keys.command("rotate")
@click.option("--signing", is_flag=True, help="Rotate the signing key too.")
@JSON_FLAG
@with_admin
def keys_rotate(admin: Admin, signing: bool, as_json: bool) -> None:
    """A new current encryption key for new visits; the old private keys stay to open old seals."""
    ring = _keyring(admin)
    if not ring.exists():
        _fail(ExitCode.USAGE, render_both("keys_missing", path=ring.directory))
    ring.rotate(("encryption", "signing") if signing else ("encryption",))
    _show_keys(ring.list(), as_json)
    if not as_json:
        click.echo(render_both("keys_backup", path=ring.directory))


@keys.command("list")
@JSON_FLAG
@with_admin
def keys_list(admin: Admin, as_json: bool) -> None:
    """Every key kept, with its fingerprint: the current one seals new visits."""
    ring = _keyring(admin)
    if not ring.exists():
        _fail(ExitCode.USAGE, render_both("keys_missing", path=ring.directory))
    _show_keys(ring.list(), as_json)


@keys.command("export")
@click.argument("output", type=click.Path(dir_okay=False, allow_dash=True), default="-")
@click.option(
    "--qr",
    "qr_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the key as a QR code on an A4 page (PNG) to print, for `checkpoint-kiosk district-key --qr`.",
)
@click.option("--district", help="The district's name on the printed page; default: the one district in the database.")
@with_admin
def keys_export(admin: Admin, output: str, qr_file: Path | None, district: str | None) -> None:
    """The current public key for `checkpoint-kiosk district-key` (a file; the fingerprint goes to stderr)."""
    from kiosk.seal import grouped

    ring = _keyring(admin)
    if not ring.exists():
        _fail(ExitCode.USAGE, render_both("keys_missing", path=ring.directory))
    key = ring.district_key()
    if qr_file is not None:
        from server import key_sheet

        name = district.strip() if district and district.strip() else _only_district(admin)
        if name is None:
            raise click.UsageError(bilingual("Give the district's name for the page with --district NAME."))
        key_sheet.save(key, name, qr_file)
        click.echo(render_both("keys_qr_written", path=qr_file), err=True)
    text = json.dumps({"public_key": key.text(), "fingerprint": key.fingerprint}) + "\n"
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="ascii")
    click.echo(render_both("keys_fingerprint", fingerprint=grouped(key.fingerprint)), err=True)


def _only_district(admin: Admin) -> str | None:
    """The district's name when the database knows exactly one; None when it knows none, several, or is not there."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    from server.config import ConfigError
    from server.db import DatabaseError
    from server.schema import districts

    try:
        with admin.engine().connect() as conn:
            names = conn.execute(sa.select(districts.c.name).limit(2)).scalars().all()
    except (SQLAlchemyError, ConfigError, DatabaseError, UserError):
        return None
    return names[0] if len(names) == 1 else None
