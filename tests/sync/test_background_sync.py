"""``run --terminal`` and ``run --headless`` deliver their scans on their own, promptly once the server is back."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ptyscanner import PtyScanner
from tests.sync.conftest import Kiosk, Server, assert_delivered_exactly_once, cccd
from tests.sync.faultproxy import FaultProxy
from tests.test_run_command import Kiosk as RunningKiosk
from tests.waiting import wait_for

# Never by the interval: only the health probe can bring the backlog out.
PROBE_ONLY = {"interval_s": 3600.0, "retries": 1}


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    pty = PtyScanner(tmp_path / "scanner0")
    yield pty
    pty.close()


def test_terminal_run_sends_the_backlog_as_soon_as_the_server_answers_again(
    server: Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    kiosk = Kiosk(tmp_path, proxy.url, **PROBE_ONLY)
    kiosk.enroll(server)
    proxy.set_down(True)  # the network is gone when the kiosk starts
    run = subprocess.Popen(
        kiosk.argv("run", "--terminal"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert run.stdin is not None
    try:
        for n in range(3):
            run.stdin.write(cccd(n) + "\n")
        run.stdin.flush()
        wait_for(lambda: len(kiosk.ids("pending")) == 3, "three visits recorded while offline")
        assert not server.visit_ids()
        proxy.set_down(False)
        wait_for(lambda: len(server.visit_ids()) == 3, "the backlog to go out without waiting for the interval")
        run.stdin.write(":q\n")
        run.stdin.close()
        assert run.wait(timeout=60) == 0
    finally:
        run.kill()
        run.wait()
    assert "Traceback" not in run.stderr.read()  # type: ignore[union-attr]
    wait_for(lambda: not kiosk.ids("pending"), "the answers applied")
    assert_delivered_exactly_once(server, kiosk)


def test_headless_run_sends_what_its_reader_scans_every_interval(
    server: Server, tmp_path: Path, scanner: PtyScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = Kiosk(tmp_path, interval_s=0.5)
    kiosk.enroll(server)
    monkeypatch.setenv("CHECKPOINT_KIOSK_CONFIG", str(kiosk.config_file))  # [server] keys for the run below
    running = RunningKiosk(kiosk.data_dir, scanner.link, "--headless")
    running.wait_connected()
    for n in range(5):
        scanner.write(cccd(n).encode() + b"\r\n")
        wait_for(lambda n=n: len(server.visit_ids()) == n + 1 or running.proc.poll() is not None, f"visit {n} on the server")
    running.proc.send_signal(signal.SIGTERM)
    assert running.finish() == 0, "".join(running.err)
    assert_delivered_exactly_once(server, kiosk)
    assert any("sync: sent 1 (created 1" in line for line in running.err)


def test_the_worker_sees_the_server_go_between_passes_while_visits_wait(server: Server, proxy: FaultProxy, tmp_path: Path) -> None:
    """The screen's "online" is what the worker last saw: with an hour to the next pass, only
    its health probe (while visits wait) can say the server went away, and bring them out
    as soon as it is back."""
    from kiosk.store import VisitStore
    from sync.service import SyncService

    kiosk = Kiosk(tmp_path, proxy.url, interval_s=3600.0, probe_max_s=0.2, retries=0)
    kiosk.enroll(server)
    with VisitStore.in_dir(kiosk.data_dir) as store:
        service = SyncService(kiosk.config(), store)
        service.start_background()
        try:
            wait_for(lambda: service.online is True, "the first pass")
            kiosk.record(2)  # waiting: the next pass is an hour away
            proxy.set_down(True)
            wait_for(lambda: service.online is False, "the probe to see the server gone")
            assert not server.visit_ids()
            proxy.set_down(False)
            wait_for(lambda: len(server.visit_ids()) == 2, "the visits out as soon as the server is back")
            assert service.online is True
        finally:
            service.close()
    assert_delivered_exactly_once(server, kiosk)
