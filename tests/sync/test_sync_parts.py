"""The sync client's parts on their own: the wire form, sealed files, backoff, the lock, the rejection line."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kiosk.config import Config
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import VisitStore
from sync.backoff import Backoff
from sync.lock import SyncLock
from sync.protocol import MAX_BATCH_VISITS, VisitIn, VisitResult
from sync.sealed import SealedFileError, SealedReader, SealedWriter, key_material, read_header
from sync.upload import Tally, rejected_line
from sync.wire import wire_visit
from tests.conftest import SAMPLES, FakeClock
from tests.sync.conftest import cccd


def test_every_kind_of_stored_visit_is_a_valid_wire_visit(tmp_path: Path, clock: FakeClock) -> None:
    config = Config.model_validate({"storage": {"data_dir": str(tmp_path)}})
    dcc = json.loads((SAMPLES / "dcc" / "AT_2DCode_raw_1.json").read_text())["PREFIX"]
    with VisitStore.in_dir(tmp_path) as store:
        service = ScanService(config, store, clock=clock)
        for text in (cccd(1), "0912345678", dcc, "https://tokhaiyte.vn/qr/abc", "\x00\x01 binary"):
            assert service.handle(ScanEvent(source="camera", text=text, device="/dev/video0")).accepted
            clock.advance(10)
        assert service.manual("0168 123 4567", name="Điểu Thị Hằng", id_number="070185004321", operator="Tổ 2").accepted
        clock.synchronised = False
        assert service.handle(ScanEvent(source="hid", text=cccd(2))).accepted
        pending = store.pending_after(0, 100)
    wire = [wire_visit(v, "2026-11-23T01:00:00.000000+00:00" if not v.clock_synchronised else None) for v in pending]
    assert [w["kind"] for w in wire] == ["cccd", "phone", "dcc", "opaque", "opaque", "phone", "cccd"]
    for item in wire:
        parsed = VisitIn.model_validate(item)  # the server's own model, shared through sync/protocol.py
        assert parsed.id == item["id"] and parsed.fields == item["fields"]
    assert wire[-1]["clock_synchronised"] is False and wire[-1]["corrected_at"].startswith("2026-11-23T01:00")
    assert (wire[5]["fields"]["name"], wire[5]["operator"]) == ("Điểu Thị Hằng", "Tổ 2")


def _sealed(records: list[dict], token: str = "dev_x") -> bytes:
    buf = io.BytesIO()
    writer = SealedWriter(buf, "visits", {"device_id": "d-1"}, key_material(token))
    for record in records:
        assert writer.add(record)
    writer.close()
    return buf.getvalue()


def _open(data: bytes, *tokens: str) -> list[list[dict]]:
    fh = io.BytesIO(data)
    return list(SealedReader(fh, read_header(fh), [key_material(t) for t in tokens]).batches())


def test_sealed_files_hold_batches_the_server_can_ingest_and_only_the_key_opens_them() -> None:
    records = [{"n": n, "name": "Nguyễn Thị Ánh Tuyết"} for n in range(2500)]
    data = _sealed(records)
    assert "Nguyễn".encode() not in data and b'"device_id": "d-1"' in data  # the device id stays readable
    batches = _open(data, "dev_other", "dev_x")
    assert [r for batch in batches for r in batch] == records
    assert max(len(batch) for batch in batches) <= MAX_BATCH_VISITS
    assert _open(_sealed([]), "dev_x") == []
    with pytest.raises(SealedFileError) as wrong:
        _open(data, "dev_other")
    assert wrong.value.code == "wrong_key"


def test_a_record_too_large_for_any_batch_is_left_out() -> None:
    writer = SealedWriter(io.BytesIO(), "visits", {}, key_material("t"))
    assert writer.add({"text": "x" * 2_000_000}) is False and writer.count == 0


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    backoff = Backoff(0.5, 8.0, random.Random(1))
    delays = [backoff.next_delay() for _ in range(12)]
    for attempt, delay in enumerate(delays):
        step = min(8.0, 0.5 * 2**attempt)
        assert step / 2 <= delay <= step
    assert len(set(delays)) == len(delays)  # jittered: kiosks coming back together do not retry in step
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_the_lock_excludes_threads_and_processes_and_dies_with_its_holder(tmp_path: Path) -> None:
    first, second = SyncLock(tmp_path), SyncLock(tmp_path)
    assert first.acquire(wait=False)
    assert not second.acquire(wait=False)  # another thread of this process
    first.release()
    assert second.acquire(wait=False)
    second.release()

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from sync.lock import SyncLock; "
                f"assert SyncLock(Path({str(tmp_path)!r})).acquire(wait=False); print('held', flush=True); time.sleep(600)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    assert not first.acquire(wait=False)  # another process
    waiter_got: list[bool] = []
    waiter = threading.Thread(target=lambda: waiter_got.append(first.acquire(wait=True)))
    waiter.start()
    holder.kill()  # kill -9: the kernel drops its lock
    holder.wait()
    waiter.join(30)
    assert waiter_got == [True]
    stop = threading.Event()
    stop.set()
    assert not second.acquire(wait=True, stop=stop)  # a waiting acquire gives up when the caller stops
    first.release()


def test_the_rejection_line_shows_any_code_the_server_sends_with_its_reason() -> None:
    tally = Tally()
    tally.count(
        [
            VisitResult(id="a", status="created"),
            VisitResult(id="b", status="rejected", code="conflict", reason="Mã lượt đã có từ thiết bị khác (conflict)"),
            VisitResult(id="c", status="rejected", code="invalid_visit", reason="invalid visit: fields.phone"),
            VisitResult(id="d", status="rejected", code="conflict", reason="Mã lượt đã có từ thiết bị khác (conflict)"),
            VisitResult(id="e", status="rejected", code="invalid_visit", reason="invalid visit: fields.name"),
            VisitResult(id="f", status="rejected", code="invalid_visit", reason="invalid visit: fields.name"),
            VisitResult(id="g", status="duplicate"),
        ]
    )
    assert (tally.sent, tally.created, tally.duplicate, tally.rejected) == (7, 1, 1, 5)
    line = rejected_line(tally.rejections)
    assert "\n" not in line and line.startswith("Máy chủ đã từ chối 5 lượt")
    assert (
        "invalid_visit ×3 — invalid visit: fields.phone (thêm 1 lý do khác (1 more reason(s))); "
        "conflict ×2 — Mã lượt đã có từ thiết bị khác (conflict). Xem (see): checkpoint-kiosk visits --rejected"
    ) in line
