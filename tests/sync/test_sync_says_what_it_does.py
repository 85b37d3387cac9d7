"""``checkpoint-kiosk sync`` against a dead port and a server that answers 503: a line for each
step from the first second (connecting, waiting its turn, every retry), then one line that
says what happened, how many visits still wait and what to do. ``--json`` stays one document."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import subprocess
import threading
from pathlib import Path

from sync.lock import SyncLock
from tests.sync.conftest import Kiosk, Server
from tests.sync.faultproxy import FaultProxy

RETRY = re.compile(
    r"^Không kết nối được: thử lại sau \d+\.\d s \(lần (\d+)/4\) "
    r"\(no connection: retrying in \d+\.\d s \(try (\d+) of 4\)\)$"
)


def dead_kiosk(server: Server, tmp_path: Path) -> Kiosk:
    """A kiosk enrolled with ``server``, 5 visits waiting, and the server gone: its port refuses."""
    kiosk = Kiosk(tmp_path, server.url, retries=3, backoff_max_s=0.2)
    kiosk.enroll(server)
    kiosk.record(5)
    server.stop()
    return kiosk


def test_a_dead_port_is_named_each_retry_counted_and_the_last_line_says_what_to_do(server: Server, tmp_path: Path) -> None:
    host = f"127.0.0.1:{server.port}"
    kiosk = dead_kiosk(server, tmp_path)
    result = kiosk.cli("sync")
    lines = result.stderr.splitlines()
    assert result.code == 1 and "Traceback" not in result.stderr
    assert lines[0] == f"Đang kết nối máy chủ {host} · 5 lượt chờ gửi (connecting to {host} · 5 visits waiting)"
    retries = [RETRY.match(line) for line in lines[1:-1]]
    assert all(retries), lines
    assert [(int(m[1]), int(m[2])) for m in retries if m] == [(2, 2), (3, 3), (4, 4)]
    assert lines[-1].startswith(f"Chưa gửi được: không kết nối được máy chủ {host} sau 4 lần thử. Còn 5 lượt chờ gửi")
    assert f"(Not sent: could not connect to the server {host} after 4 tries. 5 visits still waiting" in lines[-1]
    assert "run checkpoint-kiosk sync again" in lines[-1]
    assert "còn chờ 5" in result.stdout  # the summary stays on stdout

    as_json = kiosk.cli("sync", "--json")
    assert json.loads(as_json.stdout)["error"] == "server_unreachable"  # the whole of stdout is one document
    assert as_json.stderr.splitlines()[0].startswith("Đang kết nối máy chủ") and "lần 4/4" in as_json.stderr
    assert as_json.stderr.splitlines()[-1].startswith("Chưa gửi được")


def test_on_a_terminal_the_lines_come_above_the_bar(server: Server, tmp_path: Path) -> None:
    kiosk = dead_kiosk(server, tmp_path)
    master, slave = pty.openpty()
    drawn: list[bytes] = []

    def read_terminal() -> None:
        with contextlib.suppress(OSError):  # EIO once the sync has exited and closed the terminal
            while chunk := os.read(master, 4096):
                drawn.append(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    done = subprocess.run(kiosk.argv("sync"), stdout=subprocess.PIPE, stderr=slave, timeout=120)
    os.close(slave)
    reader.join(30)
    os.close(master)
    screen = b"".join(drawn).decode("utf-8", "replace")
    assert done.returncode == 1
    assert "Đang kết nối máy chủ" in screen and "(try 4 of 4)" in screen and "Chưa gửi được" in screen


def test_503s_are_each_announced_and_a_lasting_outage_ends_in_one_line(server: Server, proxy: FaultProxy, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, proxy.url)
    kiosk.enroll(server)
    kiosk.record(20)
    proxy.unavailable(2)
    burst = kiosk.cli("--set", "server.retries=4", "sync")
    assert burst.code == 0, burst.stderr
    retries = [line for line in burst.stderr.splitlines() if "thử lại sau" in line]
    assert [re.sub(r"\d+\.\d s", "N s", line) for line in retries] == [
        f"Máy chủ báo lỗi HTTP 503: thử lại sau N s (lần {k}/5) (the server answered HTTP 503: retrying in N s (try {k} of 5))"
        for k in (2, 3)
    ]
    assert "Chưa gửi" not in burst.stderr and "Đã gửi 20 lượt" in burst.stdout

    kiosk.record(7, start=100)
    proxy.unavailable(1_000_000)
    outage = kiosk.cli("--set", "server.retries=2", "sync")
    last = outage.stderr.splitlines()[-1]
    assert outage.code == 1 and "lần 3/3" in outage.stderr
    assert last.startswith(f"Chưa gửi được: máy chủ 127.0.0.1:{proxy.port} báo lỗi (HTTP 503) sau 3 lần thử. Còn 7 lượt chờ gửi"), (
        last
    )


def test_a_sync_waiting_for_another_says_so(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, server.url)
    kiosk.enroll(server)
    kiosk.record(3)
    other = SyncLock(kiosk.data_dir)
    assert other.acquire(wait=False)
    sync = subprocess.Popen(kiosk.argv("sync"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert sync.stderr is not None
    first = sync.stderr.readline().decode()  # written while the lock is still held here
    other.release()
    out, err = sync.communicate(timeout=60)
    assert first.startswith("Đang chờ lần đồng bộ khác trên kiosk này") and "(waiting for another sync" in first
    assert err.decode().startswith("Đang kết nối máy chủ") and sync.returncode == 0
