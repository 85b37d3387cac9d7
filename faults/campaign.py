"""The fault campaign: kill the kiosk and cut its power at random instants, then count.

The promise measured is the product's (docs/architecture.md): green means the district
will have that visit, exactly once. "Acknowledged" is what the guard saw: the real
``checkpoint-kiosk run --headless`` logging ``✔ GHI NHẬN`` for a scan that arrived through a
serial port (a pty pair, tests/ptyscanner.py), while its background sync delivers to a
real ``checkpoint-server serve`` (tests/sync/conftest.py's ``Server``). After every trial
the store must pass ``PRAGMA integrity_check`` and hold each acknowledged visit exactly once;
at the end of each scenario a final ``checkpoint-kiosk sync`` runs and the server must hold
each exactly once too. Anything else fails the run.

Scenarios (``TITLES``; docs/reliability.md says what each throws and claims): ``kill``;
``power``, the data directory on a LazyFS mount (faults/lazyfs.py) whose unsynced writes die
with it, remounted after each cut; ``power-unsafe``, the same with the store's fsyncs off
(faults/kiosk_under_test.py), the negative control that must lose visits or the check could
not see a loss; ``disk`` (full or read-only mid-run); ``damaged`` (the database deleted or
broken between runs, quarantined at the next start); ``clock`` (wall-clock jumps, and the
card just read scanned again); ``server`` (server kills, lost answers, the fault proxy);
``postgres`` (a private cluster crash-restarted, faults/private_pg.py); ``crowd`` (many
kiosks syncing at once, sync processes killed).
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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from faults.lazyfs import LazyMount, Mode
from faults.private_pg import PrivatePostgres
from kiosk.masking import mask_name
from kiosk.seal import open_sealed
from kiosk.store import DB_NAME, quarantined_databases
from server.schema import visits as server_visits
from tests.ptyscanner import PtyScanner
from tests.sync.conftest import Kiosk, Server
from tests.sync.faultproxy import FaultProxy

ScenarioName = Literal["kill", "power", "power-unsafe", "disk", "damaged", "clock", "server", "postgres", "crowd"]
TITLES: dict[ScenarioName, str] = {
    "kill": "SIGKILL of the kiosk (scans arriving, sync running, start-up)",
    "power": "power cut below the process (LazyFS), remount",
    "power-unsafe": "negative control: power cut with synchronous=OFF (must lose visits)",
    "disk": "disk full or read-only mid-scan and mid-sync, then power cut",
    "damaged": "database deleted, overwritten or cut short between runs (after a sync), quarantined",
    "clock": "wall clock jumps ±5 min / ±1 day mid-scan and mid-sync, then SIGKILL",
    "server": "server SIGKILLed mid-ingest behind the fault proxy (resets, stalls, cut and lost answers)",
    "postgres": "private PostgreSQL crash-restarted mid-ingest (pg_ctl -m immediate)",
    "crowd": "many kiosks syncing at once, one with a large backlog; sync processes SIGKILLed",
}
DAMAGES = ("deleted", "overwritten", "cut short")
PAGE = 4096
CLOCK_JUMPS_S = (-86_400.0, -300.0, 300.0, 86_400.0)
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Bùi", "Đỗ", "Điểu"]
GIVEN = ["Ánh Tuyết", "Văn Đức", "Thị Hằng", "Quốc Việt", "Ngọc Ánh", "Hữu Lộc", "Thị Thủy", "Bá Khải"]
NAMES = [f"{family} {given}" for family in FAMILY for given in GIVEN]
ADDRESS = "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước"
CARDS_PER_SCENARIO = 60_000
PER_NAME = 10_000  # the masked summary shows the ID's last four digits: the name tells the rest apart
ACCEPTED = re.compile(r"GHI NHẬN (?:VÀO|RA) · (.+?) · ID \*\*\*(\d{4})")
NAME_INDEX = {mask_name(name): i for i, name in enumerate(NAMES)}
# Where the kiosk's own kill is incidental, it waits for the run's first green, so each
# trial has something to lose (the control must, or it could fail by chance).
AFTER_A_GREEN: tuple[ScenarioName, ...] = ("power-unsafe", "server", "postgres")
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


class Zygote:
    """faults/zygote.py: kiosk processes forked from one that has imported the kiosk already."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "faults.zygote"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.guard = threading.Lock()

    def ask(self, request: dict[str, object]) -> dict[str, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.guard:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            answer: dict[str, int] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


class HeadlessKiosk:
    """One ``checkpoint-kiosk run --headless`` process reading the pty, its log in a file."""

    def __init__(self, zygote: Zygote, args: list[str], env: dict[str, str], log: Path) -> None:
        self.zygote, self.log = zygote, log
        self.pid = zygote.ask({"argv": args, "env": env, "stderr": str(log)})["pid"]
        self.status: int | None = None

    @property
    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True) if self.log.exists() else []

    def _gone(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # exited, not yet reaped
        except FileNotFoundError:
            return True

    def wait_connected(self) -> bool:
        deadline = time.monotonic() + START_WAIT_S
        while not any("serial: connected" in line for line in self.lines):
            if self._gone() or time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def wait_for_green(self) -> None:
        deadline = time.monotonic() + START_WAIT_S
        while not any(acknowledged_card(line) is not None for line in self.lines) and time.monotonic() < deadline:
            time.sleep(0.005)

    def kill(self) -> list[int]:
        """SIGKILL; the cards it acknowledged before it died."""
        os.kill(self.pid, signal.SIGKILL)
        self.status = self.zygote.ask({"reap": self.pid})["status"]
        return [n for line in self.lines if (n := acknowledged_card(line)) is not None]


class Subject:
    """One kiosk under test: its data directory (LazyFS-mounted below the process where the
    scenario cuts power or fails the disk), config, reader, and the server it delivers to."""

    def __init__(self, scenario: ScenarioName, root: Path, server: Server, rng: random.Random) -> None:
        self.scenario, self.root, self.server, self.rng = scenario, root, server, rng
        self.proxy = FaultProxy(server.port, seed=rng.randrange(2**32)) if scenario == "server" else None
        self.kiosk = Kiosk(root, self.proxy.url if self.proxy else server.url, interval_s=SYNC_INTERVAL_S)
        on_lazyfs = scenario in ("power", "power-unsafe", "disk")
        self.mount = LazyMount(root / "disk", self.kiosk.data_dir, root / "lazyfs.log") if on_lazyfs else None
        self.kiosk.enroll(server)
        if self.mount is not None:
            self.mount.settle()  # the enrolment was written long before the first cut
        if self.proxy is not None:
            self.proxy.set_faults(0.3, 10**9)  # resets, drops, cut answers and stalls from now on
        self.scanner = Scanner(root / "scanner0")
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if scenario == "power-unsafe":
            self.env["FAULTS_SYNCHRONOUS"] = "OFF"
        self.clock_file = root / "clock-offset"
        if scenario == "clock":
            self.env["FAULTS_CLOCK_FILE"] = str(self.clock_file)
        self.private_pg: PrivatePostgres | None = None
        self.zygote = Zygote()
        self.restarting: threading.Thread | None = None  # a server or database coming back
        self.next_card = list(TITLES).index(scenario) * CARDS_PER_SCENARIO  # distinct cards on the shared server
        self.acknowledged: Counter[int] = Counter()  # card → times a kiosk said green for it
        self.thrown: Counter[str] = Counter()  # the faults, and what the guard saw of them
        self.delivered: set[int] = set()  # cards acknowledged before a damage: on the server, maybe gone here

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "faults.kiosk_under_test", "--config", str(self.kiosk.config_file), *args]

    def trial(self) -> bool:
        """One kiosk run cut short; whether its store passed ``integrity_check`` afterwards."""
        rng = self.rng
        serial = ["--set", "scanners.serial.enabled=true", "--set", f"scanners.serial.port={self.scanner.link}"]
        args = ["--config", str(self.kiosk.config_file), *serial, "run", "--headless"]
        kiosk = HeadlessKiosk(self.zygote, args, self.env, self.root / "kiosk.log")
        try:
            self._until_the_kill(kiosk, rng)
        except BaseException:
            kiosk.kill()  # the campaign stops (an error, SIGTERM): no kiosk left behind
            raise
        self.acknowledged.update(kiosk.kill())
        self.thrown["red answers (scan refused)"] += sum("✖ KHÔNG NHẬN" in line for line in kiosk.lines)
        self.thrown["amber answers (already scanned)"] += sum("↻ ĐÃ QUÉT" in line for line in kiosk.lines)
        self.recover()
        self.scanner.discard_unread()
        ok, _ = self.stored()
        if self.scenario == "damaged" and rng.random() < 0.3 and not self.final_sync():
            self.damage()  # between runs: the next start must quarantine it
        return ok

    def _until_the_kill(self, kiosk: HeadlessKiosk, rng: random.Random) -> None:
        """Scans arrive, the fault strikes, until the random instant of the kill."""
        if rng.random() < 0.15 and self.scenario != "power-unsafe":  # during start-up: opening, recovering, migrating the store
            time.sleep(rng.uniform(0, 1.5))
            self.thrown["kills during start-up"] += 1
        elif not kiosk.wait_connected():
            raise RuntimeError("the kiosk did not start:\n" + "".join(kiosk.lines[-30:]))
        else:
            burst = rng.randint(1, 12)
            gaps = [rng.uniform(0, 0.05) for _ in range(burst)]
            window = sum(gaps) + 2 * SYNC_INTERVAL_S
            start = time.monotonic()
            kill_at = start + rng.uniform(window / 2 if self.scenario != "kill" else 0, window)
            disturb_at = start + rng.uniform(0, kill_at - start)
            disturbed = False
            first = self.next_card
            for gap in gaps:
                if not disturbed and time.monotonic() >= disturb_at:
                    self.disturb(since=first)
                    disturbed = True
                if time.monotonic() >= kill_at:
                    break
                self.scanner.write(cccd(self.next_card).encode() + b"\r\n")
                self.next_card += 1
                time.sleep(gap)
            if not disturbed:
                time.sleep(max(0.0, disturb_at - time.monotonic()))
                self.disturb(since=first)
            if self.scenario in AFTER_A_GREEN and self.next_card > first:
                kiosk.wait_for_green()
            time.sleep(max(0.0, kill_at - time.monotonic()))

    def disturb(self, since: int) -> None:
        """The scenario's fault, at a random instant while scans arrive or the sync runs
        (``since``: the first card of this run)."""
        if self.scenario == "disk" and self.mount is not None:
            mode: Mode = self.rng.choice(["full", "readonly"])
            self.mount.set_mode(mode)
            self.thrown[f"disk turned {mode}"] += 1
        elif self.scenario == "clock":
            offset = float(self.clock_file.read_text()) if self.clock_file.exists() else 0.0
            jump = self.rng.choice(CLOCK_JUMPS_S)
            self.clock_file.write_text(str(offset + jump))
            self.thrown[f"clock jumps of {jump:+.0f} s"] += 1
            if self.next_card > since:  # the card just read, again: within the repeat window, whatever the clock says
                self.scanner.write(cccd(self.next_card - 1).encode() + b"\r\n")
                self.thrown["cards scanned again just after a jump (must be amber, not a second visit)"] += 1
        elif self.scenario == "server" and self.proxy is not None:
            if self.rng.random() < 0.5:
                self.server.kill()
                self._meanwhile(self.server.start)  # scans keep arriving while it comes back
                self.thrown["server SIGKILLs"] += 1
            else:  # the server commits, the kiosk never hears: it must send again and get "duplicate"
                self.proxy.lose_answers(self.rng.randint(1, 3))
                self.thrown["answers lost after the server committed"] += 1
        elif self.scenario == "postgres" and self.private_pg is not None:
            self._meanwhile(self.private_pg.crash_restart)
            self.thrown["PostgreSQL crash-restarts"] += 1

    def _meanwhile(self, work: Callable[[], None]) -> None:
        self.restarting = threading.Thread(target=work)
        self.restarting.start()

    def recover(self) -> None:
        """After the kiosk died: the server is back, the power comes back (a remount with the
        disk working again)."""
        if self.restarting is not None:
            self.restarting.join()
            self.restarting = None
        if self.mount is not None:
            self.mount.set_mode("ok")
            self.mount.reboot()

    def server_cards(self) -> dict[str, list[str]]:
        """The server's visit ids by ID number (this subject's cards are its own)."""
        with self.server.engine.connect() as conn:
            rows = conn.execute(sa.select(server_visits.c.id_number, server_visits.c.id))
            by_card: dict[str, list[str]] = defaultdict(list)
            for card, visit_id in rows:
                by_card[card].append(str(visit_id))
        return by_card

    def damage(self) -> None:
        """Everything acknowledged so far is on the server; the kiosk's file is then lost or broken."""
        db = self.kiosk.data_dir / DB_NAME
        how = self.rng.choice(DAMAGES)
        if how == "deleted":
            for side in ("", "-wal", "-shm"):
                db.with_name(db.name + side).unlink(missing_ok=True)
        elif how == "overwritten":
            with db.open("r+b") as fh:
                fh.seek(self.rng.randrange(max(1, db.stat().st_size // PAGE)) * PAGE)
                fh.write(self.rng.randbytes(PAGE))
        else:
            os.truncate(db, self.rng.randrange(db.stat().st_size))
        self.delivered |= set(self.acknowledged)
        self.thrown[f"databases {how}"] += 1

    def stored(self) -> tuple[bool, dict[str, list[str]]]:
        """Whether the store passes ``integrity_check``; its visit ids by ID number."""
        db = self.kiosk.data_dir / DB_NAME
        if not db.exists():
            return True, {}
        by_card: dict[str, list[str]] = defaultdict(list)
        try:
            with closing(sqlite3.connect(db)) as conn:
                ok = conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                for visit_id, sealed, key_id, clear in conn.execute("SELECT id, sealed, key_id, clear FROM visits"):
                    by_card[self._whole_fields(visit_id, sealed, key_id, clear).get("id_number", "")].append(visit_id)
        except sqlite3.DatabaseError:
            return False, by_card
        return ok, by_card

    def _whole_fields(self, visit_id: str, sealed: bytes | None, key_id: str | None, clear: str | None) -> dict[str, Any]:
        """A visit's whole fields: the kiosk keeps them sealed to the district key (kiosk/seal.py),
        which only the server can open; the campaign holds the server's keyring, so it opens
        them as ingest would. A visit recorded before the key came keeps them in ``clear``."""
        if clear is not None:
            return dict(json.loads(clear)["fields"])
        if sealed is None or key_id is None:
            return {}
        return dict(open_sealed(self.server.keyring.opening_key(key_id), visit_id, sealed)["fields"])

    def final_sync(self) -> str:
        """``checkpoint-kiosk sync`` until nothing is pending; its last output if it never gets there."""
        if self.proxy is not None:
            self.proxy.set_faults(0.0, 0)  # the network is good again
        done = None
        for _ in range(5):
            done = subprocess.run(self.argv("sync"), capture_output=True, text=True, timeout=600, check=False)
            if done.returncode == 0:
                return ""
        assert done is not None
        return done.stdout[-1000:] + done.stderr[-1000:]

    def close(self) -> None:
        self.zygote.close()
        self.scanner.close()
        if self.proxy is not None:
            self.proxy.close()
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
    on_server_by_card = subject.server_cards() if subject.delivered else {}
    for card in subject.acknowledged:
        ids = by_card.get(id_number(card), [])
        if not ids and card in subject.delivered:
            ids = on_server_by_card.get(id_number(card), [])  # the kiosk's copy went with its database
        if len(ids) == 1 and (not on_server or held[ids[0]] == 1):
            row.found += 1
        elif not ids or (on_server and held[ids[0]] == 0):
            row.lost += 1


def run_scenario(scenario: ScenarioName, trials: int, workdir: Path, server: Server, seed: int) -> Row:
    row = Row(scenario)
    rng = random.Random(f"{seed}-{scenario}")
    started = time.monotonic()
    with ExitStack() as stack:
        private_pg = None
        if scenario == "postgres":
            private_pg = PrivatePostgres()
            stack.callback(private_pg.close)
            server = stack.enter_context(district_server(workdir / scenario, private_pg.url))
        subject = Subject(scenario, workdir / scenario, server, rng)
        subject.private_pg = private_pg
        stack.callback(subject.close)
        for _ in range(trials):
            row.corrupt += not subject.trial()
            row.trials += 1
        if subject.proxy is not None:
            subject.thrown.update({f"proxy faults ({fault})": n for fault, n in subject.proxy.faults.items()})
        subject.thrown["databases quarantined"] = len(quarantined_databases(subject.kiosk.data_dir))
        row.notes += [f"{n} {what}" for what, n in sorted(subject.thrown.items()) if n]
        if scenario == "power-unsafe":
            count(row, subject, on_server=False)  # what the cuts took is gone before any sync
        else:
            if failure := subject.final_sync():
                row.notes.append(f"final sync failed: {failure}")
            count(row, subject, on_server=True)
    row.wall_s = time.monotonic() - started
    return row


def run_crowd(kiosks: int, backlog: int, workdir: Path, server: Server, seed: int) -> Row:
    """``kiosks`` kiosks deliver at once, the first a ``backlog`` of visits, the others a few
    each; a random third of the ``checkpoint-kiosk sync`` processes is SIGKILLed mid-upload,
    then every kiosk syncs again until nothing is pending. Acknowledged here is every visit
    the real scan service answered ``accepted`` for (recorded in-process: the scan path of
    each is the same one the other scenarios drive through a reader)."""
    row = Row("crowd")
    rng = random.Random(f"{seed}-crowd")
    started = time.monotonic()
    subjects = [Kiosk(workdir / "crowd" / f"k{i:02d}", server.url) for i in range(kiosks)]
    acknowledged: list[tuple[Kiosk, list[str]]] = []
    for i, kiosk in enumerate(subjects):
        kiosk.enroll(server)
        acknowledged.append((kiosk, kiosk.record(backlog if i == 0 else rng.randint(1, 40))))
    argv = [[sys.executable, "-m", "faults.kiosk_under_test", "--config", str(k.config_file), "sync"] for k in subjects]
    syncs = [subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for a in argv]
    row.trials = len(syncs)
    for victim in rng.sample(syncs, len(syncs) // 3):
        time.sleep(rng.uniform(0, 0.5))
        victim.send_signal(signal.SIGKILL)
    killed = sum(p.wait() == -signal.SIGKILL for p in syncs)
    row.notes.append(f"{killed} sync processes SIGKILLed mid-upload; backlog of the first kiosk: {backlog} visits")
    for a in argv:
        for _ in range(5):
            if subprocess.run(a, capture_output=True, timeout=1800, check=False).returncode == 0:
                break
        else:
            row.notes.append(f"final sync failed: {a[4]}")
    held = server.visit_ids()
    row.doubled = sum(times - 1 for times in held.values() if times > 1)
    for kiosk, ids in acknowledged:
        with closing(sqlite3.connect(kiosk.data_dir / DB_NAME)) as conn:
            row.corrupt += conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
            local = Counter(visit_id for (visit_id,) in conn.execute("SELECT id FROM visits"))
        row.acknowledged += len(ids)
        row.found += sum(local[i] == 1 and held[i] == 1 for i in ids)
        row.lost += sum(local[i] == 0 or held[i] == 0 for i in ids)
    row.wall_s = time.monotonic() - started
    return row


@contextmanager
def district_server(workdir: Path, db_url: str | None = None) -> Iterator[Server]:
    server = Server(workdir / "server", db_url=db_url)
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
