"""``checkpoint-kiosk run`` and ``checkpoint-kiosk scanners``: the readers from the command line.

Registered through the ``checkpoint_kiosk.commands`` entry points, so the core CLI never
imports the drivers. ``run --headless`` is how a Raspberry Pi with no screen records
visits: every enabled reader into the store until SIGTERM, one masked log line per scan.
Both runs are the one kiosk runtime (drivers/runtime.py, as the app's): the readers, the
clock watch and the background delivery to the district server (sync/worker.py).
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
from typing import TYPE_CHECKING

import click

from drivers.inventory import Section, inventory
from drivers.pipeline import Pipeline, enabled_kinds
from kiosk import sdnotify
from kiosk.catalog import N_, bilingual, text
from kiosk.clock import ClockStatus
from kiosk.contract import Direction
from kiosk.exitcodes import ExitCode, emit
from kiosk.scan import ScanEvent, ScanResult

if TYPE_CHECKING:
    from kiosk.cli import Context  # at run time kiosk.cli loads this module: no import cycle

log = logging.getLogger("checkpoint_kiosk.run")

STATUS_STYLE = {
    "accepted": ("✔", "green", N_("RECORDED")),
    "repeat": ("↻", "yellow", N_("ALREADY SCANNED")),
    "rejected": ("✖", "red", N_("NOT RECORDED")),
}
RUN_COMMANDS: dict[str, Direction] = {":in": "in", ":vao": "in", ":vào": "in", ":out": "out", ":ra": "out"}
QUIT_COMMANDS = (":q", ":quit", ":thoat", ":thoát")
NO_READER = N_("No reader is enabled: set scanners.serial.enabled = true, or hid or camera, in the config file.")


def log_clock(status: ClockStatus) -> None:
    """The watcher's answer in the journal, each time it changes."""
    if status.synchronised is False:
        log.warning("%s: %s: %s", bilingual("clock not synchronised"), status.source, status.detail)
    elif status.synchronised:
        log.info("%s: %s: %s", bilingual("clock synchronised"), status.source, status.detail)
    else:
        log.warning("%s: %s", bilingual("clock state unknown"), status.detail)


def result_line(result: ScanResult, lang: str, colour: bool = True) -> str:
    """One line a guard reads: mark, word, direction, masked summary, reason; never full data."""
    mark, fg, words = STATUS_STYLE[result.status]
    if result.doubtful:
        mark, fg = "!", "yellow"  # recorded, but the certificate or card is not to be trusted: never green
    word = text(words, lang)
    direction = ""
    if result.direction:
        direction = " " + text(N_("IN") if result.direction == "in" else N_("OUT"), lang)
    parts = [f"{mark} {word}{direction}", result.summary or "", result.reason if result.status != "accepted" else ""]
    if result.details.get("signature"):
        parts.append(text("signature: {signature}", lang, signature=result.details["signature"]))
    if result.details.get("card"):
        parts.append(text("card: {card}", lang, card=result.details["card"]))
    line = " · ".join(p for p in parts if p)
    return click.style(line, fg=fg, bold=True) if colour else line


@click.command()
@click.option("--operator", help="Who is on duty (name or badge).")
@click.option(
    "--headless",
    is_flag=True,
    help="No terminal input: run the enabled readers into the store until SIGTERM/SIGINT, logging each result.",
)
@click.pass_obj
def run(obj: Context, operator: str | None, headless: bool) -> None:
    """Run the kiosk: the enabled readers ([scanners] in the config) and, in a terminal, typed lines.

    \b
    In a terminal each line typed (or sent by a keyboard-wedge reader) is a scan too.
    Type :vao / :in or :ra / :out to switch direction (when the kiosk allows both),
    :q or Ctrl-D to stop. Keyboard-wedge readers cannot carry Vietnamese letters:
    use serial mode or the camera for ID cards.
    With --headless, exit code 2 means no reader is enabled or usable.
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if headless:
        _run_headless(obj, operator)
    else:
        _run_terminal(obj, operator)


def _run_terminal(obj: Context, operator: str | None) -> None:
    from drivers.runtime import KioskRuntime  # here: every kiosk command loads this module

    lang = obj.config.kiosk.language

    def show(event: ScanEvent, result: ScanResult) -> None:
        today = runtime.service.today()
        click.echo(f"{result_line(result, lang)}   [{text('in {in} · out {out}', lang, **today)}]")

    runtime = KioskRuntime(obj.config, show, operator=operator, on_clock=log_clock)
    service = runtime.service
    cp = obj.config.checkpoint
    click.echo(f"{cp.code} · {cp.name} · {cp.commune}")
    for status in runtime.pipeline.unusable:
        click.echo(f"{status.source}: {status.detail}", err=True)
    click.echo(bilingual("ready to scan") + ". " + text(":in/:out switch direction, :q quits.", lang))
    with runtime:
        for line in sys.stdin:
            typed = line.rstrip("\r\n")
            command = typed.strip().lower()
            if command in QUIT_COMMANDS:
                break
            if command in RUN_COMMANDS:
                wanted = RUN_COMMANDS[command]
                if service.switchable or wanted == service.direction:
                    service.direction = wanted
                click.echo(f"{bilingual('direction')}: {bilingual('in' if service.direction == 'in' else 'out')}")
            elif typed.strip():
                runtime.submit(ScanEvent(source="keyboard", text=typed, device="stdin")).result()


def _run_headless(obj: Context, operator: str | None) -> None:
    from drivers.runtime import KioskRuntime  # here: every kiosk command loads this module

    config = obj.config
    if not enabled_kinds(config):
        click.echo(bilingual(NO_READER), err=True)
        sys.exit(ExitCode.USAGE)  # nothing to run is a configuration problem
    lang = config.kiosk.language
    counts = {"accepted": 0, "repeat": 0, "rejected": 0}

    def record(event: ScanEvent, result: ScanResult) -> None:
        counts[result.status] += 1
        log.info("%s [%s %s]", result_line(result, lang, colour=False), event.source, event.device or "")

    runtime = KioskRuntime(config, record, operator=operator, on_clock=log_clock)
    if not runtime.pipeline.sources:
        runtime.stop()  # nothing started: closes the store
        reasons = "; ".join(f"{s.source}: {s.detail}" for s in runtime.pipeline.unusable)
        click.echo(f"{bilingual('no usable reader')}: {reasons}", err=True)
        sys.exit(ExitCode.USAGE)
    # A SimpleQueue, not an Event: its put is safe in a signal handler. Event.set takes the
    # lock Event.wait holds for a moment on this same thread, so a SIGTERM landing in that
    # moment deadlocked the kiosk (seen once in CI: the SIGTERM right after "running:").
    stop: queue.SimpleQueue[int] = queue.SimpleQueue()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _frame: stop.put(received))
    with runtime:
        running = ", ".join(s.kind for s in runtime.pipeline.sources)
        log.info("running: %s (data: %s)", running, config.data_dir)
        sdnotify.notify(f"READY=1\nSTATUS=readers: {running}")
        _feed_watchdog(runtime.pipeline, stop)
        sdnotify.notify("STOPPING=1")
        log.info("stopping: finishing the scans already read")
    log.info("stopped: %d recorded, %d repeats, %d rejected", counts["accepted"], counts["repeat"], counts["rejected"])


def _feed_watchdog(pipeline: Pipeline, stop: queue.SimpleQueue[int]) -> None:
    """Until a signal arrives on ``stop``: every half watchdog period, a ping through the scan
    queue; only the consumer answering it (not stuck recording) with every reader thread
    running sends ``WATCHDOG=1``, so systemd restarts a headless kiosk whose pipeline hangs."""
    every = sdnotify.watchdog_interval_s()
    while True:
        try:
            stop.get(timeout=every)
            return
        except queue.Empty:
            pipeline.ping().add_done_callback(lambda _done: pipeline.readers_alive() and sdnotify.notify("WATCHDOG=1"))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.pass_obj
def scanners(obj: Context, as_json: bool) -> None:
    """List input devices, serial ports and cameras, and what the kiosk would do with each."""
    sections = inventory(obj.config)
    if as_json:
        emit([s.to_dict() for s in sections])
        return
    for section in sections:
        _print_section(section)


TITLES = {
    "hid": N_("keyboard-wedge, evdev"),
    "serial": N_("serial readers"),
    "camera": N_("Camera"),
}


def _print_section(section: Section) -> None:
    state = bilingual("enabled" if section.enabled else "disabled")
    title = TITLES[section.kind]
    click.echo(f"{title if section.kind == 'camera' else bilingual(title)}: {state}")
    if section.note:
        click.echo(f"  ! {section.note}")
    if not section.found:
        click.echo("  " + bilingual("no device found"))
    for found in section.found:
        mark = click.style(bilingual("used"), fg="green", bold=True) if found.use else bilingual("ignored")
        ident = " ".join(
            p for p in (found.path, f"[{found.usb_id}]" if found.usb_id else "", f'"{found.name}"' if found.name else "") if p
        )
        click.echo(f"  {ident}")
        for link in found.links:
            click.echo(f"      = {link}")
        click.echo(f"      → {mark}: {found.reason}")
    click.echo("")
