"""Sync progress for an admin: a bar on a terminal, a plain line now and then in a log."""

from __future__ import annotations

import sys
import time
from typing import Protocol

import click

from sync.service import SyncProgress

LINE_EVERY_S = 2.0


class Reporter(Protocol):
    def update(self, progress: SyncProgress) -> None: ...

    def close(self) -> None: ...


def describe(progress: SyncProgress) -> str:
    eta = f" · còn khoảng (ETA) {progress.eta_s:.0f} s" if progress.eta_s is not None else ""
    return (f"Đã gửi (sent) {progress.sent}/{progress.total} lượt · {progress.rate_per_s:.0f} lượt/s (visits/s){eta}")


class LineReporter:
    """For journald and pipes: one line every few seconds and one at the end, never a bar."""

    def __init__(self) -> None:
        self._last_line = 0.0
        self._latest: SyncProgress | None = None
        self._shown: SyncProgress | None = None

    def update(self, progress: SyncProgress) -> None:
        self._latest = progress
        if time.monotonic() - self._last_line >= LINE_EVERY_S:
            self._show(progress)

    def close(self) -> None:
        if self._latest is not None and self._latest is not self._shown:
            self._show(self._latest)

    def _show(self, progress: SyncProgress) -> None:
        click.echo(describe(progress))
        self._last_line = time.monotonic()
        self._shown = progress


class BarReporter:
    """A rich progress bar on the terminal (standard error, so standard output stays the summary)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("Đang gửi (sending)"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                             console=Console(stderr=True), transient=False)
        self._task = self._bar.add_task("sync", total=None, rate="")
        self._bar.start()

    def update(self, progress: SyncProgress) -> None:
        self._bar.update(self._task, completed=progress.sent, total=progress.total,
                         rate=f"{progress.rate_per_s:.0f} lượt/s")

    def close(self) -> None:
        self._bar.stop()


def reporter() -> Reporter:
    return BarReporter() if sys.stderr.isatty() else LineReporter()
