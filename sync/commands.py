"""``checkpoint-kiosk enroll | sync | export | import-receipt``: the sync client from a terminal.

Registered through the ``checkpoint_kiosk.commands`` entry points, so the core never
imports sync/. Network and enrolment problems are one sentence, Vietnamese then English,
never a traceback. Exit codes: 0 done, 1 not done (the message says why; for ``sync``:
visits are left pending), 2 usage error, 4 (``sync``, ``import-receipt``) the server
rejected visits this time: they will never reach the district by themselves, so this wins
over 1, and one line on stderr says how many, each code with the server's reason, and
where to look. Visits rejected by an earlier sync get a warning line but exit 0: the exit
code is about this run, and a code that stays non-zero until someone deals with them would
leave the sync timer failed for days and hide the next real failure.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from kiosk.catalog import LANGUAGES, N_, bilingual
from kiosk.exitcodes import ExitCode, emit
from kiosk.messages import render, render_both
from kiosk.store import VisitStore
from sync.errors import SyncError
from sync.transport import host_of
from sync.upload import rejected_line, see_rejected

if TYPE_CHECKING:
    from kiosk.cli import Context  # at run time kiosk.cli loads this module: no import cycle
    from sync.service import SyncService, SyncSummary

USAGE_CODES = frozenset({"enroll_needs_code", "enroll_qr_invalid", "server_url_invalid", "server_http_refused"})


@contextmanager
def sync_service(obj: Context) -> Iterator[SyncService]:
    """The service for one command; a SyncError ends the command with its sentence and exit code.

    Imported here: every kiosk command loads this module, only these need requests and rich.
    """
    from sync.service import SyncService

    store = VisitStore.in_dir(obj.config.data_dir)
    service = SyncService(obj.config, store)
    try:
        yield service
    except SyncError as exc:
        fail(exc)
    finally:
        service.close()
        store.close()


def fail(exc: SyncError) -> NoReturn:
    click.echo(str(exc), err=True)
    sys.exit(ExitCode.USAGE if exc.code in USAGE_CODES else ExitCode.NOT_DONE)


@click.command()
@click.option("--server", metavar="URL", help="District server, e.g. https://kiemsoat.example.gov.vn (default: [server] url).")
@click.option("--code", help="Enrolment code from `checkpoint-server enroll-code`, e.g. 7KQ2-MX4P-9TJD.")
@click.option("--qr", metavar="TEXT", help="Text of the enrolment QR code (cpk-enroll:1?server=…&code=…); - reads stdin.")
@click.option("--json", "as_json", is_flag=True, help="Print the checkpoint identity as JSON.")
@click.pass_obj
def enroll(obj: Context, server: str | None, code: str | None, qr: str | None, as_json: bool) -> None:
    """Enrol this kiosk with the district server; the device token is kept readable by this user only."""
    if qr == "-":
        qr = sys.stdin.read().strip()
    with sync_service(obj) as service:
        identity = service.enroll(server=server, code=code, qr=qr)
    if as_json:
        emit(identity)
        return
    cp = identity["checkpoint"]
    click.echo(f"{bilingual('Enrolled')}: {cp['code']} · {cp['name']} · {cp['commune']}, {cp['district']}, {cp['province']}")
    click.echo(f"{bilingual('server')}: {identity['server']}")
    click.echo(f"{bilingual('device')}: {identity['device_id']}")
    if obj.config.checkpoint.code != cp["code"]:
        click.echo(
            bilingual("Note: visits are now recorded for {code}, was {was}.", code=cp["code"], was=obj.config.checkpoint.code)
        )


SENT = N_("Sent {sent}: created {created}, duplicate {duplicate}, rejected {rejected}; pending {pending}.")
CONFIRMED = N_("Confirmed {sent}: created {created}, duplicate {duplicate}, rejected {rejected}; pending {pending}.")


def _summary_lines(s: SyncSummary, done: str = SENT) -> list[str]:
    counts = {"sent": s.sent, "created": s.created, "duplicate": s.duplicate, "rejected": s.rejected, "pending": s.pending}
    return [bilingual(done, **counts)]


def rejection_lines(s: SyncSummary) -> list[str]:
    """This run's rejections in one line (each code, how many, the server's reason), and the
    ones still kept from earlier runs in another; the codes are the server's, shown as they come."""
    lines = [rejected_line(s.rejections)] if s.rejected else []
    if s.rejected_kept > s.rejected:
        lines.append(f"{render_both('sync_rejected_earlier', count=s.rejected_kept - s.rejected)}. {see_rejected()}")
    return lines


END_LINES = {code: f"sync_end_{code}" for code in ("server_unreachable", "server_error", "server_bad_answer")}


def end_line(s: SyncSummary) -> str | None:
    """The last line of a sync that did not finish: what happened, how many visits still
    wait, and what to do; None when nothing failed."""
    failure = s.failure
    if failure is None:
        return None
    code = END_LINES.get(failure.code)
    params = {**failure.params, "pending": s.pending}
    if code is None or not {"server", "tries"} <= failure.params.keys():
        texts = [render("sync_end_other", lang, reason=failure.message(lang), pending=s.pending) for lang in LANGUAGES]
    else:
        texts = [render(code, lang, **params, host=host_of(str(failure.params["server"]))) for lang in LANGUAGES]
    return f"{texts[0]} ({texts[1]})"


def exit_code(s: SyncSummary) -> ExitCode:
    if s.error in USAGE_CODES:
        return ExitCode.USAGE
    if s.rejected:
        return ExitCode.SERVER_REJECTED
    return ExitCode.OK if s.pending == 0 and s.error is None else ExitCode.NOT_DONE


@click.command("sync")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Only a JSON summary: sent, created, duplicate, rejected, pending (left), error (or null).",
)
@click.option("--retry-rejected", is_flag=True, help="Send the visits the server rejected once more (after fixing the cause).")
@click.pass_obj
def sync_command(obj: Context, as_json: bool, retry_rejected: bool) -> None:
    """Send the pending visits to the district server now, with progress.

    \b
    Waits for a sync already running (e.g. the kiosk's own) to finish first.
    Ctrl-C or SIGTERM stops after the current batch; nothing is lost.
    Exit code 0 only when no visit is left pending, else 1; but 4 whenever the server
    rejected visits in this sync (see them: checkpoint-kiosk visits --rejected).
    """
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with sync_service(obj) as service:
        if retry_rejected:
            service.store.requeue_rejected()
        from sync.progress import reporter

        progress = reporter(progress=not as_json)  # on stderr: stdout stays the summary, or the one JSON document
        try:
            summary = service.sync(progress=progress.update, stop=stop, notify=progress.note)
        finally:
            progress.close()
    if as_json:
        emit(summary.to_dict())
    else:
        click.echo("\n".join(_summary_lines(summary)))
    for line in rejection_lines(summary):
        click.echo(line, err=True)
    last = end_line(summary)
    if last is not None:
        click.echo(last, err=True)
    sys.exit(exit_code(summary))


@click.command()
@click.option(
    "--to",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write to, e.g. the USB stick at /media/usb.",
)
@click.option("--json", "as_json", is_flag=True, help="Print {file, visits, skipped} as JSON.")
@click.pass_obj
def export(obj: Context, directory: Path, as_json: bool) -> None:
    """Write the pending visits to a sealed file for `checkpoint-server import` (no network needed)."""
    with sync_service(obj) as service:
        if service.store.count("pending") == 0:
            click.echo(str(SyncError("export_nothing")))
            return
        result = service.export_file(directory)
    if as_json:
        emit({"file": str(result.path), "visits": result.visits, "skipped": result.skipped})
        return
    click.echo(f"{bilingual('exported {count} visits', count=result.visits)}: {result.path}")
    click.echo(bilingual("They stay pending until the server confirms them: a sync, or the receipt file via import-receipt."))
    if result.skipped:
        click.echo(bilingual("{count} visits too large to export.", count=result.skipped))


@click.command("import-receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The same JSON summary as sync --json.")
@click.pass_obj
def import_receipt(obj: Context, file: Path, as_json: bool) -> None:
    """Mark visits as delivered from the receipt `checkpoint-server import` wrote next to an export.

    Exit code 4 when the server rejected visits in this receipt, as for sync.
    """
    with sync_service(obj) as service:
        summary = service.import_receipt(file)
    if as_json:
        emit(summary.to_dict())
    else:
        click.echo("\n".join(_summary_lines(summary, CONFIRMED)))
    for line in rejection_lines(summary):
        click.echo(line, err=True)
    if summary.rejected:
        sys.exit(ExitCode.SERVER_REJECTED)
