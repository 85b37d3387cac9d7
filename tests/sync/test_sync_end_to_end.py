"""Enrol, record, sync and status through the real kiosk CLI against a real server process."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import sqlite3
import stat
import subprocess
import threading
import uuid
from contextlib import closing
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import sqlalchemy as sa

from kiosk.enrolment import enrolment_path, read_enrolment
from server import enrolment
from server.schema import devices
from tests.inprocess import free_port
from tests.sync.conftest import CHECKPOINT, Kiosk, Server, assert_delivered_exactly_once, cccd

SUMMARY_KEYS = {"sent", "created", "duplicate", "rejected", "pending", "error", "rejected_by_code", "rejected_kept"}
NOTHING_REJECTED = {"rejected_by_code": {}, "rejected_kept": 0}


def test_enrol_record_sync_and_the_counts_match_exactly(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    enrolled = kiosk.cli("enroll", "--qr", server.enroll_qr())
    assert enrolled.code == 0, enrolled.stderr
    assert f"{CHECKPOINT} · Chốt Ngã ba Đăk Nhau" in enrolled.stdout
    assert stat.S_IMODE(enrolment_path(kiosk.data_dir).stat().st_mode) == 0o600
    assert read_enrolment(kiosk.data_dir).token.startswith("dev_")

    by_cli = [kiosk.cli("record", cccd(9000)).json()["visit_id"], kiosk.cli("manual", "--phone", "0912345678").json()["visit_id"]]
    kiosk.record(250)
    synced = kiosk.cli("--set", "server.batch_size=100", "sync")
    assert synced.code == 0, synced.stderr
    assert "252/252" in synced.stderr and "mới 252, trùng 0, bị từ chối 0; còn chờ 0" in synced.stdout
    assert synced.stdout.count("\n") == 1  # progress goes to stderr: stdout is the summary only
    assert_delivered_exactly_once(server, kiosk)
    stored = server.visits()
    card = stored[by_cli[0]]["fields"]
    assert (card["name"], card["address"]) == (cccd(9000).split("|")[2], cccd(9000).split("|")[5])
    assert stored[by_cli[1]]["phone"] == "0912345678"

    again = kiosk.cli("sync", "--json")
    assert (again.code, again.json()) == (
        0,
        {"sent": 0, "created": 0, "duplicate": 0, "rejected": 0, "pending": 0, "error": None, **NOTHING_REJECTED},
    )
    status = kiosk.cli("status", "--json").json()
    assert status["checkpoint"]["code"] == CHECKPOINT and status["pending"] == 0
    assert status["sync"]["server"] == server.url and status["sync"]["enrolled"] is True
    assert status["sync"]["last_success_at"] and status["sync"]["last_error"] is None
    text = kiosk.cli("status").stdout
    assert "đã đăng ký (enrolled)" in text and "Đồng bộ thành công gần nhất (last successful sync): 20" in text


def test_a_terminal_gets_a_progress_bar(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    kiosk.enroll(server)
    kiosk.record(300)
    master, slave = pty.openpty()
    drawn: list[bytes] = []

    def read_terminal() -> None:
        with contextlib.suppress(OSError):  # EIO once the sync has exited and closed the terminal
            while chunk := os.read(master, 4096):
                drawn.append(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    done = subprocess.run(kiosk.argv("--set", "server.batch_size=50", "sync"), stdout=subprocess.PIPE, stderr=slave, timeout=120)
    os.close(slave)
    reader.join(30)
    os.close(master)
    screen = b"".join(drawn).decode("utf-8", "replace")
    assert done.returncode == 0
    assert "Đang gửi (sending)" in screen and "300/300" in screen and "━" in screen
    assert "Đã gửi 300 lượt" in done.stdout.decode() and "Đã gửi (sent)" not in done.stdout.decode()


def test_sync_json_summary_and_exit_code_when_not_enrolled(tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    kiosk.record(2)
    result = kiosk.cli("sync", "--json")
    assert result.code == 1
    assert result.json() == {
        "sent": 0,
        "created": 0,
        "duplicate": 0,
        "rejected": 0,
        "pending": 2,
        "error": "not_enrolled",
        **NOTHING_REJECTED,
    }
    assert set(result.json()) == SUMMARY_KEYS
    assert "chưa đăng ký" in result.stderr and "Traceback" not in result.stderr


def test_enrolment_mistakes_are_one_clear_sentence(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    used = server.enroll_code()
    assert kiosk.cli("enroll", "--server", server.url, "--code", used).code == 0
    other = Kiosk(tmp_path / "other")
    expired = enrolment.create_enroll_code(server.engine, CHECKPOINT, timedelta(seconds=-1), server.url, "test").code
    cases = {
        ("--server", server.url, "--code", "7KQ2-MX4P-9TJD"): (1, "Mã đăng ký không đúng"),
        ("--server", server.url, "--code", used): (1, "đã được dùng"),
        ("--server", server.url, "--code", expired): (1, "đã hết hạn"),
        ("--server", f"http://127.0.0.1:{free_port()}", "--code", server.enroll_code()): (1, "Không kết nối được máy chủ"),
        ("--qr", "https://tokhaiyte.vn/qr/abc"): (2, "không phải mã đăng ký kiosk"),
        ("--server", "ftp://x", "--code", "A"): (2, "Địa chỉ máy chủ không hợp lệ"),
        ("--code", "A"): (2, "Cần địa chỉ máy chủ"),
    }
    for args, (code, words) in cases.items():
        result = other.cli("enroll", *args)
        assert (result.code, words in result.stderr, "Traceback" in result.stderr) == (code, True, False), (args, result)
        assert "(" in result.stderr  # Vietnamese first, English in brackets
    assert read_enrolment(other.data_dir) is None


def _insert_poison(kiosk: Kiosk) -> str:
    """A stored visit no batch can carry (over the server's 1 MiB): corruption the queue must survive."""
    visit_id = str(uuid.uuid4())
    with closing(sqlite3.connect(kiosk.data_dir / "visits.sqlite3")) as conn, conn:
        conn.execute(
            "INSERT INTO visits (id, checkpoint_code, device_id, direction, source, kind, credential_key, fields, clear, "
            "scanned_at, monotonic_ns, boot_id, clock_synchronised) VALUES (?, ?, 'x', 'in', 'cli', 'opaque', ?, '{}', ?, "
            "strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'), 1, 'b', 1)",
            [visit_id, CHECKPOINT, visit_id, json.dumps({"fields": {"text": "x" * 1_200_000, "length": 1_200_000}})],
        )
    return visit_id


def test_rejected_and_poison_visits_are_kept_and_never_block_the_queue(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    before = kiosk.record(3)  # recorded as the demo checkpoint, before enrolment: the server refuses them
    kiosk.enroll(server)
    after = kiosk.record(20, start=100)
    poison = _insert_poison(kiosk)
    later = kiosk.record(5, start=200)
    result = kiosk.cli("--set", "server.batch_size=10", "sync", "--json")
    assert (result.code, result.json()) == (
        4,
        {
            "sent": 29,
            "created": 25,
            "duplicate": 0,
            "rejected": 4,
            "pending": 0,
            "error": None,
            "rejected_by_code": {"wrong_checkpoint": 3, "visit_too_large": 1},
            "rejected_kept": 4,
        },
    ), result.stderr
    assert set(server.visit_ids()) == set(after + later)
    rejected = {v["id"]: v for v in kiosk.cli("visits", "--rejected", "--json").json()}
    assert set(rejected) == {*before, poison}
    assert {rejected[i]["sync_code"] for i in before} == {"wrong_checkpoint"}
    assert "checkpoint" in rejected[before[0]]["sync_reason"]
    assert rejected[poison]["sync_code"] == "visit_too_large" and "quá lớn" in rejected[poison]["sync_reason"]
    quiet = kiosk.cli("sync", "--json")
    assert (quiet.code, quiet.json()["sent"], quiet.json()["rejected_kept"]) == (0, 0, 4)  # never retried blindly
    retried = kiosk.cli("sync", "--json", "--retry-rejected")  # retried when the admin asks
    assert (retried.code, retried.json()["sent"], retried.json()["rejected"]) == (4, 4, 4)
    assert "4" in kiosk.cli("status").stdout.split("Bị từ chối (rejected):")[1]


def _insert_unfit(kiosk: Kiosk) -> str:
    """A stored visit whose fields the server's models refuse (an older kiosk's bug): invalid_visit."""
    visit_id = str(uuid.uuid4())
    with closing(sqlite3.connect(kiosk.data_dir / "visits.sqlite3")) as conn, conn:
        conn.execute(
            "INSERT INTO visits (id, checkpoint_code, device_id, direction, source, kind, credential_key, fields, clear, "
            "scanned_at, monotonic_ns, boot_id, clock_synchronised) VALUES (?, ?, 'x', 'in', 'cli', 'phone', ?, '{}', ?, "
            "strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'), 1, 'b', 1)",
            [visit_id, CHECKPOINT, visit_id, json.dumps({"fields": {"phone": "0912"}})],
        )
    return visit_id


def test_a_sync_with_rejections_says_so_in_one_line_and_exits_4(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    elsewhere = kiosk.record(2)  # recorded as the demo checkpoint before enrolment: wrong_checkpoint
    kiosk.enroll(server)
    unfit = _insert_unfit(kiosk)
    kiosk.record(3, start=100)
    result = kiosk.cli("sync")
    assert result.code == 4, result.stderr
    assert "mới 3, trùng 0, bị từ chối 3; còn chờ 0" in result.stdout
    lines = [line for line in result.stderr.splitlines() if "từ chối" in line]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    line = lines[0]
    assert line.startswith("Máy chủ đã từ chối 3 lượt trong lần đồng bộ này")
    assert "(the server rejected 3 visits in this sync; they have not reached the district)" in line
    # each code with its count and the server's own words, the largest group first
    assert (
        "wrong_checkpoint ×2 — Lượt ghi thuộc điểm kiểm soát khác với thiết bị "
        "(visit belongs to another checkpoint than the device)"
    ) in line
    assert line.index("wrong_checkpoint ×2") < line.index("invalid_visit ×1 — ") and "fields.phone" in line
    assert line.endswith("Xem (see): checkpoint-kiosk visits --rejected")
    assert "0912" not in line  # the server names the field, never its value
    listed = kiosk.cli("visits", "--rejected")
    assert listed.code == 0 and listed.stdout.count("wrong_checkpoint") == 2 and "invalid_visit" in listed.stdout
    assert {v["id"] for v in kiosk.cli("visits", "--rejected", "--json").json()} == {*elsewhere, unfit}

    kiosk.record(1, start=200)
    later = kiosk.cli("sync")  # nothing new rejected: done, but the ones kept are not forgotten
    assert later.code == 0, later.stderr
    assert (
        "3 lượt bị máy chủ từ chối từ trước vẫn nằm trên kiosk, chưa đến được huyện (3 visits the server "
        "rejected earlier are still on this kiosk, not at the district). Xem (see): "
        "checkpoint-kiosk visits --rejected"
    ) in later.stderr
    status = kiosk.cli("status", "--json").json()
    assert (status["rejected"], status["rejected_by_code"]) == (3, {"wrong_checkpoint": 2, "invalid_visit": 1})
    assert "wrong_checkpoint 2, invalid_visit 1" in kiosk.cli("status").stdout


def test_a_rate_limited_server_is_waited_for_as_it_asks(tmp_path: Path) -> None:
    server = Server(tmp_path / "slow", batches_per_s=5.0)  # burst 5, then one batch every 0.2 s
    try:
        kiosk = Kiosk(tmp_path, retries=3)
        kiosk.enroll(server)
        kiosk.record(150)
        result = kiosk.cli("--set", "server.batch_size=10", "sync", "--json")
        assert (result.code, result.json()["created"]) == (0, 150), result.stderr
        assert_delivered_exactly_once(server, kiosk)
    finally:
        server.stop()
        server.engine.dispose()
    assert '" 429' in server.log.read_text()  # the limit was hit, and honoured


def test_a_revoked_token_stops_sync_until_the_kiosk_is_enrolled_again(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    kiosk.enroll(server)
    kiosk.record(30)
    assert kiosk.cli("sync", "--json").code == 0
    kiosk.record(20, start=100)
    enrolment.revoke_device(server.engine, read_enrolment(kiosk.data_dir).device_id, "test")

    refused = kiosk.cli("sync", "--json")
    assert (refused.code, refused.json()["error"], refused.json()["pending"]) == (1, "token_revoked", 20)
    assert "thu hồi" in refused.stderr and "Traceback" not in refused.stderr
    status = kiosk.cli("status")
    assert "Cần đăng ký lại" in status.stdout and "thu hồi quyền gửi" in status.stdout
    assert kiosk.cli("status", "--json").json()["sync"]["needs_reenrolment"] is True
    assert kiosk.cli("sync", "--json").json()["error"] == "needs_reenrolment"  # no more knocking at the door

    kiosk.enroll(server)
    assert kiosk.cli("sync", "--json").json() == {
        "sent": 20,
        "created": 20,
        "duplicate": 0,
        "rejected": 0,
        "pending": 0,
        "error": None,
        **NOTHING_REJECTED,
    }
    assert_delivered_exactly_once(server, kiosk)
    assert kiosk.cli("status", "--json").json()["sync"]["needs_reenrolment"] is False


def test_each_pass_tells_the_district_how_the_kiosk_is(server: Server, tmp_path: Path) -> None:
    """Batches carry the kiosk's health; a pass with nothing to send still sends it (a heartbeat)."""
    kiosk = Kiosk(tmp_path)
    kiosk.enroll(server)
    device_id = read_enrolment(kiosk.data_dir).device_id
    kiosk.record(3)
    assert kiosk.cli("sync").code == 0
    with server.engine.connect() as conn:
        first = conn.execute(sa.select(devices.c.health).where(devices.c.id == device_id)).scalar_one()
    # counted at the start of the pass: three waiting, the oldest a moment old, the clock right
    assert first["pending"] == 3 and first["rejected"] == 0 and first["app_version"] == version("checkpoint-kiosk")
    assert 0 <= first["oldest_pending_s"] < 3600 and abs(first["clock_offset_s"]) < 60
    assert "doctor" not in first  # no check-up yet
    checkup = kiosk.cli("doctor", "--json")
    levels = [f["level"] for f in checkup.json()["findings"]]
    assert kiosk.cli("sync").code == 0  # nothing to send: the heartbeat, with the check-up's tally
    with server.engine.connect() as conn:
        beat = conn.execute(sa.select(devices.c.health, devices.c.health_at).where(devices.c.id == device_id)).one()
    assert beat.health["pending"] == 0 and "oldest_pending_s" not in beat.health
    assert beat.health["doctor"] == {level: levels.count(level) for level in ("ok", "warn", "fail")}
    assert server.count() == 3
