"""The pipeline and the commands built on it: run (terminal and headless) and scanners."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.commands import result_line
from drivers.pipeline import Pipeline
from drivers.source import SourceState
from kiosk.config import Config
from kiosk.scan import ScanEvent, ScanResult, ScanService
from kiosk.store import VisitStore
from tests.collected import CollectedProcess
from tests.conftest import CLI, kept, run_cli
from tests.ptyscanner import PtyScanner
from tests.test_serial_reader import ADDRESS, CCCD, NAME
from tests.waiting import wait_for

GIVEN = ["Ánh Tuyết", "Văn Đức", "Thị Hằng", "Quốc Việt", "Ngọc Ánh", "Hữu Lộc", "Thị Thủy", "Bá Khải"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Bùi", "Đỗ", "Điểu"]


def cccd(n: int) -> str:
    """A distinct ID card per n (distinct people are never repeats of each other)."""
    name = f"{FAMILY[n % 8]} {GIVEN[(n // 8) % 8]}"
    return f"0701850{n:05d}||{name}|14071985|Nữ|{ADDRESS}|10052021"


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    pty = PtyScanner(tmp_path / "scanner0")
    yield pty
    pty.close()


def stored(data_dir: Path) -> list[dict]:
    """Each visit with what it keeps for the district (no key here: in clear, waiting for one)."""
    with VisitStore.in_dir(data_dir) as store:
        return [{**v, "fields": kept(store, v["id"])["fields"]} for v in store.visits(limit=None, oldest_first=True)]


def test_pipeline_records_reader_scans_and_reports_each_result(tmp_path: Path, scanner: PtyScanner) -> None:
    config = Config.model_validate(
        {"storage": {"data_dir": str(tmp_path / "data")}, "scanners": {"serial": {"enabled": True, "port": str(scanner.link)}}}
    )
    results: list[tuple[ScanEvent, ScanResult]] = []
    with VisitStore.in_dir(config.data_dir) as store:
        pipeline = Pipeline(config, ScanService(config, store), lambda ev, res: results.append((ev, res)), operator="Tổ 2")
        assert [s.source for s in pipeline.statuses()] == ["serial"]
        pipeline.start()
        try:
            wait_for(lambda: pipeline.statuses()[0].state is SourceState.CONNECTED, "the reader")
            scanner.write(CCCD.encode("utf-16-be") + "\r\n".encode("utf-16-be") + CCCD.encode() + b"\r\n")
            typed = pipeline.submit(ScanEvent(source="keyboard", text="0912345678", device="stdin")).result(15)
            wait_for(lambda: len(results) == 3, "three results")
        finally:
            pipeline.stop()
        assert pipeline.statuses()[0].state is SourceState.STOPPED
    assert typed.status == "accepted" and typed.kind == "phone"
    serial = [res for ev, res in results if ev.source == "serial"]
    assert [r.status for r in serial] == ["accepted", "repeat"]  # the same card read twice
    visits = stored(tmp_path / "data")
    card = next(v for v in visits if v["kind"] == "cccd")
    assert (card["fields"]["name"], card["fields"]["address"]) == (NAME, ADDRESS)
    assert (card["source"], card["reader"], card["operator"]) == ("serial", str(scanner.link), "Tổ 2")


def test_run_reads_scans_from_a_keyboard_wedge_terminal(tmp_path: Path) -> None:
    lines = f"{CCCD}\n:ra\n0912345678\nxin chào\n{CCCD}\n:q\n0987654321\n"
    result = run_cli("run", "--terminal", data_dir=tmp_path, stdin=lines.encode("utf-8"))
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "✔ GHI NHẬN VÀO · Nguyễn T. Á. T. · ID ***4321" in out
    assert "✔ GHI NHẬN RA · SĐT ***5678" in out
    assert "↻ ĐÃ QUÉT VÀO" in out
    stored_visits = run_cli("visits", "--json", data_dir=tmp_path).json()
    assert [(v["kind"], v["direction"], v["source"]) for v in reversed(stored_visits)] == [
        ("cccd", "in", "keyboard"),
        ("phone", "out", "keyboard"),
        ("opaque", "out", "keyboard"),
    ]


class Kiosk(CollectedProcess):
    """``checkpoint-kiosk run`` in a subprocess, its stderr collected line by line."""

    def __init__(self, data_dir: Path, port: Path, *args: str) -> None:
        argv = [
            CLI,
            "--set",
            f"storage.data_dir={data_dir}",
            "--set",
            "scanners.serial.enabled=true",
            "--set",
            f"scanners.serial.port={port}",
            "run",
            *args,
        ]
        super().__init__(argv, stdin=True)

    def wait_connected(self) -> None:
        wait_for(
            lambda: any("serial: connected" in line for line in self.err) or self.proc.poll() is not None,
            "the kiosk to open the reader",
        )
        assert self.proc.poll() is None, "".join(self.err)


def test_headless_run_records_until_sigterm_and_loses_nothing(tmp_path: Path, scanner: PtyScanner) -> None:
    data = tmp_path / "data"
    kiosk = Kiosk(data, scanner.link, "--headless")
    kiosk.wait_connected()
    first = [cccd(n) for n in range(10)]
    for text in first:
        scanner.write(text.encode() + b"\r\n")
    wait_for(lambda: data.joinpath("visits.sqlite3").exists() and len(stored(data)) == 10, "ten visits")
    late = [cccd(n) for n in range(10, 30)]
    scanner.write(b"".join(t.encode("utf-16-be") + "\r".encode("utf-16-be") for t in late))
    kiosk.proc.send_signal(signal.SIGTERM)  # at once: some of these are still in the port
    assert kiosk.finish() == 0, "".join(kiosk.err)
    visits = stored(data)
    assert sorted(v["fields"]["id_number"] for v in visits) == sorted(t.split("|")[0] for t in first + late)
    assert {v["source"] for v in visits} == {"serial"}
    log = "".join(kiosk.err)
    assert "✔ GHI NHẬN VÀO · Nguyễn Á. T. · ID ***0000" in log and "stopped: 30 recorded" in log
    assert "070185000000" not in log and "Ánh Tuyết" not in log and "Bù Đăng" not in log  # masked only


def test_terminal_run_takes_reader_scans_while_reading_lines(tmp_path: Path, scanner: PtyScanner) -> None:
    kiosk = Kiosk(tmp_path, scanner.link, "--terminal")
    kiosk.wait_connected()
    assert any("Sẵn sàng" in line for line in kiosk.out)
    scanner.write(CCCD.encode() + b"\r")
    wait_for(lambda: any("Nguyễn T. Á. T." in line for line in kiosk.out), "the reader's scan on screen")
    kiosk.proc.stdin.write(b"0912345678\n:q\n")
    kiosk.proc.stdin.flush()
    assert kiosk.finish() == 0
    assert [(v["kind"], v["source"]) for v in stored(tmp_path)] == [("cccd", "serial"), ("phone", "keyboard")]


def test_run_opens_the_touchscreen_app_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {"SDL_VIDEODRIVER": "offscreen", "SDL_AUDIODRIVER": "dummy", "KIVY_HOME": str(tmp_path / "kivy"), "KIVY_NO_FILELOG": "1"}
    argv = [CLI, "--set", f"storage.data_dir={tmp_path / 'data'}", "run", "--window"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **env})
    log: list[str] = []
    threading.Thread(target=Kiosk._collect, args=(proc.stdout, log), daemon=True).start()
    wait_for(lambda: any("app ready" in line for line in log) or proc.poll() is not None, "the app's scan screen")
    assert proc.poll() is None, "".join(log)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, "".join(log)
    assert (tmp_path / "data" / "visits.sqlite3").exists()


def test_headless_run_without_a_reader_says_so(tmp_path: Path) -> None:
    result = run_cli("run", "--headless", data_dir=tmp_path)
    assert result.code == 2
    assert "scanners.serial.enabled = true" in result.stderr and "No reader is enabled" in result.stderr


def test_scanners_lists_what_would_be_used_and_why(scanner: PtyScanner) -> None:
    args = ("--set", "scanners.serial.enabled=true", "--set", f"scanners.serial.port={scanner.link}")
    sections = {s["kind"]: s for s in run_cli(*args, "scanners", "--json").json()}
    assert set(sections) == {"hid", "serial", "camera"}
    assert "Vietnamese letters" in sections["hid"]["note"]
    ports = {d["path"]: d for d in sections["serial"]["devices"]}
    assert ports[str(scanner.link)]["use"] is True
    assert ports[str(scanner.link)]["links"] == [os.path.realpath(scanner.link)]
    text = run_cli(*args, "scanners").stdout
    assert "đang dùng (used)" in text and str(scanner.link) in text and "tiếng Việt" in text
    off = {s["kind"]: s for s in run_cli("--set", f"scanners.serial.port={scanner.link}", "scanners", "--json").json()}
    only = next(d for d in off["serial"]["devices"] if d["path"] == str(scanner.link))
    assert only["use"] is False and "scanners.serial.enabled = true" in only["reason"]


def test_terminal_line_for_an_untrusted_certificate_is_never_the_green_tick() -> None:
    expired = ScanResult("accepted", "in", "dcc", "Mustermann E. · Mũi 2/2", details={"signature": "expired"})
    valid = ScanResult("accepted", "in", "dcc", "Mustermann E. · Mũi 2/2", details={"signature": "valid"})
    assert result_line(expired, "vi", colour=False) == "! GHI NHẬN VÀO · Mustermann E. · Mũi 2/2 · chữ ký: expired"
    assert result_line(valid, "vi", colour=False).startswith("✔ GHI NHẬN VÀO")
    assert "\x1b[33m" in result_line(expired, "vi") and "\x1b[32m" in result_line(valid, "vi")  # yellow, green


UNPLUGGED = "đã bị rút ra"  # not "unplugged": pytest's tmp_path holds the test's name


def test_an_unplugged_reader_is_one_warning_of_ours_per_unplugging(tmp_path: Path, scanner: PtyScanner) -> None:
    kiosk = Kiosk(tmp_path, scanner.link, "--headless")
    kiosk.wait_connected()
    for times in (1, 2):
        scanner.unplug()
        wait_for(lambda t=times: sum(UNPLUGGED in line for line in kiosk.err) == t, "the unplugging in the log")
        time.sleep(1.5)  # the source retries meanwhile: no more lines for the same unplugging
        scanner.plug()
        wait_for(lambda t=times: sum("serial: connected" in line for line in kiosk.err) == t + 1, "the reader back")
    kiosk.proc.send_signal(signal.SIGTERM)
    assert kiosk.finish() == 0
    warnings = [line for line in kiosk.err if UNPLUGGED in line]
    assert len(warnings) == 2 and all(" WARNING drivers.serial_reader: serial: Đầu đọc " in w for w in warnings)
    assert (
        f"Đầu đọc {scanner.link} đã bị rút ra hoặc mất kết nối; đang chờ cắm lại (reader {scanner.link} "
        "unplugged; waiting for it to come back)" in warnings[0]
    )
    log = "".join(kiosk.err)
    assert "device reports readiness" not in log and "SerialException" not in log  # pyserial's words: DEBUG only
    assert "no such port yet" not in log  # the unplugging already said it is awaited


def appliance_environment() -> dict[str, str]:
    """The Environment= lines of the appliance's unit, as systemd hands them to ``run``."""
    unit = Path(__file__).resolve().parents[1] / "deploy" / "checkpoint-kiosk.service"
    pairs = [
        line.removeprefix("Environment=").split("=", 1) for line in unit.read_text().splitlines() if line.startswith("Environment=")
    ]
    found = {key: value for key, value in pairs if key != "CHECKPOINT_KIOSK_CONFIG"}
    assert found.get("SDL_VIDEODRIVER") == "kmsdrm"
    return found


NO_SCREEN = {
    "DISPLAY": "",
    "WAYLAND_DISPLAY": "",
    "SDL_VIDEODRIVER": "",
    "INVOCATION_ID": "",
    "SSH_CONNECTION": "192.0.2.7 50122 192.0.2.1 22",
    "SSH_TTY": "/dev/pts/3",
}


def test_run_over_ssh_without_a_display_says_so_and_takes_no_lock(tmp_path: Path, scanner: PtyScanner) -> None:
    holder = Kiosk(tmp_path, scanner.link, "--headless")  # holds run.lock: a refusal must come before it
    holder.wait_connected()
    try:
        refused = run_cli("run", data_dir=tmp_path, env=NO_SCREEN)
        assert refused.code == 2 and "Traceback" not in refused.stderr
        assert refused.stderr.startswith("Không có màn hình cho ứng dụng: phiên SSH này không có DISPLAY")
        assert "run --headless" in refused.stderr and "run --terminal" in refused.stderr
        assert "No screen for the app" in refused.stderr and "đang chạy" not in refused.stderr
        # a video driver set on purpose (the appliance's unit: kmsdrm), a systemd unit, a forwarded
        # display: not refused, so they get as far as the lock the running kiosk holds
        for allowed in (appliance_environment(), {"INVOCATION_ID": "5f1c0a"}, {"DISPLAY": "localhost:10.0"}):
            tried = run_cli("run", data_dir=tmp_path, env={**NO_SCREEN, **allowed})
            assert tried.code == 1 and "Kiosk đang chạy" in tried.stderr, (allowed, tried)
        headless = run_cli(
            "--set",
            "scanners.serial.enabled=true",
            "--set",
            f"scanners.serial.port={scanner.link}",
            "run",
            "--headless",
            data_dir=tmp_path,
            env=NO_SCREEN,
        )
        assert headless.code == 1 and "Kiosk đang chạy" in headless.stderr  # --headless needs no screen
    finally:
        holder.proc.send_signal(signal.SIGTERM)
        holder.finish()
