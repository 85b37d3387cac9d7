"""The district key by QR code (issue 13): the server prints it, the kiosk scans it with its own reader.

``checkpoint-server keys export --qr PAGE`` draws the key (``DK1`` + hex, kiosk/seal.py) on an
A4 page with its fingerprint and the district's name; ``checkpoint-kiosk district-key --qr
--fingerprint FP`` reads the first code from the configured reader: a real pty serial port,
and the camera playing a video of that very page. A wrong fingerprint, a code that is not a
key and no scan at all each end in words and exit code 1, with nothing loaded.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.seal import DistrictKey, grouped
from kiosk.store import VisitStore
from server import key_sheet
from server.code_sheet import PAGE
from tests.collected import CollectedProcess
from tests.conftest import CLI, run_cli
from tests.ptyscanner import PtyScanner
from tests.qrframes import FRAME_H, FRAME_W, write_video
from tests.waiting import wait_for

SERVER_CLI = str(Path(CLI).with_name("checkpoint-server"))
DISTRICT = "Huyện Bù Đăng"

pytestmark = pytest.mark.timeout(180)


def _server(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "server.toml"
    if not config.exists():
        config.write_text(f'[server]\nkeys_dir = "{tmp_path / "keys"}"\ndb = "sqlite:///{tmp_path / "s.sqlite3"}"\n')
    return subprocess.run([SERVER_CLI, *args, "--config", str(config)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def printed(tmp_path: Path) -> tuple[DistrictKey, Path]:
    """The district's key made on the server, and the page printed for it."""
    assert _server(tmp_path, "keys", "init").returncode == 0
    page = tmp_path / "district-key.png"
    done = _server(tmp_path, "keys", "export", str(tmp_path / "key.json"), "--qr", str(page), "--district", DISTRICT)
    assert done.returncode == 0, done.stderr
    assert str(page) in done.stderr and "Trang để in" in done.stderr
    exported = json.loads((tmp_path / "key.json").read_text())
    return DistrictKey.from_text(exported["public_key"], exported["fingerprint"]), page


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    pty = PtyScanner(tmp_path / "scanner0")
    yield pty
    pty.close()


class KeyScan(CollectedProcess):
    """``checkpoint-kiosk district-key --qr`` in a subprocess, its stderr collected line by line."""

    def __init__(self, data_dir: Path, reader: list[str], fingerprint: str, timeout: float = 60) -> None:
        argv = [CLI, "--set", f"storage.data_dir={data_dir}", *reader]
        super().__init__(argv + ["district-key", "--qr", "--fingerprint", fingerprint, "--timeout", str(timeout)])

    def wait_prompt(self) -> None:
        wait_for(lambda: any("quét mã QR" in line for line in self.err) or self.proc.poll() is not None, "the prompt")
        assert self.proc.poll() is None, "".join(self.err)

    def result(self) -> tuple[int, str, str]:
        code = self.finish(timeout=120)
        return code, "".join(self.out), "".join(self.err)


def _serial(port: Path) -> list[str]:
    return ["--set", "scanners.serial.enabled=true", "--set", f"scanners.serial.port={port}"]


def _stored_key(data_dir: Path) -> DistrictKey | None:
    if not (data_dir / "visits.sqlite3").exists():
        return None
    with VisitStore.in_dir(data_dir) as store:
        return store.district_key()


def test_the_printed_page_carries_the_key_as_a_wedge_safe_qr_code_its_fingerprint_and_district(
    printed: tuple[DistrictKey, Path], tmp_path: Path
) -> None:
    key, page = printed
    decoded = run_cli("decode", str(page))
    assert decoded.code == 0, decoded.stderr
    texts = [json.loads(line)["text"] for line in decoded.stdout.splitlines()]
    assert texts == [key.qr_text()]
    assert texts[0].startswith("DK1") and texts[0][3:].isalnum() and texts[0][3:].isupper()  # no symbol a layout moves
    placed = key_sheet.save(key, DISTRICT, tmp_path / "again.png")
    lines = [p.text for p in placed]
    assert " ".join(key_sheet.fingerprint_lines(key)) == grouped(key.fingerprint)
    assert all(half in lines for half in key_sheet.fingerprint_lines(key)) and DISTRICT in lines
    assert any("Khoá mã hoá của huyện" in line for line in lines)
    assert all(p.box[0] >= 0 and p.box[2] <= PAGE[0] and p.box[1] >= 0 and p.box[3] <= PAGE[1] for p in placed)


def test_a_page_without_a_district_name_is_refused_in_words(tmp_path: Path) -> None:
    assert _server(tmp_path, "keys", "init").returncode == 0
    done = _server(tmp_path, "keys", "export", "--qr", str(tmp_path / "page.png"))
    assert done.returncode == 2 and "--district" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "page.png").exists()


def test_a_serial_reader_scans_the_key_in_and_the_backlog_is_sealed(
    printed: tuple[DistrictKey, Path], tmp_path: Path, scanner: PtyScanner
) -> None:
    key, _page = printed
    data = tmp_path / "kiosk"
    recorded = run_cli("record", "0912345678", data_dir=data)  # before any key: kept in clear, to be sealed
    assert recorded.code == 0, recorded.stderr
    scan = KeyScan(data, _serial(scanner.link), grouped(key.fingerprint))
    scan.wait_prompt()
    scanner.write(key.qr_text().lower().encode() + b"\r\n")  # caps lock on the reader: still the key
    code, out, err = scan.result()
    assert code == 0, err
    assert grouped(key.fingerprint) in out and "1" in out
    stored = _stored_key(data)
    assert stored is not None and stored.fingerprint == key.fingerprint
    with VisitStore.in_dir(data) as store:
        assert store.unsealed() == 0 and len(store.visits(limit=None)) == 1  # the key's scan is no visit


def test_the_camera_reads_the_printed_page(printed: tuple[DistrictKey, Path], tmp_path: Path) -> None:
    key, page = printed
    sheet = cv2.imread(str(page), cv2.IMREAD_GRAYSCALE)
    scale = FRAME_H / sheet.shape[0]
    small = cv2.resize(sheet, (int(sheet.shape[1] * scale), FRAME_H), interpolation=cv2.INTER_AREA)
    frame = np.full((FRAME_H, FRAME_W), 255, np.uint8)
    x0 = (FRAME_W - small.shape[1]) // 2
    frame[:, x0 : x0 + small.shape[1]] = small
    video = write_video(tmp_path / "page.avi", [cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)] * 30)
    camera = ["--set", "scanners.camera.enabled=true", "--set", f"scanners.camera.device={video}"]
    scan = KeyScan(tmp_path / "kiosk", camera, key.fingerprint)
    code, out, err = scan.result()
    assert code == 0, err
    stored = _stored_key(tmp_path / "kiosk")
    assert stored is not None and stored.fingerprint == key.fingerprint


def test_a_wrong_fingerprint_a_code_that_is_no_key_and_no_scan_load_nothing(
    printed: tuple[DistrictKey, Path], tmp_path: Path, scanner: PtyScanner
) -> None:
    key, _page = printed
    data = tmp_path / "kiosk"
    wrong = KeyScan(data, _serial(scanner.link), "0" * 40)
    wrong.wait_prompt()
    scanner.write(key.qr_text().encode() + b"\r\n")
    code, _out, err = wrong.result()
    assert code == 1 and "không khớp" in err and "does not match" in err and "Traceback" not in err

    not_key = KeyScan(data, _serial(scanner.link), key.fingerprint)
    not_key.wait_prompt()
    scanner.write("070185000123||Nguyễn Thị Ánh|14071985|Nữ|Thôn 3|10052021\r\n".encode())
    code, _out, err = not_key.result()
    assert code == 1 and "không phải khoá của huyện" in err and "DK1" in err
    assert "070185000123" not in err and "Nguyễn" not in err  # what was scanned is never echoed

    nothing = KeyScan(data, _serial(scanner.link), key.fingerprint, timeout=1)
    code, _out, err = nothing.result()
    assert code == 1 and "Không có mã QR nào được quét trong 1 giây" in err and "Traceback" not in err
    assert _stored_key(data) is None


def test_file_or_qr_one_of_the_two_and_qr_needs_a_reader(printed: tuple[DistrictKey, Path], tmp_path: Path) -> None:
    key, _page = printed
    data = tmp_path / "kiosk"
    neither = run_cli("district-key", "--fingerprint", key.fingerprint, data_dir=data)
    both = run_cli("district-key", str(tmp_path / "key.json"), "--qr", "--fingerprint", key.fingerprint, data_dir=data)
    for done in (neither, both):
        assert done.code == 2 and "--qr" in done.stderr and "Traceback" not in done.stderr
    no_reader = run_cli("district-key", "--qr", "--fingerprint", key.fingerprint, data_dir=data)
    assert no_reader.code == 2 and "scanners.serial.enabled = true" in no_reader.stderr
    by_file = run_cli("district-key", str(tmp_path / "key.json"), "--fingerprint", grouped(key.fingerprint), data_dir=data)
    assert by_file.code == 0, by_file.stderr
