"""A damaged visit database at start-up: moved aside (never deleted), a fresh one started, said loudly.

The damage is real: databases written by the store, then truncated, overwritten with
garbage, or with random bytes over some of their pages, as a failing SD card does.
"""

from __future__ import annotations

import hashlib
import random
import re
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from kiosk.config import Config
from kiosk.messages import render, render_both
from kiosk.scan import ScanService
from kiosk.store import DB_NAME, RECOVERED_COLUMNS, VisitStore, quarantined_databases
from tests.conftest import run_cli
from tests.ptyscanner import PtyScanner
from tests.tmpfs import Tmpfs, kiosk_argv

NAME = "Nguyễn Thị Ánh Tuyết"
PAGE = 4096
KEPT = re.compile(rf"{re.escape(DB_NAME)}\.corrupt-\d{{8}}T\d{{6}}Z")


def filled_store(data_dir: Path, visits: int = 300) -> str:
    """A real store of ``visits`` manual visits, closed (its WAL folded in); its device id."""
    config = Config.model_validate({"storage": {"data_dir": str(data_dir)}})
    with VisitStore.in_dir(data_dir) as store:
        service = ScanService(config, store)
        for n in range(visits):
            assert service.manual(f"0912{n:06d}", name=NAME).accepted
        return store.device_id


def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    rnd = random.Random(how)
    if how == "truncated":
        data = data[: len(data) // 3 + 123]
    elif how == "garbage":
        data = bytearray(rnd.randbytes(len(data)))
    else:  # random bytes over three pages of visits, past the schema and meta pages
        for page in rnd.sample(range(5, len(data) // PAGE), 3):
            data[page * PAGE : (page + 1) * PAGE] = rnd.randbytes(PAGE)
    path.write_bytes(bytes(data))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("how", ["truncated", "garbage", "overwritten-pages"])
def test_damaged_database_is_moved_aside_and_a_fresh_one_started(tmp_path: Path, how: str) -> None:
    data_dir = tmp_path / "data"
    old_device = filled_store(data_dir)
    db = data_dir / DB_NAME
    damage(db, how)
    damaged = digest(db)

    status = run_cli("status", "--json", data_dir=data_dir)
    assert status.code == 0, status
    (kept,) = quarantined_databases(data_dir)
    assert KEPT.fullmatch(kept.name)
    assert digest(kept) == damaged  # moved, byte for byte, never rewritten
    assert render_both("database_quarantined", path=kept) in status.stderr  # loud, in both languages
    assert "Traceback" not in status.stderr
    answer = status.json()
    assert (answer["pending"], answer["quarantined"]) == (0, [str(kept)])
    if how == "overwritten-pages":
        assert answer["device_id"] == old_device  # the meta page was still readable
    if how == "garbage":
        assert answer["device_id"] != old_device  # nothing readable: a new one

    recorded = run_cli("manual", "--phone", "0987654321", "--name", NAME, data_dir=data_dir)
    assert (recorded.code, recorded.json()["status"]) == (0, "accepted")
    again = run_cli("status", "--json", data_dir=data_dir)
    assert (again.stderr, again.json()["pending"]) == ("", 1)  # said once, when it happened
    assert "Cơ sở dữ liệu hỏng được giữ tại (damaged database kept at)" in run_cli("status", data_dir=data_dir).stdout


def test_a_damaged_database_keeps_its_wal_beside_it(tmp_path: Path) -> None:
    """Killed while open: the WAL holds the latest visits, and goes aside with the file it belongs to."""
    data_dir = tmp_path / "data"
    filled_store(data_dir, 50)
    script = (
        "import sys, os\nfrom kiosk.store import VisitStore\ns = VisitStore.in_dir(sys.argv[1])\n"
        "s.write_meta({'late': 'x' * 5000})\nos._exit(0)\n"
    )  # no close: the WAL stays
    subprocess.run([sys.executable, "-c", script, str(data_dir)], check=True, timeout=60)
    wal = data_dir / f"{DB_NAME}-wal"
    assert wal.stat().st_size > 0
    wal_bytes = digest(wal)
    damage(data_dir / DB_NAME, "garbage")

    with VisitStore.in_dir(data_dir) as store:
        assert store.quarantined is not None and store.count("pending") == 0
        kept = store.quarantined
    assert digest(kept.with_name(kept.name + "-wal")) == wal_bytes
    assert quarantined_databases(data_dir) == [kept]  # side files not listed


def test_each_damaged_database_is_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    kept = []
    for _ in range(2):
        filled_store(data_dir, 20)
        damage(data_dir / DB_NAME, "garbage")
        with VisitStore.in_dir(data_dir) as store:
            kept.append(store.quarantined)
    assert quarantined_databases(data_dir) == kept and len(set(kept)) == 2  # even within one second


def test_a_sound_database_is_left_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    device = filled_store(data_dir, 20)
    with VisitStore.in_dir(data_dir) as store:
        assert (store.quarantined, store.device_id, store.count("pending")) == (None, device, 20)
    assert quarantined_databases(data_dir) == []


def test_headless_kiosk_logs_the_damaged_database_at_error_level(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    filled_store(data_dir, 20)
    damage(data_dir / DB_NAME, "garbage")
    scanner = PtyScanner(tmp_path / "scanner0")
    kiosk = subprocess.Popen(
        kiosk_argv(
            data_dir, "--set", "scanners.serial.enabled=true", "--set", f"scanners.serial.port={scanner.link}", "run", "--headless"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert kiosk.stderr is not None
    try:
        lines = []
        while not any(" running: " in line for line in lines):
            line = kiosk.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        kiosk.send_signal(signal.SIGTERM)
        assert kiosk.wait(timeout=60) == 0
    finally:
        kiosk.kill()
        kiosk.wait()
        kiosk.stdout.close()
        kiosk.stderr.close()
        scanner.close()
    (kept,) = quarantined_databases(data_dir)
    errors = [line for line in lines if " ERROR checkpoint_kiosk.store: " in line]
    assert len(errors) == 1 and render_both("database_quarantined", path=kept) in errors[0]


def test_database_damaged_under_a_running_kiosk_is_not_moved_until_it_stops(tmp_path: Path) -> None:
    """Moving the file away from a kiosk still writing to it would send its next visits into the kept copy.

    The kiosk itself stops with the sentence once it trips over the damage (here: its sync
    worker opening the store); systemd restarts it, and that start moves the file aside.
    """
    data_dir = tmp_path / "data"
    filled_store(data_dir, 20)
    kiosk = subprocess.Popen(
        kiosk_argv(data_dir, "run", "--terminal"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert kiosk.stderr is not None
    try:
        # The sync worker's first pass: then every store of the kiosk is open. (Other lines,
        # such as the clock watcher's, may come before it.)
        lines = [kiosk.stderr.readline()]
        while lines[-1] and "checkpoint_kiosk.sync" not in lines[-1]:
            lines.append(kiosk.stderr.readline())
        assert "checkpoint_kiosk.sync" in lines[-1], lines
        damage(data_dir / DB_NAME, "garbage")
        refused = run_cli("status", data_dir=data_dir)
        assert refused.code == 3 and render("storage_corrupt", "vi") in refused.stderr, refused
        assert quarantined_databases(data_dir) == []
    finally:
        kiosk.kill()
        kiosk.wait()
        for stream in (kiosk.stdin, kiosk.stdout, kiosk.stderr):
            stream.close()
    assert run_cli("status", data_dir=data_dir).code == 0  # the kiosk stopped: now it is moved aside
    assert len(quarantined_databases(data_dir)) == 1


def test_damaged_database_on_a_read_only_disk_is_refused_not_moved(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    filled_store(data_dir, 5)
    damage(data_dir / DB_NAME, "garbage")
    fs = Tmpfs(tmp_path / "mnt", "2m")
    try:
        assert fs.run("cp", "-a", str(data_dir), str(fs.data_dir)).code == 0
        fs.remount_read_only()
        result = fs.kiosk("status")
        assert result.code == 3 and "Traceback" not in result.stderr, result
        assert render("storage_readonly", "vi") in result.stderr
        assert fs.run("ls", str(fs.data_dir)).stdout.split() == [DB_NAME]
    finally:
        fs.close()


def test_quarantined_file_still_opens_for_recovery(tmp_path: Path) -> None:
    """Pages overwritten, not the whole file: what is left is readable by SQLite's own tools."""
    data_dir = tmp_path / "data"
    filled_store(data_dir, 300)
    damage(data_dir / DB_NAME, "overwritten-pages")
    with VisitStore.in_dir(data_dir) as store:
        kept = store.quarantined
    assert kept is not None
    with closing(sqlite3.connect(f"{kept.as_uri()}?mode=ro", uri=True)) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()


# --- recover: the unsent visits read back from the kept file ------------------------------


def visit_rows(db: Path, where: str = "1") -> dict[str, tuple]:
    """id → the visit's columns as a scan wrote them, read from a sound file."""
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
        rows = conn.execute(f"SELECT {', '.join(RECOVERED_COLUMNS)} FROM visits WHERE {where}").fetchall()
    return {row[0]: row for row in rows}


def test_recover_reads_the_unsent_visits_back_exactly_and_marks_the_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    filled_store(data_dir, 300)
    db = data_dir / DB_NAME
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE visits SET sync_state = 'synced' WHERE seq <= 100")  # the server has these
    pending = visit_rows(db, "sync_state = 'pending'")
    damage(db, "overwritten-pages")
    with VisitStore.in_dir(data_dir) as store:
        kept = store.quarantined
    assert kept is not None

    result = run_cli("recover", str(kept), "--json", data_dir=data_dir)
    assert result.code == 0, result
    answer = result.json()
    recovered = visit_rows(db)
    assert answer["recovered"] == len(recovered) > 0
    assert all(pending[visit_id] == row for visit_id, row in recovered.items())  # only unsent ones, byte for byte
    assert answer["recovered"] + answer["unreadable"] >= len(pending)  # each one back, or counted as unreadable
    renamed = Path(answer["renamed_to"])
    assert renamed.name == kept.name.replace(".corrupt-", ".recovered-") and renamed.is_file()
    assert quarantined_databases(data_dir) == []  # the banner goes
    status = run_cli("status", "--json", data_dir=data_dir).json()
    assert status["pending"] == len(recovered)

    again = run_cli("recover", str(renamed), "--json", data_dir=data_dir).json()
    assert (again["recovered"], again["already_there"]) == (0, len(recovered))


def test_recover_leaves_out_rows_that_are_not_visits(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    filled_store(data_dir, 3)
    odd = tmp_path / "odd.sqlite3"
    with closing(sqlite3.connect(data_dir / DB_NAME)) as conn:
        conn.execute("VACUUM INTO ?", [str(odd)])
    with closing(sqlite3.connect(odd)) as conn, conn:
        conn.execute("UPDATE visits SET fields = 'not json' WHERE seq = 1")
        conn.execute("UPDATE visits SET id = 'x' WHERE seq = 2")
    result = run_cli("recover", str(odd), "--json", data_dir=tmp_path / "other")
    assert result.code == 0, result
    assert (result.json()["recovered"], result.json()["unreadable"]) == (1, 2)


def test_recover_refuses_the_live_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    filled_store(data_dir, 3)
    result = run_cli("recover", str(data_dir / DB_NAME), data_dir=data_dir)
    assert result.code == 1 and render("recover_is_live", "vi", file=data_dir / DB_NAME) in result.stderr
