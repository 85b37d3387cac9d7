"""What the screens say, computed without Kivy: panels, status line, wedge, sounds, USB (the catalogue: test_catalogue.py)."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drivers.source import SourceState, SourceStatus
from kiosk.catalog import load_catalog
from kiosk.scan import ScanResult
from ui.formatting import COLOURS, ago, pack_status, panel_for, status_line
from ui.sounds import TONES, tone_wav
from ui.usb import mounted_sticks
from ui.wedge import WedgeBuffer

VI = load_catalog("vi")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def vi(text: str) -> str:
    return VI.get(text, text)


def en(text: str) -> str:
    return text


@dataclass
class Sync:
    enrolled: bool = True
    pending: int = 0
    last_success_at: datetime | None = None
    last_error: str | None = None
    needs_reenrolment: bool = False
    online: bool | None = True


SERIAL = SourceStatus("serial", SourceState.CONNECTED, "/dev/ttyACM0")
CAMERA = SourceStatus("camera", SourceState.CONNECTED, "0")


def test_status_line_when_all_is_well() -> None:
    line = status_line([SERIAL, CAMERA], Sync(pending=2, last_success_at=NOW - timedelta(minutes=5)), 0, NOW, 3600, vi)
    assert line.text == "có mạng · 2 lượt chờ gửi · đồng bộ 5 phút trước · Máy quét: sẵn sàng · Camera bật"
    assert line.level == "ok"


def test_status_line_is_red_when_sync_fails_or_is_stale() -> None:
    failing = status_line(
        [SERIAL],
        Sync(pending=1, last_error="server_unreachable", online=False, last_success_at=NOW - timedelta(minutes=2)),
        0,
        NOW,
        3600,
        vi,
    )
    assert failing.level == "error" and "mất mạng" in failing.text and "đồng bộ bị lỗi" in failing.text
    stale = status_line([SERIAL], Sync(pending=40, online=False, last_success_at=NOW - timedelta(hours=3)), 0, NOW, 3600, en)
    assert stale.level == "error" and "last sync 3 h ago" in stale.text
    never = status_line([SERIAL], Sync(pending=1), 0, NOW, 3600, en)
    assert never.level == "error" and "never synced" in never.text
    reenrol = status_line([], Sync(needs_reenrolment=True, last_success_at=NOW), 0, NOW, 3600, vi)
    assert reenrol.level == "error" and "CẦN ĐĂNG KÝ LẠI" in reenrol.text


def test_status_line_leads_with_rejections_no_admin_has_seen_and_is_red() -> None:
    fine = Sync(pending=0, last_success_at=NOW - timedelta(minutes=1))
    line = status_line([SERIAL], fine, 0, NOW, 3600, vi, clock_synchronised=False, rejected_unseen=99999)
    assert line.text.startswith("99999 lượt BỊ TỪ CHỐI: xem Quản trị · Đồng hồ chưa đồng bộ · có mạng · 0 lượt chờ gửi")
    assert line.level == "error"
    assert status_line([SERIAL], fine, 0, NOW, 3600, en, rejected_unseen=2).text.startswith("2 REJECTED: see Admin · ")
    assert status_line([SERIAL], fine, 0, NOW, 3600, en, rejected_unseen=0).level == "ok"


def test_status_line_says_in_amber_that_data_is_not_sealed_until_a_district_key_comes() -> None:
    fine = Sync(pending=0, last_success_at=NOW - timedelta(minutes=1))
    line = status_line([SERIAL], fine, 0, NOW, 3600, vi, unsealed=True)
    assert line.text.startswith("Dữ liệu CHƯA NIÊM PHONG: chưa có khoá huyện · ") and line.level == "warn"
    assert status_line([SERIAL], fine, 0, NOW, 3600, en, unsealed=False).level == "ok"


def test_status_line_offline_with_recent_sync_warns_and_without_sync_says_so() -> None:
    offline = status_line([SERIAL], Sync(pending=3, online=False, last_success_at=NOW - timedelta(minutes=1)), 0, NOW, 3600, en)
    assert offline.level == "warn" and "offline" in offline.text
    unplugged = SourceStatus("serial", SourceState.WAITING, None, "no port")
    alone = status_line([unplugged], None, 7, NOW, 3600, vi)
    assert alone.text == "chưa có đồng bộ · 7 lượt chờ gửi · Máy quét: chưa kết nối" and alone.level == "ok"
    broken = status_line([SourceStatus("hid", SourceState.ERROR)], Sync(enrolled=False), 0, NOW, 3600, en)
    assert broken.level == "error" and "not enrolled" in broken.text


def test_status_line_is_amber_while_sync_goes_over_plain_http_off_this_machine() -> None:
    synced = Sync(pending=0, last_success_at=NOW - timedelta(minutes=5))
    plain = status_line([SERIAL], synced, 0, NOW, 3600, vi, insecure_http=True)
    assert plain.text == "có mạng · 0 lượt chờ gửi · đồng bộ 5 phút trước · KHÔNG MÃ HOÁ (http) · Máy quét: sẵn sàng"
    assert plain.level == "warn"
    assert status_line([SERIAL], synced, 0, NOW, 3600, vi).level == "ok"
    refused = Sync(pending=1, last_error="server_http_refused", last_success_at=NOW - timedelta(minutes=5))
    assert status_line([SERIAL], refused, 0, NOW, 3600, en, insecure_http=True).level == "error"  # red still wins


def test_status_line_puts_the_network_and_pending_before_the_readers_and_packs_whole_parts() -> None:
    offline = Sync(pending=12, online=False, last_error="server_unreachable", last_success_at=NOW - timedelta(hours=2))
    line = status_line(
        [SourceStatus("hid", SourceState.ERROR), SERIAL], offline, 0, NOW, 3600, vi, clock_synchronised=False, rejected_unseen=3
    )
    assert line.parts[:5] == (
        "3 lượt BỊ TỪ CHỐI: xem Quản trị",
        "Đồng hồ chưa đồng bộ",
        "mất mạng",
        "12 lượt chờ gửi",
        "đồng bộ bị lỗi",
    )
    assert line.parts[-1] == "Máy quét: sẵn sàng"  # a ready reader is the least news

    def width(text: str) -> float:
        return len(text)

    assert pack_status(["aaaa", "bbb", "cc", "dddddddd", "e"], 9, width, 2) == ["aaaa · cc", "bbb · e"]
    assert pack_status(["aaaa", "bbb", "cc", "dddddddd", "e"], 9, width, 3) == ["aaaa · cc", "bbb · e", "dddddddd"]
    assert all(len(line) <= 9 for line in pack_status(["x" * n for n in range(1, 12)], 9, width, 3))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(20, "vừa xong"), (61, "1 phút trước"), (3599, "59 phút trước"), (7200, "2 giờ trước"), (3 * 86400, "3 ngày trước")],
)
def test_ago(seconds: float, text: str) -> None:
    assert ago(seconds, vi) == text


def test_result_panels() -> None:
    assert panel_for(None, vi).title == "SẴN SÀNG"
    ok = panel_for(ScanResult("accepted", "out", "cccd", "Nguyễn T. Á. T. · ID ***4321"), vi)
    assert (ok.state, ok.title, ok.summary) == ("accepted", "ĐÃ GHI NHẬN · RA", "Nguyễn T. Á. T. · ID ***4321")
    seen = datetime(2026, 11, 23, 1, 42, 5, tzinfo=timezone.utc)  # 08:42 in Vietnam
    again = panel_for(ScanResult("repeat", "in", "phone", "SĐT ***5678", first_seen_at=seen), vi)
    assert (again.state, again.title) == ("repeat", "ĐÃ GHI NHẬN LÚC 08:42")
    for signature, state in (
        ("expired", "certificate"),
        ("bad_signature", "certificate"),
        ("not_yet_valid", "certificate"),
        ("unknown_signer", "certificate"),
        ("valid", "accepted"),
        ("not_checked", "accepted"),
    ):
        dcc = panel_for(ScanResult("accepted", "in", "dcc", "Mustermann E. · Dose 2/2", details={"signature": signature}), en)
        assert (dcc.state, dcc.title) == (state, "RECORDED · ENTRY"), signature
    expired = panel_for(ScanResult("accepted", "in", "dcc", "Mustermann E. · Dose 2/2", details={"signature": "expired"}), vi)
    assert (expired.state, expired.detail) == ("certificate", "Chứng nhận HẾT HẠN")
    bad = panel_for(ScanResult("rejected", reason="Mã CCCD không hợp lệ: thiếu họ tên.", reason_code="cccd_bad_name"), vi)
    assert (bad.state, bad.title, bad.summary) == ("rejected", "KHÔNG GHI NHẬN", "Mã CCCD không hợp lệ: thiếu họ tên.")


def test_keyboard_wedge_takes_fast_bursts_only() -> None:
    wedge = WedgeBuffer(max_gap_s=0.05)
    for i, char in enumerate("0912345678"):
        wedge.key(char, 10 + i * 0.004)
    assert wedge.enter(10.05) == "0912345678"
    for i, char in enumerate("0912"):
        wedge.key(char, 20 + i * 0.3)  # a person typing
    assert wedge.enter(21.2) is None
    wedge.key("x", 30.0)  # a stray key long before a fast scan is dropped, not glued on
    for i, char in enumerate("HC1:ABC"):
        wedge.key(char, 31 + i * 0.01)
    assert wedge.enter(31.1) == "HC1:ABC"
    assert wedge.enter(31.2) is None  # Enter alone


def test_a_different_sound_for_each_result_panel() -> None:
    sounds = {name: tone_wav(beeps) for name, beeps in TONES.items()}
    assert set(sounds) == set(COLOURS) - {"ready"} and len(set(sounds.values())) == len(sounds)
    for data in sounds.values():
        with wave.open(io.BytesIO(data)) as wav:
            assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
            assert 0.1 <= wav.getnframes() / wav.getframerate() <= 0.6


def test_usb_sticks_are_writable_mounts_below_media(tmp_path: Path) -> None:
    stick = tmp_path / "media" / "kiosk" / "USB DISK"
    stick.mkdir(parents=True)
    mounts = tmp_path / "mounts"
    escaped = str(stick).replace(" ", "\\040")
    mounts.write_text(
        f"/dev/sda1 {escaped} vfat rw,nosuid 0 0\n/dev/sdb1 {tmp_path}/media/ro vfat ro 0 0\n/dev/root / ext4 rw 0 0\n"
    )
    found = mounted_sticks(mounts, roots=(str(tmp_path / "media"),))
    assert [(s.path, s.label) for s in found] == [(stick, "USB DISK")]
    assert found[0].free_bytes > 0
    assert mounted_sticks(tmp_path / "missing") == []
