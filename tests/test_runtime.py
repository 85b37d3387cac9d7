"""The one kiosk runtime (drivers/runtime.py) the app, ``run --terminal`` and ``run --headless`` share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.pipeline import ManualEntry, PipelineStopped
from drivers.runtime import KioskRuntime
from drivers.source import SourceState
from kiosk.config import Config
from kiosk.scan import ScanEvent, ScanResult, ScanService
from tests.ptyscanner import PtyScanner
from tests.test_run_command import cccd, stored
from tests.waiting import wait_for

PART_THREADS = ("clock-watch", "retention", "scan-consumer", "source-serial", "sync-worker")


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    pty = PtyScanner(tmp_path / "scanner0")
    yield pty
    pty.close()


def kiosk_config(tmp_path: Path, scanner: PtyScanner) -> Config:
    return Config.model_validate(
        {"storage": {"data_dir": str(tmp_path / "data")}, "scanners": {"serial": {"enabled": True, "port": str(scanner.link)}}}
    )


def part_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """The parts' threads started since BEFORE and still running."""
    return sorted((t for t in threading.enumerate() if t.name in PART_THREADS and t not in before), key=lambda t: t.name)


def test_the_runtime_stops_its_parts_in_reverse_order_and_records_every_scan_first(
    tmp_path: Path, scanner: PtyScanner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="checkpoint_kiosk.runtime")
    results: list[ScanResult] = []
    before = set(threading.enumerate())
    runtime = KioskRuntime(kiosk_config(tmp_path, scanner), lambda _ev, res: results.append(res))
    assert runtime.running == ["store"]  # built, nothing started: the readers are known already
    assert [s.source for s in runtime.pipeline.statuses()] == ["serial"]
    with runtime:
        assert runtime.running == ["store", "clock watch", "retention", "readers", "sync"]
        threads = part_threads(before)
        assert [t.name for t in threads] == sorted(PART_THREADS)
        wait_for(lambda: runtime.pipeline.statuses()[0].state is SourceState.CONNECTED, "the reader")
        scanner.write(cccd(1).encode() + b"\r\n")
        wait_for(lambda: len(results) == 1, "the reader's scan recorded")
        # Queued, not awaited: stopping must record it before the store is closed.
        last = runtime.submit(ScanEvent(source="keyboard", text="0912345678", device="stdin"))
    assert [r.message for r in caplog.records if r.message.startswith("stopping ")] == [
        "stopping sync",
        "stopping readers",
        "stopping retention",
        "stopping clock watch",
        "stopping store",
    ]
    started = [r.message.removeprefix("started ") for r in caplog.records if r.message.startswith("started ")]
    assert started == ["store", "clock watch", "retention", "readers", "sync"]
    assert runtime.running == [] and not any(t.is_alive() for t in threads)
    assert runtime.pipeline.statuses()[0].state is SourceState.STOPPED
    assert last.result(0).status == "accepted"
    assert [(v["source"], v["kind"]) for v in stored(tmp_path / "data")] == [("serial", "cccd"), ("keyboard", "phone")]
    runtime.stop()  # a second stop does nothing
    with pytest.raises(PipelineStopped):  # nothing waits forever on a stopped kiosk
        runtime.manual(ManualEntry("0987654321")).result(0)


class ThreadRecordingService(ScanService):
    """The real scan service, noting which thread each call came from."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.threads: list[int] = []

    def handle(self, *args: Any, **kwargs: Any) -> ScanResult:
        self.threads.append(threading.get_ident())
        return super().handle(*args, **kwargs)

    def manual(self, *args: Any, **kwargs: Any) -> ScanResult:
        self.threads.append(threading.get_ident())
        return super().manual(*args, **kwargs)


def test_manual_entries_from_any_thread_are_recorded_on_the_pipelines_thread(tmp_path: Path, scanner: PtyScanner) -> None:
    shown: list[ScanResult] = []
    with KioskRuntime(
        kiosk_config(tmp_path, scanner), lambda _ev, res: shown.append(res), operator="Tổ 2", service_factory=ThreadRecordingService
    ) as runtime:
        service = runtime.service
        assert isinstance(service, ThreadRecordingService)
        consumer = runtime.pipeline._consumer.ident
        replies: list[ScanResult] = []
        callers: list[int] = []

        def staff(n: int) -> None:  # what the app's background task does for the manual screen
            callers.append(threading.get_ident())
            replies.append(
                runtime.manual(
                    ManualEntry(f"09123456{n:02d}", name="Điểu Thị Hằng", id_number="070185004321", direction="in")
                ).result(15)
            )

        workers = [threading.Thread(target=staff, args=(n,)) for n in range(4)]
        for worker in workers:
            worker.start()
        wait_for(lambda: runtime.pipeline.statuses()[0].state is SourceState.CONNECTED, "the reader")
        scanner.write(cccd(2).encode() + b"\r\n")  # the readers' scans share the thread
        typed = runtime.submit(ScanEvent(source="keyboard", text="0987654321", device="window")).result(15)
        for worker in workers:
            worker.join(15)
        wait_for(lambda: len(service.threads) == 6, "every scan and entry handled")
        invalid = runtime.manual(ManualEntry("12345")).result(15)
    assert set(service.threads) == {consumer} and consumer not in callers
    assert [r.status for r in replies] == ["accepted"] * 4 and typed.status == "accepted"
    assert invalid.status == "rejected" and invalid.reason_code
    assert len(shown) == 2  # the serial scan and the typed one; a manual entry is shown by its screen
    visits = stored(tmp_path / "data")
    manual = [v for v in visits if v["source"] == "manual"]
    assert len(manual) == 4 and {v["operator"] for v in manual} == {"Tổ 2"}
    assert {v["fields"]["name"] for v in manual} == {"Điểu Thị Hằng"}
