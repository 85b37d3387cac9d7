"""``checkpoint-kiosk``: the kiosk core from a terminal, for admins, scripts and tests.

Exit codes (kiosk/exitcodes.py, one table for every command): 0 ok (accepted, or a repeat
of a stored visit), 1 rejected input, 2 usage or configuration error, 3 the visit could not
be stored (disk full, read-only). ``Context`` is what every command, here or a plugin's, gets
as its ``obj``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from kiosk.catalog import N_, bilingual, text
from kiosk.exitcodes import ExitCode, emit
from kiosk.lazygroup import LazyGroup
from kiosk.messages import DIRECTION_WORDS, SYNC_STATE_WORDS, render, render_both
from kiosk.sources import SOURCES

# What a command needs is imported inside it: ``--help`` loads click and this module only,
# ``parse`` no store, ``status`` no plugin. See bench/cli_startup.py.
if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.contract import Direction
    from kiosk.scan import ScanResult, ScanService
    from kiosk.store import StorageError
    from kiosk.syncstate import SyncState

__all__ = ["Context", "ExitCode", "emit", "fail_storage", "main"]  # emit: kiosk.exitcodes, re-exported


class Context:
    """Config loaded once per invocation; the store opened only by commands that need it."""

    def __init__(self, config: Config, source: Path | None, config_error: str | None = None) -> None:
        self.config = config
        self.source = source
        self.config_error = config_error  # only ``doctor`` runs with a broken config, to report it
        self._service: ScanService | None = None

    @property
    def service(self) -> ScanService:
        if self._service is None:
            from kiosk.scan import ScanService
            from kiosk.store import StorageError, VisitStore

            try:
                store = VisitStore.in_dir(self.config.data_dir)
            except StorageError as exc:
                fail_storage(exc, self.config)
            self._service = ScanService(self.config, store)
        return self._service


def fail_storage(exc: StorageError, config: Config) -> NoReturn:
    click.echo(f"{render(exc.code, config.kiosk.language)} ({config.data_dir}: {exc.detail})", err=True)
    sys.exit(ExitCode.STORAGE)


def parse_time(value: str | None, option: str) -> datetime | None:
    """ISO 8601; a time without zone is the checkpoint's local time."""
    if value is None:
        return None
    from kiosk.clock import LOCAL_TZ

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problem = bilingual("not an ISO date/time (e.g. 2026-11-23T08:00)")
        raise click.BadParameter(f"{value!r}: {problem}", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def read_payload(text: str) -> bytes | str:
    """``-`` means standard input, taken as bytes exactly as a reader sent them."""
    return sys.stdin.buffer.read() if text == "-" else text


def finish(result: ScanResult) -> None:
    emit(result.to_dict())
    if result.reason_code and result.reason_code.startswith("storage_"):
        sys.exit(ExitCode.STORAGE)
    sys.exit(ExitCode.NOT_DONE if result.status == "rejected" else ExitCode.OK)


DIRECTION = click.Choice(["in", "out"])


# Commands imported only when they run. In this package: name → "module:attribute".
LAZY_COMMANDS = {
    "backup": "kiosk.backup_commands:backup_command",
    "doctor": "kiosk.doctor_cli:doctor",
    "recover": "kiosk.backup_commands:recover_command",
    "restore": "kiosk.backup_commands:restore_command",
}
# From drivers/, sync/ and ui/, which this core package never imports: they register
# through entry points (pyproject.toml), so a kiosk without Kivy still has every other command.
PLUGIN_GROUP = "checkpoint_kiosk.commands"
# What ``--help`` lists for each, without importing it (tests/test_cli.py keeps these
# equal to the commands' own docstrings).
LISTED_HELP = {
    "backup": "Copy the visit database to DIR, consistent even while the kiosk records; checked before it is named.",
    "decode": "Decode every QR code in images (PNG, JPEG, …), videos and image folders.",
    "district-key": "Load the district's public key from FILE or its QR code (--qr) before enrolment; "
    "checked against --fingerprint.",
    "doctor": "Check config, data directory and free space, database, clock, readers, camera, server and outbox; "
    "one line each (ok / warn / fail) with a one-line fix.",
    "enroll": "Enrol this kiosk with the district server; the device token is kept readable by this user only.",
    "export": "Write the pending visits to a sealed file for `checkpoint-server import` (no network needed).",
    "import-receipt": "Mark visits as delivered from the receipt `checkpoint-server import` wrote next to an export.",
    "recover": "Read the unsent visits back from a damaged database kept aside (visits.sqlite3.corrupt-…) into this kiosk.",
    "restore": "Replace this kiosk's visits with a backup FILE; the current database is kept aside, never deleted.",
    "run": "Run the kiosk: the touchscreen app with the enabled readers ([scanners] in the config).",
    "scanners": "List input devices, serial ports and cameras, and what the kiosk would do with each.",
    "set-pin": "Set the admin PIN of the touchscreen app (4-12 digits); clears any lockout.",
    "sync": "Send the pending visits to the district server now, with progress.",
}


class KioskGroup(LazyGroup):
    """Turns a storage failure in any command into one plain sentence and exit code 3."""

    lazy_commands = LAZY_COMMANDS
    plugin_group = PLUGIN_GROUP
    listed_help = LISTED_HELP

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # A StorageError comes from kiosk.store, so it is loaded if one was raised; a
            # command that never touched the store does not import it here either.
            store = sys.modules.get("kiosk.store")
            if store is not None and isinstance(exc, store.StorageError):
                fail_storage(exc, ctx.obj.config)
            raise


@click.group(cls=KioskGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (TOML).")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set storage.data_dir=/tmp/k1 (repeatable).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None, overrides: tuple[str, ...]) -> None:
    """Checkpoint kiosk: record visits at a disease-control checkpoint, offline first.

    \b
    Config lookup: --config, $CHECKPOINT_KIOSK_CONFIG, /etc/checkpoint-kiosk/config.toml,
    then built-in defaults (a demo checkpoint; data in ~/.local/share/checkpoint-kiosk).
    Exit codes: 0 ok, 1 rejected input, 2 usage/config error, 3 cannot store.
    """
    from kiosk.config import Config, ConfigError, load_config

    try:
        config, source = load_config(config_path, overrides)
    except ConfigError as exc:
        if ctx.invoked_subcommand == "doctor":  # the check-up reports a broken config as its first line
            ctx.obj = Context(Config(), None, config_error=str(exc))
            return
        click.echo(f"{bilingual('config error')}: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    ctx.obj = Context(config, source)


@main.command()
@click.argument("text")
@click.option("--now", help="Validation clock for certificate expiry (ISO), default: now.")
@click.pass_obj
def parse(obj: Context, text: str, now: str | None) -> None:
    """Recognise TEXT (or - for stdin bytes) and print the credential as JSON; stores nothing."""
    from kiosk.credentials import Rejection
    from kiosk.recognise import recognise
    from kiosk.trust import TrustStore

    moment = parse_time(now, "--now") or datetime.now(timezone.utc)
    trust = TrustStore.from_dir(obj.config.trust_dir)
    credential = recognise(read_payload(text), now=moment, trust=trust, max_bytes=obj.config.kiosk.max_payload_bytes)
    if isinstance(credential, Rejection):
        emit(credential.to_dict(obj.config.kiosk.language))
        sys.exit(ExitCode.NOT_DONE)
    emit(credential.to_dict())


@main.command()
@click.argument("text")
@click.option("--direction", type=DIRECTION, help="in or out; default: the kiosk's direction.")
@click.option("--source", type=click.Choice(SOURCES), default="cli", show_default=True)
@click.option("--operator", help="Who is on duty (name or badge).")
@click.pass_obj
def record(obj: Context, text: str, direction: Direction | None, source: str, operator: str | None) -> None:
    """Record TEXT (or - for stdin bytes) as a scan and print the result as JSON."""
    from kiosk.scan import ScanEvent

    payload = read_payload(text)
    event = ScanEvent(
        source=source,
        raw=payload if isinstance(payload, bytes) else None,
        text=payload if isinstance(payload, str) else None,
        device="cli",
    )
    finish(obj.service.handle(event, direction=direction, operator=operator))


@main.command()
@click.option("--phone", required=True, help="Phone number, e.g. 0912345678 or +84912345678.")
@click.option("--name", help="Full name (optional), e.g. 'Nguyễn Văn An'.")
@click.option("--id-number", help="CCCD (12 digits) or CMND (9 digits), optional.")
@click.option("--direction", type=DIRECTION, help="in or out; default: the kiosk's direction.")
@click.option("--operator", help="Who is on duty (name or badge).")
@click.pass_obj
def manual(
    obj: Context, phone: str, name: str | None, id_number: str | None, direction: Direction | None, operator: str | None
) -> None:
    """Record a person without a smartphone by phone number."""
    finish(obj.service.manual(phone, name=name, id_number=id_number, direction=direction, operator=operator))


@main.command()
@click.option("--pending", is_flag=True, help="Only visits not yet delivered to the server.")
@click.option("--rejected", is_flag=True, help="Only visits the server rejected.")
@click.option("--since", help="Only visits from this time on (ISO; local time if no zone).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.option("--full", is_flag=True, help="Personal data is sealed to the district key: says so, and lists masked.")
@click.pass_obj
def visits(obj: Context, pending: bool, rejected: bool, since: str | None, limit: int, as_json: bool, full: bool) -> None:
    """List recent visits of this kiosk, newest first, masked (the kiosk cannot unseal the rest)."""
    from kiosk.clock import LOCAL_TZ
    from kiosk.messages import render_both

    if full:
        click.echo(render_both("visits_sealed"), err=True)

    if pending and rejected:
        raise click.UsageError(bilingual("--pending and --rejected exclude each other"))
    state = "pending" if pending else "rejected" if rejected else None
    rows = obj.service.store.visits(state=state, since=parse_time(since, "--since"), limit=limit)
    lang = obj.config.kiosk.language
    shown = [_visit_view(row, lang) for row in rows]
    if as_json:
        emit(shown)
        return
    if not shown:
        click.echo(bilingual("No visits."))
        return
    for row in shown:
        when = datetime.fromisoformat(row["scanned_at"]).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        direction, state = text(DIRECTION_WORDS[row["direction"]], lang), text(SYNC_STATE_WORDS[row["sync_state"]], lang)
        line = f"{row['seq']:>6}  {when}  {direction:<5}  {row['source']:<8} {state:<15} "
        detail = row["summary"]
        if row["sync_state"] == "rejected":  # why, in the server's words (never personal data)
            detail += f"  [{row['sync_code']}] {row['sync_reason'] or ''}"
        click.echo(line + detail)


def _visit_view(row: dict[str, Any], lang: str) -> dict[str, Any]:
    from kiosk.masking import visit_summary

    view = {
        k: row[k]
        for k in (
            "seq",
            "id",
            "scanned_at",
            "direction",
            "source",
            "kind",
            "sync_state",
            "sync_code",
            "sync_reason",
            "clock_synchronised",
            "operator",
            "sealed",
        )
    }
    view["summary"] = visit_summary(row, lang)
    return view


@main.command()
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.pass_obj
def status(obj: Context, as_json: bool) -> None:
    """Checkpoint, pending and rejected counts, today's counts, sync state, clock state, data path."""
    from kiosk.clock import LOCAL_TZ, clock_status
    from kiosk.retention import retention_report
    from kiosk.seal import grouped
    from kiosk.store import quarantined_databases
    from kiosk.syncstate import read_sync_state

    service = obj.service
    clock = service.clock.read()
    clock_state = clock_status()
    today = service.today()
    sync = read_sync_state(obj.config, service.store)
    rejections = service.store.rejections()
    district_key = service.store.district_key()
    cp = obj.config.checkpoint
    data = {
        "checkpoint": {"code": cp.code, "name": cp.name, "commune": cp.commune, "district": cp.district, "province": cp.province},
        "direction": obj.config.kiosk.direction,
        "device_id": service.store.device_id,
        "pending": service.store.count("pending"),
        "rejected": rejections.total,
        "rejected_by_code": rejections.by_code(),
        "rejected_unseen": rejections.unseen,  # not yet shown on the touchscreen's admin Sync panel
        "today": {"in": today["in"], "out": today["out"], "total": today["total"], "by_source": today["by_source"]},
        "clock_synchronised": bool(clock_state.synchronised),
        "clock_source": clock_state.source,
        "clock_detail": clock_state.detail,
        "clock": clock.wall.isoformat(),
        "data_dir": str(obj.config.data_dir),
        "config_file": str(obj.source) if obj.source else None,
        "trusted_signers": len(service.trust),
        "sync": sync.to_dict(clock.wall),
        "quarantined": [str(p) for p in quarantined_databases(obj.config.data_dir)],
        "district_key": district_key.fingerprint if district_key else None,  # what new visits are sealed to
        "unsealed": service.store.unsealed(),  # visits kept in clear until a district key arrives
    }
    retention = retention_report(service.store.purge_record(), obj.config.storage)
    data["retention"] = retention.data
    if as_json:
        emit(data)
        return
    sync_words: dict[bool | None, str] = {True: N_("synchronised"), False: N_("NOT synchronised"), None: N_("unknown")}
    sync_word = bilingual(sync_words[clock_state.synchronised])
    lines = [
        f"{bilingual('checkpoint')}: {cp.code} · {cp.name} · {cp.commune}",
        f"{bilingual('pending')}: {data['pending']}    {bilingual('rejected')}: {data['rejected']}"
        + (f" ({', '.join(f'{code} {n}' for code, n in data['rejected_by_code'].items())})" if data["rejected"] else ""),
        bilingual("today: in {in} · out {out} · total {total}", **today),
        *_sync_lines(sync, clock.wall, obj.config.kiosk.language),
        render_both(retention.code, **retention.params),
        f"{bilingual('clock')}: {clock.wall.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M:%S} {sync_word}"
        f" · {bilingual('source')} {clock_state.source}: {clock_state.detail}",
        f"{bilingual('data')}: {data['data_dir']}",
        render_both("district_key_ok", fingerprint=grouped(district_key.fingerprint))
        if district_key
        else "! " + render_both("district_key_missing"),
        f"{bilingual('config')}: {data['config_file'] or bilingual('built-in defaults')}",
        *(f"! {bilingual('damaged database kept at')}: {p}" for p in data["quarantined"]),
    ]
    click.echo("\n".join(lines))


def _ago(seconds: float) -> str:
    for size, msgid in ((86400, "{n} days ago"), (3600, "{n} h ago"), (60, "{n} min ago")):
        if seconds >= size:
            return bilingual(msgid, n=f"{seconds // size:.0f}")
    return bilingual("{n} s ago", n=f"{max(seconds, 0):.0f}")


def _sync_lines(sync: SyncState, now: datetime, lang: str) -> list[str]:
    """Where visits go and how delivery is going, for the admin's status screen."""
    from kiosk.clock import LOCAL_TZ

    enrolled = bilingual("enrolled" if sync.enrolled else "NOT enrolled")
    lines = [f"{bilingual('server')}: {sync.server or bilingual('none')} · {enrolled}"]
    if sync.last_success_at:
        when = sync.last_success_at.astimezone(LOCAL_TZ)
        ago = _ago((now - sync.last_success_at).total_seconds())
        lines.append(f"{bilingual('last successful sync')}: {when:%Y-%m-%d %H:%M:%S} · {ago}")
    else:
        lines.append(f"{bilingual('last successful sync')}: {bilingual('never')}")
    if sync.last_error:
        at = f" ({sync.last_error_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M:%S})" if sync.last_error_at else ""
        lines.append(f"{bilingual('last error')}{at}: {sync.error_message(lang)}")
    if sync.needs_reenrolment:
        lines.append("! " + bilingual("The kiosk must be enrolled again: checkpoint-kiosk enroll"))
    if sync.exported:
        lines.append(f"{bilingual('exported, awaiting confirmation')}: {sync.exported}")
    return lines


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def purge(obj: Context, as_json: bool) -> None:
    """Now, what the running kiosk does every hour: delete delivered visits older than
    storage.retention_days and rejected ones older than storage.rejected_retention_days."""
    from kiosk.store import StorageError

    try:
        purged = obj.service.purge()
    except StorageError as exc:
        fail_storage(exc, obj.config)
    storage = obj.config.storage
    days = {"days": storage.retention_days, "rejected_days": storage.rejected_retention_days}
    if as_json:
        emit({"purged": purged._asdict(), "retention_days": days["days"], "rejected_retention_days": days["rejected_days"]})
    else:
        click.echo(render_both("retention_purged", synced=purged.synced, rejected=purged.rejected, **days))
