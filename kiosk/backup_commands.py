"""``checkpoint-kiosk backup --to DIR``, ``restore FILE`` and ``recover FILE``.

Exit codes follow the CLI's scheme: 0 done; 1 refused (``restore``: not a sound kiosk
backup, made by newer software, pending visits would be lost, a kiosk or another program
is using the database; ``recover``: FILE is the live database); 2 usage (``backup``: no
such folder; a missing FILE); 3 cannot write (the target folder is full or read-only, or
the data directory is).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from kiosk.backup import BackupError, backup, restore
from kiosk.catalog import bilingual
from kiosk.exitcodes import ExitCode, emit
from kiosk.messages import size_text
from kiosk.runlock import KioskRunning
from kiosk.salvage import salvage
from kiosk.store import DB_NAME

if TYPE_CHECKING:
    from kiosk.cli import Context  # kiosk.cli registers these commands: no import at run time

USAGE_CODES = frozenset({"backup_no_folder"})
STORAGE_CODES = frozenset({"backup_full", "backup_readonly", "backup_failed"})


def refuse(exc: BackupError | KioskRunning) -> NoReturn:
    click.echo(str(exc), err=True)
    if isinstance(exc, KioskRunning):
        sys.exit(ExitCode.NOT_DONE)
    sys.exit(ExitCode.USAGE if exc.code in USAGE_CODES else ExitCode.STORAGE if exc.code in STORAGE_CODES else ExitCode.NOT_DONE)


@click.command("backup")
@click.option(
    "--to",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the backup to, e.g. the USB stick at /media/usb.",
)
@click.option("--json", "as_json", is_flag=True, help="Print {file, visits, pending, bytes} as JSON.")
@click.pass_obj
def backup_command(obj: Context, directory: Path, as_json: bool) -> None:
    """Copy the visit database to DIR, consistent even while the kiosk records; checked before it is named.

    \b
    The copy holds personal data only sealed to the district key (and masked summaries),
    except visits recorded before the kiosk had a key; it is created readable by this user
    only, and holds no enrolment token: after restoring on a new device, enrol it again.
    Exit codes: 0 written, 2 no such folder, 3 the folder is full or read-only.
    """
    store = obj.service.store
    try:
        result = backup(store, directory, obj.config.checkpoint.code, datetime.now(timezone.utc))
    except BackupError as exc:
        refuse(exc)
    if as_json:
        emit({"file": str(result.path), "visits": result.counts.visits, "pending": result.counts.pending, "bytes": result.size})
        return
    click.echo(f"{bilingual('backup written')}: {result.path}")
    click.echo(
        f"{bilingual('visits')}: {result.counts.visits} · {bilingual('pending')}: {result.counts.pending} · "
        f"{bilingual('size')}: {size_text(result.size)}"
    )
    click.echo(bilingual("The file holds personal data: keep the stick safe."))


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Restore even if visits not yet sent would leave the database (they stay in the copy kept aside)."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print {restored_from, kept_aside, visits, pending, pending_only_in_kept_aside} as JSON.",
)
@click.pass_obj
def restore_command(obj: Context, file: Path, force: bool, as_json: bool) -> None:
    """Replace this kiosk's visits with a backup FILE; the current database is kept aside, never deleted.

    \b
    FILE is checked first (a kiosk database, a schema this software knows, integrity);
    refused while the kiosk runs on this data directory (stop it first), and when visits
    not yet sent would be lost, unless --force.
    Exit codes: 0 restored, 1 refused (nothing changed), 2 no such FILE, 3 cannot write the data directory.
    """
    try:
        result = restore(obj.config.data_dir, file, datetime.now(timezone.utc), force=force)
    except (BackupError, KioskRunning) as exc:
        refuse(exc)
    if as_json:
        emit(
            {
                "restored_from": str(result.restored),
                "kept_aside": str(result.aside),
                "visits": result.counts.visits,
                "pending": result.counts.pending,
                "pending_only_in_kept_aside": result.pending_dropped,
            }
        )
        return
    click.echo(f"{bilingual('restored from')}: {result.restored}")
    click.echo(f"{bilingual('previous data kept at')}: {result.aside}")
    click.echo(f"{bilingual('visits')}: {result.counts.visits} · {bilingual('pending')}: {result.counts.pending}")
    if result.pending_dropped:
        click.echo("! " + bilingual("{count} unsent visits are only in the file kept aside above.", count=result.pending_dropped))


@click.command("recover")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print {recovered, already_there, unreadable, renamed_to} as JSON.")
@click.pass_obj
def recover_command(obj: Context, file: Path, as_json: bool) -> None:
    """Read the unsent visits back from a damaged database kept aside (visits.sqlite3.corrupt-…) into this kiosk.

    \b
    They are stored pending with their own ids (running it twice adds nothing) and are
    sent at the next sync. The file is then renamed visits.sqlite3.recovered-…, which
    clears the warning on the scan screen; it is kept: copy it off and remove it yourself.
    """
    if file.resolve() == (obj.config.data_dir / DB_NAME).resolve():
        refuse(BackupError("recover_is_live", file=file))
    result = salvage(obj.service.store, file)
    if as_json:
        emit(
            {
                "recovered": result.recovered,
                "already_there": result.already_there,
                "unreadable": result.unreadable,
                "renamed_to": str(result.renamed_to),
            }
        )
        return
    click.echo(
        bilingual(
            "Recovered {recovered} unsent visits; {unreadable} rows could not be read.",
            recovered=result.recovered,
            unreadable=result.unreadable,
        )
    )
    if result.already_there:
        click.echo(bilingual("{count} were already here.", count=result.already_there))
    click.echo(f"{bilingual('the file is kept as')}: {result.renamed_to}")
