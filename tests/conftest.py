"""Shared fixtures: every test gets its own data directory and no system config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kiosk.clock import ClockReading
from kiosk.store import Delivery, VisitStore

if TYPE_CHECKING:
    from tests.tmpfs import Tmpfs

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"
CLI = str(Path(sys.executable).with_name("checkpoint-kiosk"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHECKPOINT_KIOSK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


class FakeClock:
    """A controllable clock: tests move wall and monotonic time, and reboot."""

    def __init__(self, wall: datetime | None = None, synchronised: bool = True) -> None:
        self.wall = wall or datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)
        self.monotonic_ns = 1_000_000_000_000
        self.boot_id = "boot-1"
        self.synchronised = synchronised

    def read(self) -> ClockReading:
        return ClockReading(self.wall, self.monotonic_ns, self.boot_id, self.synchronised)

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.monotonic_ns += int(seconds * 1e9)

    def reboot(self, boot_id: str = "boot-2") -> None:
        self.boot_id = boot_id
        self.monotonic_ns = 5_000_000_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str, data_dir: Path | None = None, stdin: bytes | None = None, env: dict[str, str] | None = None) -> CliResult:
    """The real console script in a subprocess, as an admin or a script runs it."""
    argv = [CLI]
    if data_dir is not None:
        argv += ["--set", f"storage.data_dir={data_dir}"]
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(argv + list(args), input=stdin, capture_output=True, timeout=60, env=full_env)
    return CliResult(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    """A 512 KiB filesystem of its own: a nearly full SD card, a small USB stick."""
    from tests.tmpfs import Tmpfs  # which imports this module

    fs = Tmpfs(tmp_path / "mnt", "512k")
    yield fs
    fs.close()


def mark_synced(store: VisitStore, visit_ids: list[str], at: datetime) -> int:
    """As if the server had answered ``created`` for these visits."""
    return store.apply_deliveries([Delivery(visit_id, "synced") for visit_id in visit_ids], at)


def mark_rejected(store: VisitStore, visit_id: str, code: str, reason: str, at: datetime) -> None:
    """As if the server had rejected this visit with ``code`` and ``reason``."""
    store.apply_deliveries([Delivery(visit_id, "rejected", code, reason)], at)


def kept(store: VisitStore, visit_id: str) -> dict[str, Any]:
    """What a visit keeps for the district (its full fields and raw payload): here, in clear,
    because these tests' kiosks have no district key yet (tests/test_sealing.py seals)."""
    row = store.db.execute("SELECT clear FROM visits WHERE id = ?", [visit_id]).fetchone()
    return json.loads(row[0])
