"""Sync progress for an admin: a bar on a terminal, a plain line now and then in a log.

Both go to standard error, so standard output stays the summary (or ``--json``'s one
document). Besides the count of visits sent, each step a sync takes while nothing moves
(waiting its turn, connecting, every wait before a retry: sync/notices.py) is one line of
its own, so a sync against a dead server says what it is doing from the first second.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol

import click

from kiosk.catalog import bilingual, text
from kiosk.messages import render_both
from sync.notices import Connecting, Notice, WaitingForSync
from sync.service import SyncProgress

LINE_EVERY_S = 2.0
RETRY_REASONS = frozenset({"server_unreachable", "server_error", "server_bad_answer", "rate_limited"})


class Reporter(Protocol):
    def update(self, progress: SyncProgress) -> None: ...

    def note(self, notice: Notice) -> None: ...

    def close(self) -> None: ...


def notice_line(notice: Notice) -> str:
    """One line, Vietnamese then English, for what the sync is doing."""
    if isinstance(notice, Connecting):
        return render_both("sync_connecting", host=notice.host, pending=notice.pending)
    if isinstance(notice, WaitingForSync):
        return render_both("sync_waiting_turn")
    delay = f"{notice.delay_s:.1f}" if notice.delay_s < 10 else f"{notice.delay_s:.0f}"
    code = notice.code if notice.code in RETRY_REASONS else "server_unreachable"
    return render_both(f"sync_retry_{code}", status=notice.status, delay=delay, attempt=notice.attempt, tries=notice.tries)


def describe(progress: SyncProgress) -> str:
    counts = {"sent": progress.sent, "total": progress.total, "rate": f"{progress.rate_per_s:.0f}"}
    eta = f" · {bilingual('ETA')} {progress.eta_s:.0f} s" if progress.eta_s is not None else ""
    return bilingual("sent {sent}/{total} · {rate} visits/s", **counts) + eta


class LineReporter:
    """For journald and pipes: one line every few seconds and one at the end, never a bar.

    ``progress=False`` (``sync --json``): only the notices, no counts.
    """

    def __init__(self, progress: bool = True) -> None:
        self._progress = progress
        self._last_line = 0.0
        self._latest: SyncProgress | None = None
        self._shown: SyncProgress | None = None

    def update(self, progress: SyncProgress) -> None:
        if not self._progress:
            return
        self._latest = progress
        if time.monotonic() - self._last_line >= LINE_EVERY_S:
            self._show(progress)

    def note(self, notice: Notice) -> None:
        click.echo(notice_line(notice), err=True)

    def close(self) -> None:
        if self._latest is not None and self._latest is not self._shown:
            self._show(self._latest)

    def _show(self, progress: SyncProgress) -> None:
        click.echo(describe(progress), err=True)
        self._last_line = time.monotonic()
        self._shown = progress


class BarReporter:
    """A rich progress bar on the terminal (standard error, so standard output stays the summary)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn(bilingual("sending")),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task("sync", total=None, rate="")
        self._bar.start()

    def update(self, progress: SyncProgress) -> None:
        self._bar.update(
            self._task,
            completed=progress.sent,
            total=progress.total,
            rate=text("{rate} visits/s", "vi", rate=f"{progress.rate_per_s:.0f}"),
        )

    def note(self, notice: Notice) -> None:
        self._bar.console.print(notice_line(notice), markup=False, highlight=False)  # above the bar

    def close(self) -> None:
        self._bar.stop()


def reporter(*, progress: bool = True) -> Reporter:
    """A bar on a terminal, lines otherwise; without ``progress`` only the notices, as lines."""
    return BarReporter() if progress and sys.stderr.isatty() else LineReporter(progress)
