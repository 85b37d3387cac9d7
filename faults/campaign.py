"""The fault campaign: kill the kiosk and cut its power at random instants, then count.

The promise measured is the product's (docs/architecture.md): green means the district
will have that visit, exactly once. "Acknowledged" is what the guard saw: the real
``checkpoint-kiosk run --headless`` logging ``✔ GHI NHẬN`` for a scan that arrived through a
serial port (a pty pair, tests/ptyscanner.py), while its background sync delivers to a
real ``checkpoint-server serve`` (tests/sync/conftest.py's ``Server``). After every trial
the store must pass ``PRAGMA integrity_check`` and hold each acknowledged visit exactly once;
at the end of each scenario a final ``checkpoint-kiosk sync`` runs and the server must hold
each exactly once too. Anything else fails the run.

Scenarios:

* ``kill``: SIGKILL at a random instant: during start-up, while scans arrive, or while the
  background sync runs.
* ``power``: the data directory is a LazyFS mount (faults/lazyfs.py); at a random instant
  the kiosk and the filesystem die together (every unsynced write is lost), then the
  directory is mounted again ("reboot").
* ``power, synchronous=OFF``: the same with the store's fsyncs switched off
  (faults/kiosk_under_test.py). The negative control: it must lose visits, or the check
  could not see a loss.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import termios
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from faults.lazyfs import LazyMount
from kiosk.masking import mask_name
from kiosk.store import DB_NAME
from tests.ptyscanner import PtyScanner
from tests.sync.conftest import Kiosk, Server

ScenarioName = Literal["kill", "power", "power-unsafe"]
TITLES: dict[ScenarioName, str] = {
    "kill": "SIGKILL of the kiosk (scans arriving, sync running, start-up)",
    "power": "power cut below the process (LazyFS), remount",
    "power-unsafe": "negative control: power cut with synchronous=OFF (must lose visits)",
}
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Bùi", "Đỗ", "Điểu"]
GIVEN = ["Ánh Tuyết", "Văn Đức", "Thị Hằng", "Quốc Việt", "Ngọc Ánh", "Hữu Lộc", "Thị Thủy", "Bá Khải"]
NAMES = [f"{family} {given}" for family in FAMILY for given in GIVEN]
ADDRESS = "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước"
PER_NAME = 10_000  # the masked summary shows the ID's last four digits: the name tells the rest apart
ACCEPTED = re.compile(r"GHI NHẬN (?:VÀO|RA) · (.+?) · ID \*\*\*(\d{4})")
NAME_INDEX = {mask_name(name): i for i, name in enumerate(NAMES)}
SYNC_INTERVAL_S = 0.3  # the background sync runs often, so kills land in it
START_WAIT_S = 60.0


def id_number(n: int) -> str:
    return f"0791{n:08d}"


def cccd(n: int) -> str:
    """Card ``n``: a distinct ID and, per 10,000, a distinct Vietnamese name."""
    return f"{id_number(n)}||{NAMES[n // PER_NAME]}|14071985|Nữ|{ADDRESS}|10052021"


def acknowledged_card(line: str) -> int | None:
    """The card a ``✔ GHI NHẬN`` log line acknowledged, or None for any other line."""
    match = ACCEPTED.search(line)
    return None if match is None else NAME_INDEX[match[1]] * PER_NAME + int(match[2])


@dataclass
class Row:
    scenario: ScenarioName
    trials: int = 0
    acknowledged: int = 0
    found: int = 0
    lost: int = 0
    doubled: int = 0
    corrupt: int = 0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def control(self) -> bool:
        return self.scenario == "power-unsafe"

    @property
    def passed(self) -> bool:
        if self.acknowledged == 0:
            return False  # nothing was tested
        if self.control:
            return self.lost > 0
        return self.lost == self.doubled == self.corrupt == 0 and self.found == self.acknowledged


class Scanner(PtyScanner):
    def discard_unread(self) -> None:
        """Bytes the dead kiosk never read are gone with the reader's cable, not replayed."""
        termios.tcflush(self._slave, termios.TCIFLUSH)


class HeadlessKiosk:
    """One ``checkpoint-kiosk run --headless`` process reading the pty, its log collected."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._collect, args=(self.proc.stderr,), daemon=True)
        self.reader.start()

    def _collect(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.lines.append(line.decode("utf-8", "replace"))

    def wait_connected(self) -> bool:
        deadline = time.monotonic() + START_WAIT_S
        while not any("serial: connected" in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def kill(self) -> list[int]:
        """SIGKILL; the cards it acknowledged before it died."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(30)
        return [n for line in self.lines if (n := acknowledged_card(line)) is not None]


class Subject:
    """One kiosk under test: its data directory (LazyFS-mounted for power cuts), config and reader."""

    def __init__(self, scenario: ScenarioName, root: Path, server: Server) -> None:
        self.scenario, self.root, self.server = scenario, root, server
        self.kiosk = Kiosk(root, server.url, interval_s=SYNC_INTERVAL_S)
        self.mount = LazyMount(root / "disk", self.kiosk.data_dir, root / "lazyfs.log") if scenario != "kill" else None
        self.kiosk.enroll(server)
        if self.mount is not None:
            self.mount.settle()  # the enrolment was written long before the first cut
        self.scanner = Scanner(root / "scanner0")
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if scenario == "power-unsafe":
            self.env["FAULTS_SYNCHRONOUS"] = "OFF"
        self.next_card = 0
        self.acknowledged: Counter[int] = Counter()  # card → times a kiosk said green for it

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "faults.kiosk_under_test", "--config", str(self.kiosk.config_file), *args]

    def trial(self, rng: random.Random) -> None:
        kiosk = HeadlessKiosk(
            self.argv(
                "--set", "scanners.serial.enabled=true", "--set", f"scanners.serial.port={self.scanner.link}", "run", "--headless"
            ),
            self.env,
        )
        if rng.random() < 0.15:  # during start-up: opening, recovering, migrating the store
            time.sleep(rng.uniform(0, 1.5))
        elif not kiosk.wait_connected():
            kiosk.kill()
            raise RuntimeError("the kiosk did not start:\n" + "".join(kiosk.lines[-30:]))
        else:
            burst = rng.randint(1, 12)
            gaps = [rng.uniform(0, 0.05) for _ in range(burst)]
            kill_at = time.monotonic() + rng.uniform(0, sum(gaps) + 2 * SYNC_INTERVAL_S)
            for gap in gaps:
                if time.monotonic() >= kill_at:
                    break
                self.scanner.write(cccd(self.next_card).encode() + b"\r\n")
                self.next_card += 1
                time.sleep(gap)
            time.sleep(max(0.0, kill_at - time.monotonic()))
        self.acknowledged.update(kiosk.kill())
        if self.mount is not None:
            self.mount.reboot()
        self.scanner.discard_unread()

    def stored(self) -> tuple[bool, dict[str, list[str]]]:
        """Whether the store passes ``integrity_check``; its visit ids by ID number."""
        db = self.kiosk.data_dir / DB_NAME
        if not db.exists():
            return True, {}
        with closing(sqlite3.connect(db)) as conn:
            ok = conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            by_card: dict[str, list[str]] = defaultdict(list)
            for visit_id, fields in conn.execute("SELECT id, fields FROM visits"):
                by_card[json.loads(fields).get("id_number", "")].append(visit_id)
        return ok, by_card

    def final_sync(self) -> str:
        """``checkpoint-kiosk sync`` until nothing is pending; its last output if it never gets there."""
        done = None
        for _ in range(5):
            done = subprocess.run(self.argv("sync"), capture_output=True, text=True, timeout=600, check=False)
            if done.returncode == 0:
                return ""
        assert done is not None
        return done.stdout[-1000:] + done.stderr[-1000:]

    def close(self) -> None:
        self.scanner.close()
        if self.mount is not None:
            self.mount.close()


def count(row: Row, subject: Subject, *, on_server: bool) -> None:
    """Add the subject's acknowledged visits, as found in its store (and on the server), to ``row``."""
    ok, by_card = subject.stored()
    row.corrupt += not ok
    row.acknowledged = len(subject.acknowledged)
    row.doubled = sum(len(ids) - 1 for ids in by_card.values() if len(ids) > 1)
    held = subject.server.visit_ids() if on_server else Counter()
    row.doubled += sum(times - 1 for times in held.values() if times > 1)
    row.found = row.lost = 0
    for card in subject.acknowledged:
        ids = by_card.get(id_number(card), [])
        if len(ids) == 1 and (not on_server or held[ids[0]] == 1):
            row.found += 1
        elif not ids or (on_server and held[ids[0]] == 0):
            row.lost += 1


def run_scenario(scenario: ScenarioName, trials: int, workdir: Path, server: Server, seed: int) -> Row:
    row = Row(scenario)
    rng = random.Random(f"{seed}-{scenario}")
    started = time.monotonic()
    subject = Subject(scenario, workdir / scenario, server)
    try:
        for _ in range(trials):
            subject.trial(rng)
            row.trials += 1
            ok, _ = subject.stored()
            row.corrupt += not ok
        if scenario == "power-unsafe":
            count(row, subject, on_server=False)  # what the cuts took is gone before any sync
        else:
            if failure := subject.final_sync():
                row.notes.append(f"final sync failed: {failure}")
            count(row, subject, on_server=True)
    finally:
        subject.close()
    row.wall_s = time.monotonic() - started
    return row


@contextmanager
def district_server(workdir: Path) -> Iterator[Server]:
    server = Server(workdir / "server")
    try:
        yield server
    finally:
        server.stop()
        server.engine.dispose()


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | trials | visits acknowledged | found | lost | doubled | corrupt databases | wall time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        wall = f"{r.wall_s / 60:.1f} min" if r.wall_s >= 120 else f"{r.wall_s:.0f} s"
        lines.append(
            f"| {TITLES[r.scenario]} | {r.trials} | {r.acknowledged} | {r.found} | {r.lost} | {r.doubled} | {r.corrupt} | {wall} |"
        )
    return "\n".join(lines)
