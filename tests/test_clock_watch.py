"""Clock detection: what each time service's answer means, and the watcher that keeps it.

systemd is not PID 1 on this machine and no chronyd runs, so timedatectl and chronyc are
stand-in scripts put first on PATH (printing what the real tools print); the kernel's
adjtimex flag and the timesyncd flag file are the real ones.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.clock import LATEST, TIMESYNC_FLAG, ClockStatus, SystemClock, clock_status, kernel_clock_synchronised
from kiosk.clockwatch import ClockWatch
from kiosk.config import Config, StorageConfig
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import VisitStore
from tests.conftest import FakeClock
from tests.ptyscanner import PtyScanner
from tests.test_run_command import Kiosk
from tests.waiting import wait_for

CHRONY_TRACKING = """Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Leap status     : {leap}
"""


def fake_tool(bin_dir: Path, name: str, output: str = "", code: int = 0, hang: bool = False) -> None:
    """A stand-in for a system tool: prints ``output`` and exits ``code`` (or never answers)."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    body = "exec sleep 600\n" if hang else f"cat <<'EOF'\n{output}EOF\nexit {code}\n"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return lambda name, output="", code=0, hang=False: fake_tool(bin_dir, name, output, code, hang)


def test_timedatectl_answers_first(tools: Callable[..., None]) -> None:
    tools("timedatectl", "no\n")
    tools("chronyc", CHRONY_TRACKING.format(leap="Normal"))
    assert clock_status() == ClockStatus(False, "timedatectl", "NTPSynchronized=no")
    tools("timedatectl", "yes\n")
    assert clock_status() == ClockStatus(True, "timedatectl", "NTPSynchronized=yes")


def test_without_systemd_chrony_tells(tools: Callable[..., None]) -> None:
    # what timedatectl does when systemd is not PID 1
    tools("timedatectl", "System has not been booted with systemd as init system (PID 1). Can't operate.\n", code=1)
    tools("chronyc", CHRONY_TRACKING.format(leap="Not synchronised"))
    assert clock_status() == ClockStatus(False, "chrony", "Leap status: Not synchronised")
    tools("chronyc", CHRONY_TRACKING.format(leap="Normal"))
    assert clock_status() == ClockStatus(True, "chrony", "Leap status: Normal")


def test_a_hung_tool_is_given_up_and_the_next_source_asked(tools: Callable[..., None]) -> None:
    tools("timedatectl", hang=True)
    tools("chronyc", CHRONY_TRACKING.format(leap="Normal"))
    assert clock_status(timeout_s=0.5).source == "chrony"


def test_with_no_time_daemon_the_flag_file_or_the_kernel_decides(tools: Callable[..., None]) -> None:
    tools("timedatectl", code=1)
    tools("chronyc", "506 Cannot talk to daemon\n", code=1)
    status = clock_status()
    if TIMESYNC_FLAG.exists():
        assert (status.synchronised, status.source) == (True, "timesyncd")
    else:
        assert (status.synchronised, status.source) == (kernel_clock_synchronised(), "kernel")


def unsynced(n: int) -> ClockStatus:
    return ClockStatus(False, "timedatectl", f"NTPSynchronized=no ({n})")


def test_watch_feeds_scans_and_anchors_the_boot_when_the_clock_becomes_synchronised(tmp_path: Path) -> None:
    answers = [unsynced(1), unsynced(2), ClockStatus(True, "timedatectl", "NTPSynchronized=yes")]
    changes: list[ClockStatus] = []
    clock = FakeClock()
    with VisitStore.in_dir(tmp_path) as store:
        watch = ClockWatch(store, probe=lambda: answers.pop(0), clock=clock, on_change=changes.append)
        try:
            watch.check()
            # a scan now, through the real clock the readers use, carries the watcher's answer
            service = ScanService(Config(storage=StorageConfig(data_dir=str(tmp_path))), store, clock=SystemClock())
            result = service.handle(ScanEvent(source="serial", text="0912345678"))
            assert store.visits(limit=1)[0]["id"] == result.visit_id
            assert store.visits(limit=1)[0]["clock_synchronised"] is False
            watch.check()
            assert store.clock_anchor(clock.boot_id) is None and [c.synchronised for c in changes] == [False]
            clock.advance(90)
            watch.check()
            anchor = store.clock_anchor(clock.boot_id)
            assert anchor is not None and (anchor.source, anchor.wall, anchor.monotonic_ns) == (
                "ntp",
                clock.wall,
                clock.monotonic_ns,
            )
            assert [c.synchronised for c in changes] == [False, True]
            assert SystemClock().read().synchronised is True
        finally:
            watch.stop()
    assert LATEST.synchronised is None  # stopped: scans go back to the cheap check


def test_headless_run_logs_an_unsynchronised_clock(tmp_path: Path, tools: Callable[..., None]) -> None:
    tools("timedatectl", "no\n")
    scanner = PtyScanner(tmp_path / "reader")
    try:
        kiosk = Kiosk(tmp_path / "data", scanner.link, "--headless")
        wait_for(
            lambda: (
                any("Đồng hồ chưa đồng bộ (clock not synchronised): timedatectl" in line for line in kiosk.err)
                or kiosk.proc.poll() is not None
            ),
            "the clock line in the log",
        )
        kiosk.proc.send_signal(signal.SIGTERM)
        assert kiosk.finish() == 0, "".join(kiosk.err)
    finally:
        scanner.close()


def test_time_tools_run_without_the_notify_socket(
    tools: Callable[..., None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real timedatectl that fails outside systemd sends ERRNO=… to an inherited
    # NOTIFY_SOCKET, which systemd would take as the kiosk's own word.
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    script = tmp_path / "bin" / "timedatectl"
    script.write_text('#!/bin/sh\nif [ -n "$NOTIFY_SOCKET" ]; then echo "$NOTIFY_SOCKET"; else echo yes; fi\n')
    script.chmod(0o755)
    assert clock_status() == ClockStatus(True, "timedatectl", "NTPSynchronized=yes")
