"""``backup --to DIR`` and ``restore FILE`` through the real CLI, on real files.

A backup taken while another process keeps recording, to a missing, read-only and full
folder (a real tmpfs, tests/tmpfs.py); restores refused for every reason the command
gives (and nothing changed), and Vietnamese names exactly as scanned after the round trip.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.backup import ASIDE_MARK
from kiosk.messages import render
from kiosk.store import DB_NAME, MIGRATIONS, SCHEMA_VERSION, VisitStore
from tests.conftest import CLI, CliResult, kept, run_cli
from tests.test_durability import WRITER
from tests.tmpfs import Tmpfs, kiosk_argv
from tests.waiting import wait_for

NAME = "Nguyễn Thị Ánh Tuyết"
ADDRESS = "Xã Đăk Nhau, Huyện Đăk Glong, Tỉnh Đắk Nông"
EXIT_REFUSED, EXIT_USAGE, EXIT_STORAGE = 1, 2, 3


def cccd(n: int, name: str = NAME) -> str:
    return f"{79_190_000_000 + n:012d}||{name}|12031990|Nữ|{ADDRESS}|01072021"


def record(data_dir: Path, n: int, name: str = NAME) -> str:
    result = run_cli("record", cccd(n, name), data_dir=data_dir)
    assert result.code == 0, result
    return result.json()["visit_id"]


def rows(db: Path) -> list[tuple]:
    """Every visit as stored (id, what it keeps for the district, masked fields, sync state), in
    local order; the file must be sound."""
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return conn.execute("SELECT seq, id, clear, fields, sync_state FROM visits ORDER BY seq").fetchall()


def device_id(data_dir: Path) -> str:
    return run_cli("status", "--json", data_dir=data_dir).json()["device_id"]


def said(result: CliResult, code: str, **params: object) -> None:
    """The sentence in Vietnamese then English on stderr, and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert render(code, "vi", **params) in result.stderr, result.stderr
    assert render(code, "en", **params) in result.stderr, result.stderr


def backup(data_dir: Path, target: Path) -> Path:
    result = run_cli("backup", "--to", str(target), "--json", data_dir=data_dir)
    assert result.code == 0, result
    return Path(result.json()["file"])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    stick = tmp_path / "usb"
    stick.mkdir()
    return stick


# --- backup ------------------------------------------------------------------------------


def test_backup_is_a_checked_self_contained_copy_named_for_its_kiosk(data_dir: Path, usb: Path) -> None:
    ids = [record(data_dir, n) for n in range(3)]
    result = run_cli("--set", "checkpoint.code=DNO-DG-01", "backup", "--to", str(usb), "--json", data_dir=data_dir)
    assert result.code == 0, result
    answer = result.json()
    path = Path(answer["file"])
    assert re.fullmatch(rf"kiosk-DNO-DG-01-{device_id(data_dir)[:8]}-\d{{8}}T\d{{6}}Z\.sqlite3", path.name)
    assert (answer["visits"], answer["pending"], answer["bytes"]) == (3, 3, path.stat().st_size)
    assert os.listdir(usb) == [path.name]  # no temporary file, no -wal or -journal beside it
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [row[1] for row in rows(path)] == ids
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_backup_text_output_says_where_and_what(data_dir: Path, usb: Path) -> None:
    record(data_dir, 0)
    result = run_cli("backup", "--to", str(usb), data_dir=data_dir)
    assert result.code == 0, result
    (name,) = os.listdir(usb)
    assert f"Đã sao lưu (backup written): {usb / name}" in result.stdout
    assert "Lượt (visits): 1 · Chờ gửi (pending): 1" in result.stdout


def test_backup_leaves_the_enrolment_token_out(data_dir: Path, usb: Path) -> None:
    record(data_dir, 0)
    (data_dir / "enrolment.json").write_text('{"token": "secret-device-token"}')
    path = backup(data_dir, usb)
    assert b"secret-device-token" not in path.read_bytes()
    assert os.listdir(usb) == [path.name]


def test_backup_while_another_process_records_is_a_consistent_prefix(data_dir: Path, usb: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), "0", NAME], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    printed: list[str] = []
    drain = threading.Thread(target=lambda: printed.extend(line.strip() for line in writer.stdout), daemon=True)
    drain.start()  # the writer never waits on a full pipe
    try:
        wait_for(lambda: len(printed) >= 20, "the writer to record")
        copies = []
        for n in range(3):
            (usb / str(n)).mkdir()
            copies.append(backup(data_dir, usb / str(n)))
            seen = len(printed)
            wait_for(lambda seen=seen: len(printed) > seen, "the writer to record more")  # between backups too
        assert writer.poll() is None, "the writer stopped before the backups ended"
    finally:
        writer.kill()
        writer.wait()
        drain.join()
        writer.stdout.close()
    live = rows(data_dir / DB_NAME)
    sizes = []
    for copy in copies:
        copied = rows(copy)
        assert copied == live[: len(copied)]  # every visit up to some moment, in order, nothing after
        assert [row[0] for row in copied] == list(range(1, len(copied) + 1))
        sizes.append(len(copied))
    assert sizes == sorted(sizes) and sizes[0] >= 20 and sizes[-1] < len(live)
    assert set(printed) <= {row[1] for row in live}


def test_backup_to_a_missing_folder_says_so(data_dir: Path, tmp_path: Path) -> None:
    record(data_dir, 0)
    result = run_cli("backup", "--to", str(tmp_path / "usb"), data_dir=data_dir)
    assert result.code == EXIT_USAGE
    said(result, "backup_no_folder", directory=tmp_path / "usb")


def test_backup_to_a_read_only_stick_says_so(data_dir: Path, tmpfs: Tmpfs) -> None:
    record(data_dir, 0)
    tmpfs.remount_read_only()
    result = tmpfs.run(*kiosk_argv(data_dir, "backup", "--to", str(tmpfs.mountpoint)))
    assert result.code == EXIT_STORAGE
    said(result, "backup_readonly", directory=tmpfs.mountpoint)
    assert tmpfs.run("ls", "-A", str(tmpfs.mountpoint)).stdout == ""


def test_backup_to_a_full_stick_says_so_and_leaves_nothing(data_dir: Path, tmpfs: Tmpfs) -> None:
    store_path = data_dir / DB_NAME
    with VisitStore(store_path) as store:  # about 1 MiB of visits: more than the stick holds
        store.write_meta({f"filler.{n}": "x" * 1000 for n in range(1000)})
    record(data_dir, 0)
    result = tmpfs.run(*kiosk_argv(data_dir, "backup", "--to", str(tmpfs.mountpoint)))
    assert result.code == EXIT_STORAGE, result
    size = f"{store_path.stat().st_size / 2**20:.1f} MiB"
    said(result, "backup_full", directory=tmpfs.mountpoint, size=size)
    assert tmpfs.run("ls", "-A", str(tmpfs.mountpoint)).stdout == ""
    assert len(rows(store_path)) == 1  # the kiosk's own data untouched


# --- restore -----------------------------------------------------------------------------


def test_restore_round_trip_keeps_vietnamese_names_exactly_and_the_current_data_aside(
    data_dir: Path, usb: Path, tmp_path: Path
) -> None:
    names = [NAME, "Lê Văn Thưởng", "Điểu Thị Hằng", "Đặng Quốc Việt"]
    for n, name in enumerate(names):
        record(data_dir, n, name)
    before = rows(data_dir / DB_NAME)
    copy = backup(data_dir, usb)

    other = tmp_path / "new-pi"  # an SD card that died: a fresh kiosk gets the backup
    record(other, 99, "Bùi Hữu Lộc")
    result = run_cli("restore", str(copy), "--force", "--json", data_dir=other)
    assert result.code == 0, result
    answer = result.json()
    assert (answer["visits"], answer["pending"], answer["pending_only_in_kept_aside"]) == (4, 4, 1)
    assert rows(other / DB_NAME) == before  # byte for byte: ids, fields, raw scans
    with VisitStore.in_dir(other) as store:  # no district key in these kiosks: kept for sealing, exactly
        assert sorted(kept(store, v["id"])["fields"]["name"] for v in store.visits(limit=None)) == sorted(names)
        assert {kept(store, v["id"])["fields"]["address"] for v in store.visits(limit=None)} == {ADDRESS}
    aside = Path(answer["kept_aside"])
    assert aside.parent == other and aside.name.startswith(DB_NAME + ASIDE_MARK)
    assert [json.loads(row[2])["fields"]["name"] for row in rows(aside)] == ["Bùi Hữu Lộc"]
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert device_id(other) == device_id(data_dir)  # the restored database's device id
    assert record(other, 100)  # and it records on


def test_restore_text_output(data_dir: Path, usb: Path) -> None:
    record(data_dir, 0)
    copy = backup(data_dir, usb)
    result = run_cli("restore", str(copy), data_dir=data_dir)
    assert result.code == 0, result
    assert f"Đã khôi phục từ (restored from): {copy}" in result.stdout
    assert "Dữ liệu trước đó được giữ tại (previous data kept at):" in result.stdout
    assert "Lượt (visits): 1 · Chờ gửi (pending): 1" in result.stdout


def test_restore_refuses_to_lose_pending_visits_unless_forced(data_dir: Path, usb: Path) -> None:
    record(data_dir, 0)
    copy = backup(data_dir, usb)
    later = [record(data_dir, n) for n in (1, 2)]
    before = rows(data_dir / DB_NAME)
    refused = run_cli("restore", str(copy), data_dir=data_dir)
    assert refused.code == EXIT_REFUSED
    said(refused, "restore_pending", count=2)
    assert rows(data_dir / DB_NAME) == before
    assert not list(data_dir.glob(f"*{ASIDE_MARK}*"))

    forced = run_cli("restore", str(copy), "--force", "--json", data_dir=data_dir)
    assert forced.code == 0, forced
    assert forced.json()["pending_only_in_kept_aside"] == 2
    assert [row[1] for row in rows(Path(forced.json()["kept_aside"]))][-2:] == later


def test_restore_counts_a_visit_sent_since_the_backup_as_still_there(data_dir: Path, usb: Path) -> None:
    """Pending in the backup, delivered since: nothing is lost, it is only sent again (the server dedupes)."""
    visit = record(data_dir, 0)
    copy = backup(data_dir, usb)
    with closing(sqlite3.connect(data_dir / DB_NAME)) as conn, conn:
        conn.execute("UPDATE visits SET sync_state = 'synced' WHERE id = ?", [visit])
    result = run_cli("restore", str(copy), "--json", data_dir=data_dir)
    assert (result.code, result.json()["pending"]) == (0, 1), result


def sqlite_file(path: Path, *statements: str) -> Path:
    with closing(sqlite3.connect(path)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    return path


@pytest.mark.parametrize("make", ["text", "empty", "other-sqlite", "no-meta-row"])
def test_restore_refuses_a_file_that_is_not_a_kiosk_database(data_dir: Path, tmp_path: Path, make: str) -> None:
    record(data_dir, 0)
    before = rows(data_dir / DB_NAME)
    path = tmp_path / f"{make}.sqlite3"
    if make == "text":
        path.write_text("Họ tên,SĐT\nNguyễn Văn An,0912345678\n")
    elif make == "empty":
        path.touch()
    elif make == "other-sqlite":
        sqlite_file(path, "CREATE TABLE contacts (name TEXT)", "PRAGMA user_version = 1")
    else:
        sqlite_file(path, "CREATE TABLE meta (key TEXT, value TEXT)", "CREATE TABLE visits (id TEXT)", "PRAGMA user_version = 2")
    result = run_cli("restore", str(path), data_dir=data_dir)
    assert result.code == EXIT_REFUSED
    said(result, "restore_not_kiosk", file=path)
    assert rows(data_dir / DB_NAME) == before
    assert not list(data_dir.glob(f"*{ASIDE_MARK}*"))


def test_restore_refuses_a_backup_from_newer_software(data_dir: Path, usb: Path) -> None:
    record(data_dir, 0)
    copy = backup(data_dir, usb)
    sqlite_file(copy, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    result = run_cli("restore", str(copy), data_dir=data_dir)
    assert result.code == EXIT_REFUSED
    said(result, "restore_newer", file=copy, version=SCHEMA_VERSION + 1, supported=SCHEMA_VERSION)


def test_restore_refuses_a_damaged_backup(data_dir: Path, usb: Path) -> None:
    for n in range(40):
        record(data_dir, n)
    copy = backup(data_dir, usb)
    data = bytearray(copy.read_bytes())
    page = 4096
    data[-2 * page : -page] = os.urandom(page)  # a page of visits overwritten
    copy.write_bytes(bytes(data))
    before = rows(data_dir / DB_NAME)
    result = run_cli("restore", str(copy), data_dir=data_dir)
    assert result.code == EXIT_REFUSED
    said(result, "restore_damaged", file=copy)
    assert rows(data_dir / DB_NAME) == before


def test_restore_migrates_a_backup_of_an_older_schema(data_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "v1.sqlite3"
    db = sqlite_utils.Database(old)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db["visits"].insert(
        {
            "id": "3f0e2a3c-0000-4000-8000-000000000001",
            "checkpoint_code": "OLD-01",
            "device_id": "old-device",
            "direction": "in",
            "source": "serial",
            "reader": None,
            "kind": "cccd",
            "credential_key": "cccd:1",
            "fields": json.dumps(
                {"id_number": "079190000001", "name": NAME, "date_of_birth": "1990-03-12", "sex": "Nữ"}, ensure_ascii=False
            ),
            "raw": None,
            "scanned_at": "2026-01-02T03:04:05.000000+00:00",
            "monotonic_ns": 1,
            "boot_id": "b",
            "clock_synchronised": 1,
            "operator": None,
        }
    )
    db.close()
    result = run_cli("restore", str(old), "--json", data_dir=data_dir)
    assert (result.code, result.json()["pending"]) == (0, 1), result
    with VisitStore.in_dir(data_dir) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert kept(store, store.visits()[0]["id"])["fields"]["name"] == NAME


def test_run_and_restore_exclude_each_other(data_dir: Path, usb: Path) -> None:
    record(data_dir, 0)
    copy = backup(data_dir, usb)
    kiosk = subprocess.Popen(
        kiosk_argv(data_dir, "run", "--terminal"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert kiosk.stdin is not None and kiosk.stdout is not None
    try:
        assert "Sẵn sàng" in kiosk.stdout.readline() + kiosk.stdout.readline()
        restore = run_cli("restore", str(copy), data_dir=data_dir)
        assert restore.code == EXIT_REFUSED
        said(restore, "kiosk_running", data_dir=data_dir.resolve(), pid=kiosk.pid)
        second = run_cli("run", "--terminal", data_dir=data_dir, stdin=b"")
        assert second.code == 1
        said(second, "kiosk_running", data_dir=data_dir.resolve(), pid=kiosk.pid)
        kiosk.stdin.write(":q\n")
        kiosk.stdin.close()
        assert kiosk.wait(timeout=60) == 0
    finally:
        kiosk.kill()
        kiosk.wait()
    assert not list(data_dir.glob(f"*{ASIDE_MARK}*"))
    assert run_cli("restore", str(copy), data_dir=data_dir).code == 0  # the kiosk stopped: now it may


HOLDER = """
import sys, time
from kiosk.store import VisitStore
store = VisitStore.in_dir(sys.argv[1])
print("open", flush=True)
time.sleep(600)
"""


def test_restore_refuses_while_another_program_has_the_database_open(data_dir: Path, usb: Path) -> None:
    record(data_dir, 0)
    copy = backup(data_dir, usb)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(data_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline() == "open\n"
        result = run_cli("restore", str(copy), data_dir=data_dir)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert result.code == EXIT_REFUSED
    said(result, "restore_in_use")
    assert not list(data_dir.glob(f"*{ASIDE_MARK}*"))


def test_restore_of_a_missing_file_is_a_usage_error(data_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [CLI, "--set", f"storage.data_dir={data_dir}", "restore", str(tmp_path / "nope.sqlite3")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_USAGE and "Traceback" not in result.stderr
