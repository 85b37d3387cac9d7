"""The scan service: a scan becomes a committed visit, a repeat, or a clear rejection."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import VisitStore
from kiosk.trust import TrustStore
from tests.conftest import SAMPLES, FakeClock, kept, mark_synced

CCCD = "079203001234|123456789|Nguyễn Văn Đức|01022003|Nam|Số 12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh|15062021"


def make_service(tmp_path: Path, clock: FakeClock, *overrides: str, trust: TrustStore | None = None) -> ScanService:
    config, _ = load_config(None, [f"storage.data_dir={tmp_path / 'data'}", *overrides])
    return ScanService(config, VisitStore.in_dir(config.data_dir), clock=clock, trust=trust)


@pytest.fixture
def service(tmp_path: Path, clock: FakeClock) -> ScanService:
    return make_service(tmp_path, clock)


def scan(service: ScanService, text: str, source: str = "serial", **kw: str) -> object:
    return service.handle(ScanEvent(source=source, text=text, device="/dev/ttyACM0"), **kw)


def test_accepted_scan_is_committed_before_the_result(service: ScanService, clock: FakeClock) -> None:
    clock.synchronised = False
    result = scan(service, CCCD)
    assert result.status == "accepted" and result.direction == "in" and result.kind == "cccd"
    other = sqlite3.connect(service.store.path)  # a second connection sees only committed data
    row = other.execute(
        "SELECT id, source, reader, fields, scanned_at, boot_id, monotonic_ns, clock_synchronised, sync_state FROM visits"
    ).fetchone()
    assert row[0] == result.visit_id and row[1:3] == ("serial", "/dev/ttyACM0")
    assert json.loads(row[3]) == {"name": "Nguyễn V. Đ.", "id_number": "***1234"}  # masked only
    fields = kept(service.store, result.visit_id)["fields"]
    assert fields["name"] == "Nguyễn Văn Đức"
    assert fields["address"] == "Số 12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh"
    assert row[4] == "2026-11-23T01:30:00.000000+00:00"
    assert row[5:] == ("boot-1", clock.monotonic_ns, 0, "pending")


def test_summary_is_masked(service: ScanService) -> None:
    result = scan(service, CCCD)
    assert result.summary == "Nguyễn V. Đ. · ID ***1234"
    assert "079203001234" not in json.dumps(result.to_dict(), ensure_ascii=False)


@pytest.mark.parametrize("source, window", [("serial", 2.5), ("hid", 2.5), ("cli", 2.5), ("camera", 5.0)])
def test_repeat_within_the_window_of_each_source(service: ScanService, clock: FakeClock, source: str, window: float) -> None:
    first = scan(service, CCCD, source)
    clock.advance(window - 0.1)
    second = scan(service, CCCD, source)
    assert second.status == "repeat" and second.visit_id == first.visit_id
    assert second.first_seen_at == datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)
    assert second.reason == "Đã ghi nhận lúc 08:30:00"  # local time, Asia/Ho_Chi_Minh
    clock.advance(0.2)
    third = scan(service, CCCD, source)
    assert third.status == "accepted" and third.visit_id != first.visit_id
    assert service.store.count("pending") == 2


def test_repeat_windows_come_from_config(tmp_path: Path, clock: FakeClock) -> None:
    service = make_service(tmp_path, clock, "kiosk.repeat_window_s=10")
    scan(service, "0912345678")
    clock.advance(9)
    assert scan(service, "0912 345 678").status == "repeat"  # same number, other spelling


def test_rejection_stores_nothing(service: ScanService) -> None:
    result = scan(service, "079203001234|123456789|Nguyễn Văn Đức|31022003|Nam|Hà Nội|15062021")
    assert result.status == "rejected" and result.reason_code == "cccd_bad_date"
    assert result.reason == "Mã CCCD không hợp lệ: ngày sinh không phải ngày hợp lệ."
    assert service.store.visits() == []


def test_english_messages(tmp_path: Path, clock: FakeClock) -> None:
    service = make_service(tmp_path, clock, "kiosk.language=en")
    assert scan(service, "").reason == "Empty code, scan again."


def test_fixed_direction_kiosk(tmp_path: Path, clock: FakeClock) -> None:
    service = make_service(tmp_path, clock, "kiosk.direction=out")
    assert scan(service, CCCD).direction == "out"
    refused = scan(service, "0912345678", direction="in")
    assert refused.status == "rejected" and refused.reason == "Điểm này chỉ ghi lượt ra."
    assert service.store.count("pending") == 1


def test_switchable_direction(service: ScanService) -> None:
    assert scan(service, CCCD, direction="out").direction == "out"
    service.direction = "out"
    assert scan(service, "0912345678").direction == "out"
    assert service.today()["out"] == 2


def test_manual_entry_with_name_and_id(service: ScanService) -> None:
    result = service.manual("+84 868 123 456", name="  Hoàng   Thị Thu Hà ", id_number="001185012345", operator="Tổ 2")
    assert result.status == "accepted" and result.kind == "phone"
    assert result.summary == "Hoàng T. T. H. · SĐT ***3456 · ID ***2345"
    stored = service.store.get(result.visit_id)
    assert stored["source"] == "manual" and stored["operator"] == "Tổ 2"
    assert stored["fields"] == {"phone": "***3456", "name": "Hoàng T. T. H.", "id_number": "***2345"}
    assert kept(service.store, result.visit_id)["fields"] == {
        "phone": "0868123456",
        "renumbered_from": None,
        "name": "Hoàng Thị Thu Hà",
        "id_number": "001185012345",
    }


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"phone": ""}, "phone_empty"),
        ({"phone": "09123"}, "phone_length"),
        ({"phone": "0912345678", "name": "Nguyễn Văn 3"}, "name_invalid"),
        ({"phone": "0912345678", "name": "Á" * 101}, "name_too_long"),
        ({"phone": "0912345678", "id_number": "12345"}, "id_number_invalid"),
    ],
)
def test_manual_entry_validation(service: ScanService, kwargs: dict[str, str], code: str) -> None:
    result = service.manual(**kwargs)
    assert result.status == "rejected" and result.reason_code == code and result.reason
    assert service.store.visits() == []


def test_renumbered_phone_is_flagged(service: ScanService) -> None:
    result = service.manual("0168 812 3456")
    assert result.status == "accepted" and result.details == {"renumbered": True}
    assert kept(service.store, result.visit_id)["fields"]["renumbered_from"] == "01688123456"


def test_vaccine_certificate_carries_its_signature_state(tmp_path: Path) -> None:
    vector = json.loads((SAMPLES / "dcc" / "DE_2DCode_raw_1.json").read_text())
    trust_dir = tmp_path / "trust"
    trust_dir.mkdir()
    (trust_dir / "de.der").write_bytes(base64.b64decode(vector["TESTCTX"]["CERTIFICATE"]))
    clock = FakeClock(wall=datetime.fromisoformat(vector["TESTCTX"]["VALIDATIONCLOCK"]))
    service = make_service(tmp_path, clock, f"dcc.trust_dir={trust_dir}")
    result = scan(service, vector["PREFIX"], "camera")
    assert result.status == "accepted" and result.kind == "dcc"
    assert result.details == {"signature": "valid"}
    assert result.summary == "Mustermann E. · Mũi 2/2 (2021-05-29)"
    stored = service.store.get(result.visit_id)
    assert kept(service.store, result.visit_id)["raw"] == vector["PREFIX"] and stored["fields"]["signature"] == "valid"


def test_today_counts_follow_the_local_day(service: ScanService, clock: FakeClock) -> None:
    clock.wall = datetime(2026, 11, 22, 16, 59, tzinfo=timezone.utc)  # 23:59 local, yesterday
    scan(service, "0912345678")
    clock.advance(120)  # 00:01 local
    scan(service, "0987654321", "camera", direction="out")
    service.manual("0868123456")
    assert service.today() == {"in": 1, "out": 1, "total": 2, "by_source": {"camera": 1, "manual": 1}}


def test_purge_uses_retention_days(tmp_path: Path, clock: FakeClock) -> None:
    service = make_service(tmp_path, clock, "storage.retention_days=7")
    old = scan(service, "0912345678")
    clock.advance(8 * 86400)
    recent = scan(service, "0987654321")
    mark_synced(service.store, [old.visit_id, recent.visit_id], clock.wall)
    assert service.purge() == (1, 0)
    assert [v["id"] for v in service.store.visits()] == [recent.visit_id]
