"""Durability end to end: the real CLI on a full disk and a read-only disk, after a crash, and racing itself.

Full and read-only disks are real: a small tmpfs mounted in a private user+mount namespace
(``unshare -rm``, tests/tmpfs.py), so nothing outside the test sees it and no root is needed.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from kiosk.messages import render
from kiosk.store import DB_NAME, VisitStore
from tests.conftest import CliResult, run_cli
from tests.tmpfs import Tmpfs, completed, kiosk_argv

NAME = "Nguyễn Thị Ánh Tuyết"
ADDRESS = "Xã Đăk Nhau, Huyện Đăk Glong, Tỉnh Đắk Nông"
EXIT_STORAGE = 3
# Room for the 32 KiB -shm file, one visit's WAL frames and a few more rows in an existing
# store (about nine visits), so the disk fills up while recording.
ROOM_FOR_A_FEW_VISITS = 72 * 1024


def cccd(n: int) -> str:
    """The ID card QR of person ``n``: a distinct 12-digit ID, the same Vietnamese name and address."""
    return f"{79_190_000_000 + n:012d}||{NAME}|12031990|Nữ|{ADDRESS}|01072021"


def accepted_id(result: CliResult) -> str:
    assert (result.code, result.json()["status"]) == (0, "accepted"), result
    return result.json()["visit_id"]


def assert_refused(result: CliResult, code: str) -> None:
    """Exit 3, the admin's sentence in Vietnamese, and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code == EXIT_STORAGE and result.stdout, result
    answer = result.json()
    assert (answer["status"], answer["reason_code"], answer["reason"]) == ("rejected", code, render(code, "vi"))


def listed_ids(result: CliResult) -> set[str]:
    assert result.code == 0, result
    return {row["id"] for row in result.json()}


def check_file(db: Path) -> set[str]:
    """``PRAGMA integrity_check`` must pass; the visit ids in the file."""
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {row[0] for row in conn.execute("SELECT id FROM visits")}


# --- a full disk ---------------------------------------------------------------------------


def test_disk_filling_up_refuses_the_next_visit_and_keeps_every_accepted_one(tmpfs: Tmpfs, tmp_path: Path) -> None:
    assert tmpfs.kiosk("status", "--json").code == 0  # creates the store
    tmpfs.fill(leave=ROOM_FOR_A_FEW_VISITS)
    accepted: list[str] = []
    for n in range(50):
        result = tmpfs.kiosk("record", cccd(n))
        if result.code != 0:
            break
        accepted.append(accepted_id(result))
    else:
        pytest.fail("50 visits fitted in the space left: the disk never filled up")
    assert accepted, "not even the first visit fitted: the test left too little room"
    assert_refused(result, "storage_full")

    status = tmpfs.kiosk("status", "--json")  # reading still works on the full disk
    assert (status.code, status.json()["pending"]) == (0, len(accepted))
    assert check_file(tmpfs.copy_store_out(tmp_path / "copy")) == set(accepted)


def test_full_disk_before_the_scan_still_shows_status_and_visits(tmpfs: Tmpfs) -> None:
    """Not even the -shm file can be sized now; SQLite says only "disk I/O error"."""
    accepted = {accepted_id(tmpfs.kiosk("record", cccd(n))) for n in range(2)}
    tmpfs.fill()
    assert_refused(tmpfs.kiosk("record", cccd(2)), "storage_full")
    status = tmpfs.kiosk("status", "--json")
    assert (status.code, status.json()["pending"]) == (0, 2)
    assert listed_ids(tmpfs.kiosk("visits", "--json")) == accepted


def test_running_kiosk_records_again_once_space_is_freed(tmpfs: Tmpfs) -> None:
    first = accepted_id(tmpfs.kiosk("record", cccd(0)))
    tmpfs.fill()
    kiosk = subprocess.Popen(
        tmpfs.argv(*kiosk_argv(tmpfs.data_dir, "run", "--terminal")),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert kiosk.stdin is not None and kiosk.stdout is not None

    def scan(text: str) -> str:
        kiosk.stdin.write(text + "\n")
        kiosk.stdin.flush()
        return kiosk.stdout.readline()

    try:
        assert "Sẵn sàng" in kiosk.stdout.readline() + kiosk.stdout.readline()
        assert render("storage_full", "vi") in scan(cccd(1))
        assert tmpfs.run("rm", str(tmpfs.filler)).code == 0  # the admin frees space
        assert "GHI NHẬN" in scan(cccd(1))
        kiosk.stdin.write(":q\n")
        kiosk.stdin.close()
        assert kiosk.wait(timeout=60) == 0
    finally:
        kiosk.kill()
        kiosk.wait()
    assert "Traceback" not in kiosk.stderr.read()
    visits = tmpfs.kiosk("visits", "--json", "--full")
    assert first in listed_ids(visits)
    assert sorted(row["summary"][-10:] for row in visits.json()) == [f"ID ***{cccd(n)[8:12]}" for n in (0, 1)]


# --- a read-only disk ----------------------------------------------------------------------


def test_read_only_disk_refuses_clearly_and_still_lists_visits(tmpfs: Tmpfs) -> None:
    accepted = {accepted_id(tmpfs.kiosk("record", cccd(n))) for n in range(3)}
    tmpfs.remount_read_only()
    assert_refused(tmpfs.kiosk("record", cccd(3)), "storage_readonly")
    assert_refused(tmpfs.kiosk("manual", "--phone", "0912345678", "--name", NAME), "storage_readonly")
    assert listed_ids(tmpfs.kiosk("visits", "--json")) == accepted
    status = tmpfs.kiosk("status", "--json")
    assert (status.code, status.json()["pending"]) == (0, 3)


# --- a process killed mid-write ------------------------------------------------------------

WRITER = """
import sys
from kiosk.config import Config
from kiosk.scan import ScanService
from kiosk.store import DB_NAME, VisitStore

config = Config.model_validate({"storage": {"data_dir": sys.argv[1]}})
service = ScanService(config, VisitStore.in_dir(config.data_dir))
for n in range(int(sys.argv[2]), 10**9):
    result = service.manual(f"09{n:08d}", name=sys.argv[3])
    assert result.accepted, result
    print(result.visit_id, flush=True)
"""


def test_visits_survive_a_kill_mid_stream(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    printed: list[str] = []
    for crash in range(3):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data_dir), str(crash * 10**6), NAME], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        printed += [writer.stdout.readline().strip() for _ in range(25)]
        writer.send_signal(signal.SIGKILL)  # while it keeps recording
        printed += writer.stdout.read().split()  # what it printed before it died
        writer.stdout.close()
        assert writer.wait() == -signal.SIGKILL

        with VisitStore.in_dir(data_dir) as store:
            stored = {row["id"] for row in store.visits(limit=None)}
            assert set(printed) <= stored
            assert len(stored) - len(printed) <= crash + 1  # committed, killed before the print
            assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    next_visit = run_cli("manual", "--phone", "0987654321", "--name", NAME, data_dir=data_dir)
    assert check_file(data_dir / DB_NAME) >= set(printed) | {accepted_id(next_visit)}


# --- two processes at once -----------------------------------------------------------------


def test_two_processes_scanning_the_same_card_store_one_visit(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"  # the first round also races to create the store
    rounds = 5
    for n in range(rounds):
        racers = [
            subprocess.Popen(kiosk_argv(data_dir, "record", cccd(n)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        answers = [completed(racer).json() for racer in racers]
        assert sorted(a["status"] for a in answers) == ["accepted", "repeat"], answers
        assert answers[0]["visit_id"] == answers[1]["visit_id"]
    with VisitStore.in_dir(data_dir) as store:
        assert store.count("pending") == rounds
