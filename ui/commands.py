"""``checkpoint-kiosk run`` (the touchscreen app) and ``checkpoint-kiosk set-pin``.

``run`` opens the app; ``run --headless`` and ``run --terminal`` are the drivers' own
commands (a screenless Pi, and the terminal kiosk), invoked as they are. Kivy is
imported only when the app really starts, so every other command stays fast and works
on a machine without a display.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from drivers.commands import run as drivers_run
from kiosk.catalog import bilingual
from kiosk.exitcodes import ExitCode
from kiosk.messages import render_both
from kiosk.runlock import KioskRunning, acquire_run_lock
from ui.display import no_screen
from ui.pin import PIN_MAX, PIN_MIN, PinStore, valid_pin

if TYPE_CHECKING:
    from kiosk.cli import Context


@click.command()
@click.option("--operator", help="Who is on duty (name or badge).")
@click.option(
    "--headless", is_flag=True, help="No screen: run the enabled readers into the store until SIGTERM/SIGINT, logging each result."
)
@click.option(
    "--terminal", is_flag=True, help="The kiosk in a terminal: typed lines (or a keyboard-wedge reader) and the enabled readers."
)
@click.option("--fullscreen/--window", default=None, help="Override [ui] fullscreen for this run.")
@click.pass_context
def run(ctx: click.Context, operator: str | None, headless: bool, terminal: bool, fullscreen: bool | None) -> None:
    """Run the kiosk: the touchscreen app with the enabled readers ([scanners] in the config).

    \b
    Escape and the window's close button ask for the admin PIN; leave through
    Admin → Exit. --headless and --terminal run without the app (see their help).
    Exit code 1: a kiosk is already running on this data directory; 2: over SSH with no
    display for the app (use --headless or --terminal, or set SDL_VIDEODRIVER).
    """
    if not (headless or terminal) and no_screen(os.environ):  # before the lock: refusing must hold nothing
        click.echo(render_both("run_no_screen"), err=True)
        sys.exit(ExitCode.USAGE)
    try:
        acquire_run_lock(ctx.obj.config.data_dir)  # held until this process ends; restore waits for it
    except KioskRunning as exc:
        click.echo(str(exc), err=True)
        sys.exit(ExitCode.NOT_DONE)
    if headless or terminal:
        ctx.invoke(drivers_run, operator=operator, headless=headless)
        return
    obj: Context = ctx.obj
    from ui.kiosk_window import configure

    configure(obj.config.ui, fullscreen=fullscreen)
    from ui.app import run_app  # after configure: Kivy reads the window settings at import

    run_app(obj.config, operator=operator, config_file=obj.source)


@click.command("set-pin")
@click.option("--pin", help="The new PIN; without it, asked twice without echo.")
@click.pass_obj
def set_pin(obj: Context, pin: str | None) -> None:
    """Set the admin PIN of the touchscreen app (4-12 digits); clears any lockout."""
    if pin is None:
        pin = click.prompt(bilingual("new admin PIN"), hide_input=True, confirmation_prompt=True)
    if not valid_pin(pin):
        click.echo(bilingual("A PIN has {min}-{max} digits.", min=PIN_MIN, max=PIN_MAX), err=True)
        sys.exit(ExitCode.USAGE)
    ui = obj.config.ui
    PinStore(obj.config.data_dir, attempts=ui.pin_attempts, lockout_s=ui.pin_lockout_s).set_pin(pin)
    click.echo(bilingual("Admin PIN set."))
