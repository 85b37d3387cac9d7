"""Enrolment that survives a lost answer: the server committed, the kiosk never heard, it tries again.

A real ``checkpoint-server serve`` behind the fault proxy, which passes the enrol request
whole and resets the kiosk's connection once the server has answered (the answer is kept
so the test knows which token the kiosk never got); the real ``checkpoint-kiosk enroll``.
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
from pathlib import Path

from sync.pending_enrolment import PENDING_FILE
from tests.sync.conftest import Kiosk, Server, assert_delivered_exactly_once
from tests.sync.faultproxy import FaultProxy
from tests.waiting import wait_for


def whoami(server: Server, token: str) -> tuple[int, str | None]:
    """What the server says of a device token, asked directly (not through the proxy)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/api/v1/device", headers={"Authorization": f"Bearer {token}"})
    answer = conn.getresponse()
    return answer.status, json.loads(answer.read()).get("error")


def server_devices(server: Server) -> list[dict[str, object]]:
    shown = server.cli("device", "list", "--json")
    assert shown.code == 0, shown.stderr
    return json.loads(shown.stdout)


def test_enrolling_again_after_a_lost_answer_gets_the_same_device(server: Server, proxy: FaultProxy, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path / "kiosk", proxy.url, retries=1)  # one retry of its own: two answers to lose
    qr = server.enroll_qr(proxy.url)
    proxy.lose_answers(2)
    first = kiosk.cli("enroll", "--qr", qr)
    assert first.code == 1 and "Không kết nối được máy chủ" in first.stderr and "Traceback" not in first.stderr
    lost = proxy.lost_bodies()
    assert len(lost) == 2 and lost[0]["device_id"] == lost[1]["device_id"]  # its own retry: the same device
    assert (kiosk.data_dir / PENDING_FILE).stat().st_mode & 0o777 == 0o600
    assert not (kiosk.data_dir / "enrolment.json").exists()

    again = kiosk.cli("enroll", "--qr", qr, "--json")
    assert again.code == 0, again.stderr
    device_id = again.json()["device_id"]
    assert device_id == lost[0]["device_id"]
    assert not (kiosk.data_dir / PENDING_FILE).exists()
    assert [d["id"] for d in server_devices(server)] == [device_id]  # no orphan left behind
    for answer in lost:
        assert whoami(server, str(answer["token"])) == (401, "token_rotated")
    kiosk.record(5)
    synced = kiosk.cli("sync", "--json")
    assert synced.code == 0 and synced.json()["created"] == 5, synced.stderr
    assert_delivered_exactly_once(server, kiosk)

    other = Kiosk(tmp_path / "other", proxy.url)  # another kiosk with the same code: its own nonce
    refused = other.cli("enroll", "--qr", qr)
    assert refused.code == 1 and "đã được dùng" in refused.stderr, refused.stderr
    assert not (other.data_dir / PENDING_FILE).exists()  # refused for good: nothing to keep
    assert [d["id"] for d in server_devices(server)] == [device_id]
    assert kiosk.cli("sync", "--json").code == 0  # the first kiosk's token still works


def test_the_clients_own_retry_wins_back_a_lost_answer(server: Server, proxy: FaultProxy, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, proxy.url)
    proxy.lose_answers(1)
    enrolled = kiosk.cli("enroll", "--qr", server.enroll_qr(proxy.url), "--json")
    assert enrolled.code == 0, enrolled.stderr
    assert enrolled.json()["device_id"] == proxy.lost_bodies()[0]["device_id"]
    assert len(server_devices(server)) == 1
    kiosk.record(3)
    assert kiosk.cli("sync", "--json").code == 0
    assert_delivered_exactly_once(server, kiosk)


def test_the_nonce_survives_the_kiosk_process_killed_mid_enrolment(server: Server, proxy: FaultProxy, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, proxy.url)
    qr = server.enroll_qr(proxy.url)
    proxy.lose_answers(1000)
    enrolling = subprocess.Popen(kiosk.argv("enroll", "--qr", qr), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: bool(proxy.lost), "the server to answer an enrolment the kiosk never hears")
    enrolling.send_signal(signal.SIGKILL)
    enrolling.wait(timeout=30)
    proxy.lose_answers(0)
    again = kiosk.cli("enroll", "--qr", qr, "--json")
    assert again.code == 0, again.stderr
    assert again.json()["device_id"] == proxy.lost_bodies()[0]["device_id"]
    assert len(server_devices(server)) == 1


def test_an_unreachable_server_at_enrolment_says_the_code_is_kept_and_the_same_command_finishes_it(
    server: Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    kiosk = Kiosk(tmp_path / "kiosk", proxy.url)
    args = ("enroll", "--server", proxy.url, "--code", server.enroll_code())
    proxy.set_down(True)
    down = kiosk.cli(*args)
    assert down.code == 1 and "Traceback" not in down.stderr
    assert down.stderr.startswith(f"Không kết nối được máy chủ {proxy.url}: kiểm tra địa chỉ máy chủ và mạng.")
    assert "chạy lại đúng lệnh này với cùng mã" in down.stderr and "run the same command again" in down.stderr
    assert "sẽ gửi khi có mạng" not in down.stderr and "sent when it is back" not in down.stderr  # nothing waits
    assert (kiosk.data_dir / PENDING_FILE).is_file()  # the nonce the next try is answered by

    proxy.set_down(False)
    proxy.unavailable(1_000_000)
    failing = kiosk.cli(*args)
    assert failing.code == 1 and "HTTP 503" in failing.stderr and "cùng mã" in failing.stderr
    assert "will retry later" not in failing.stderr

    proxy.unavailable(0)
    again = kiosk.cli(*args)
    assert again.code == 0 and "Đã đăng ký (Enrolled)" in again.stdout, again.stderr
    assert not (kiosk.data_dir / PENDING_FILE).exists()
