"""``python -m faults --short`` (CI) or ``--long``: run the campaign, print the table, fail on any loss.

Exit 0 only when every scenario kept every acknowledged visit exactly once, locally and on
the server, with no corrupt database, and the negative control lost visits. ``--docs``
writes the table into docs/reliability.md between the markers of its form.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from faults.campaign import Row, ScenarioName, district_server, run_crowd, run_scenario, table

# Trials per scenario; for "crowd", how many kiosks sync at once (CROWD_BACKLOG: the first one's visits).
SHORT: dict[ScenarioName, int] = {"kill": 20, "power": 15, "power-unsafe": 4, "disk": 8, "damaged": 8}
SHORT |= {"clock": 8, "server": 5, "postgres": 4, "crowd": 6}
LONG: dict[ScenarioName, int] = {"kill": 1000, "power": 200, "power-unsafe": 20, "disk": 60, "damaged": 60}
LONG |= {"clock": 60, "server": 20, "postgres": 20, "crowd": 50}
FORMS = {"short": SHORT, "long": LONG}
CROWD_BACKLOG = {"short": 1_000, "long": 100_000}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"


def write_docs(form: str, text: str) -> None:
    begin, end = f"<!-- faults:{form}:begin -->", f"<!-- faults:{form}:end -->"
    page = DOCS.read_text(encoding="utf-8")
    head, rest = page.split(begin, 1)
    DOCS.write_text(f"{head}{begin}\n\n{text}\n\n{end}{rest.split(end, 1)[1]}", encoding="utf-8")  # blank lines: a table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    form = parser.add_mutually_exclusive_group(required=True)
    form.add_argument("--short", dest="form", action="store_const", const="short", help="CI's few minutes")
    form.add_argument("--long", dest="form", action="store_const", const="long", help="≥ 1,000 kills, ≥ 200 power cuts")
    parser.add_argument("--seed", type=int, default=14, help="the random instants (default: 14)")
    parser.add_argument("--only", choices=list(FORMS["short"]), action="append", help="run only these scenarios")
    parser.add_argument("--docs", action="store_true", help="write the table into docs/reliability.md")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still stop the kiosks, server, mounts
    rows: list[Row] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp, district_server(Path(tmp)) as server:
        for scenario, trials in FORMS[args.form].items():
            if args.only and scenario not in args.only:
                continue
            if scenario == "crowd":
                row = run_crowd(trials, CROWD_BACKLOG[args.form], Path(tmp), server, args.seed)
            else:
                row = run_scenario(scenario, trials, Path(tmp), server, args.seed)
            rows.append(row)
            print(f"{scenario}: {'ok' if row.passed else 'FAILED'} {row}", file=sys.stderr, flush=True)
            if args.docs:  # row by row: a long run stopped early keeps what it measured
                write_docs(args.form, report(rows, args, started, finished=False))
    text = report(rows, args, started, finished=True)
    print(text)
    if args.docs:
        write_docs(args.form, text)
    return 0 if rows and all(row.passed for row in rows) else 1


def commit() -> str:
    """The code measured: the commit, and whether the working tree differed from it."""
    git = ["git", "-C", str(DOCS.parents[1])]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "--", "faults"], capture_output=True, text=True, check=False).stdout
    return f"commit {head or '?'}" + (" with uncommitted changes to faults/" if changed.strip() else "")


def report(rows: list[Row], args: argparse.Namespace, started: str, *, finished: bool) -> str:
    """The table, the command, the verdict and what each row threw besides its kills."""
    only = "".join(f" --only {name}" for name in args.only or [])
    verdict = "all passed" if all(row.passed for row in rows) else "FAILED"
    if not finished:
        verdict += f" so far (still running: {len(rows)} scenario(s) done)"
    command = f"`python -m faults --{args.form} --seed {args.seed}{only}`"
    text = table(rows) + f"\n\n{command} at {commit()}, started {started}: {verdict}."
    notes = [f"- {row.scenario}: {'; '.join(row.notes)}" for row in rows if row.notes]
    if notes:
        text += "\n\nBesides the kills and cuts themselves:\n\n" + "\n".join(notes)
    return text


if __name__ == "__main__":
    sys.exit(main())
