"""systemd's notify protocol and watchdog: the shared sender, and ``run --headless`` under it.

systemd is not PID 1 here, so the tests play its part with a real datagram socket
bound where ``NOTIFY_SOCKET`` points, exactly what systemd reads for ``Type=notify``.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.pipeline import Pipeline
from kiosk import sdnotify
from kiosk.config import Config
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import VisitStore
from tests.ptyscanner import PtyScanner
from tests.test_run_command import Kiosk, cccd, stored
from tests.waiting import WAIT_S, wait_for


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        sock.settimeout(WAIT_S)
        yield sock


def test_messages_reach_the_notify_socket(tmp_path: Path, notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    assert sdnotify.notify("WATCHDOG=1")
    assert notify_socket.recv(64) == b"WATCHDOG=1"
    assert sdnotify.watchdog_interval_s() == 10.0
    monkeypatch.delenv("NOTIFY_SOCKET")
    monkeypatch.delenv("WATCHDOG_USEC")
    assert not sdnotify.notify("READY=1") and sdnotify.watchdog_interval_s() is None


def test_headless_run_is_ready_feeds_the_watchdog_and_says_stopping(
    tmp_path: Path, notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # a heartbeat every 0.2 s, so the test sees several
    scanner = PtyScanner(tmp_path / "scanner0")
    try:
        kiosk = Kiosk(tmp_path / "data", scanner.link, "--headless")
        first = notify_socket.recv(256).decode()
        assert first.splitlines() == ["READY=1", "STATUS=readers: serial"]
        kiosk.wait_connected()
        scanner.write(cccd(1).encode() + b"\r\n")  # scans go on between heartbeats
        beats = [notify_socket.recv(64) for _ in range(3)]
        assert beats == [b"WATCHDOG=1"] * 3
        wait_for(lambda: len(stored(tmp_path / "data")) == 1, "the scan recorded")
        kiosk.proc.send_signal(signal.SIGTERM)
        while (message := notify_socket.recv(64)) == b"WATCHDOG=1":
            pass
        assert message == b"STOPPING=1"
        assert kiosk.finish() == 0, "".join(kiosk.err)
    finally:
        scanner.close()


def test_a_ping_is_answered_only_after_the_scans_queued_before_it(tmp_path: Path) -> None:
    """The headless heartbeat goes through the scan queue: while recording is stuck (here
    the database locked by another writer), no ping is answered, so no WATCHDOG=1 is sent."""
    config = Config.model_validate({"storage": {"data_dir": str(tmp_path)}})
    results: list[str] = []
    with VisitStore.in_dir(config.data_dir) as store:
        pipeline = Pipeline(config, ScanService(config, store), lambda _ev, res: results.append(res.status), kinds=[])
        pipeline.start()
        blocker = sqlite3.connect(tmp_path / "visits.sqlite3", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock the scan needs
        try:
            pipeline.put(ScanEvent(source="keyboard", text="0912345678", device="stdin"))
            ping = pipeline.ping()
            assert not ping.done()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        ping.result(WAIT_S)
        assert results == ["accepted"]  # recorded before the ping came back
        pipeline.stop()
