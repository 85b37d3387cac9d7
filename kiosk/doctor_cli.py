"""``checkpoint-kiosk doctor``: the field check-up as lines for a person or JSON for a script.

Exit codes: 0 nothing failed (warnings allowed), 1 at least one check failed (an invalid
config file included: the doctor reports it rather than refusing to start), 2 usage error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kiosk.catalog import LANGUAGES, N_, text
from kiosk.checkup_summary import keep_summary
from kiosk.doctor import DEFAULT_TIMEOUT_S, DoctorContext, Finding, run_checks, tally, worst
from kiosk.exitcodes import ExitCode, emit

if TYPE_CHECKING:
    from kiosk.cli import Context  # kiosk.cli registers this command: no import at run time

# The same marks as the check-up panel (ui/screens/admin_checkup.py): one word for one thing.
MARKS = {"ok": (N_("PASS"), "green"), "warn": (N_("WARN"), "yellow"), "fail": (N_("FAIL"), "red")}


def finding_lines(finding: Finding, lang: str, colour: bool = True) -> list[str]:
    """The line a person reads, and its fix on the next one."""
    word, fg = MARKS[finding.level]
    mark = f"{text(word, lang):<6}"
    lines = [f"{click.style(mark, fg=fg, bold=True) if colour else mark} {finding.message(lang)}"]
    fix = finding.fix_text(lang)
    if fix:
        lines.append(f"       → {text('Fix', lang)}: {fix}")
    return lines


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts instead of lines.")
@click.option("--lang", type=click.Choice(LANGUAGES), help="Language of the report; default: kiosk.language.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(0.5, 120),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds each check may take (network waits included).",
)
@click.pass_obj
def doctor(obj: Context, as_json: bool, lang: str | None, timeout_s: float) -> None:
    """Check config, data directory and free space, database, clock, readers, camera, server and
    outbox; one line each (ok / warn / fail) with a one-line fix.

    \b
    Exit codes: 0 nothing failed (warnings allowed), 1 something failed, 2 usage error.
    """
    lang = lang or obj.config.kiosk.language
    ctx = DoctorContext(obj.config, obj.source, timeout_s=timeout_s, config_error=obj.config_error)
    findings = run_checks(ctx)
    keep_summary(obj.config.data_dir, tally(findings))
    if as_json:
        emit({"level": worst(findings), "user": ctx.user, "findings": [f.to_dict(lang) for f in findings]})
    else:
        for finding in findings:
            for line in finding_lines(finding, lang):
                click.echo(line)
        click.echo(text("Total: {ok} ok, {warn} warnings, {fail} failed.", lang, **tally(findings)))
    if worst(findings) == "fail":
        raise SystemExit(ExitCode.NOT_DONE)
