"""``checkpoint-kiosk doctor`` against broken setups, for real: the CLI in a subprocess, a real
``checkpoint-server`` process, a pty as the serial reader, a tmpfs filled to the last byte,
an unprivileged user (setpriv), a kiosk process with a wrong clock (libfaketime), a TLS
server with a certificate the kiosk does not trust, and servers that are closed or hang.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.config import Config
from kiosk.doctor import DoctorContext, Finding, run_checks
from kiosk.messages import render
from kiosk.store import DB_NAME, VisitStore
from tests.conftest import CLI, run_cli
from tests.ptyscanner import PtyScanner
from tests.qrframes import scene, write_video
from tests.sync.conftest import Kiosk, Server
from tests.tmpfs import Tmpfs, completed, kiosk_argv

pytestmark = pytest.mark.timeout(180)


def doctor(kiosk: Kiosk, *args: str, prefix: tuple[str, ...] = ()) -> tuple[int, dict[str, dict[str, Any]]]:
    """Exit code and the findings by check (the last finding of a check that has several)."""
    done = subprocess.run([*prefix, *kiosk.argv("doctor", "--json", "--timeout", "3", *args)], capture_output=True, timeout=120)
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    report = json.loads(done.stdout)
    return done.returncode, {f["check"]: f for f in report["findings"]}


def levels(findings: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {check: f["level"] for check, f in findings.items()}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real ``checkpoint-server serve`` process (tests/sync/conftest.py)."""
    running = Server(tmp_path / "server")
    yield running
    running.stop()
    running.engine.dispose()


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[PtyScanner]:
    scanner = PtyScanner(tmp_path / "reader")
    yield scanner
    scanner.close()


def enrolled_kiosk(tmp_path: Path, server: Server, reader: PtyScanner, **settings: Any) -> Kiosk:
    kiosk = Kiosk(tmp_path / "k", server.url, **settings)
    with kiosk.config_file.open("a") as fh:
        fh.write(f'[scanners.serial]\nenabled = true\nport = "{reader.link}"\n')
    kiosk.enroll(server)
    kiosk.record(3)
    return kiosk


def test_a_working_kiosk_passes_and_a_revoked_token_fails(tmp_path: Path, server: Server, reader: PtyScanner) -> None:
    kiosk = enrolled_kiosk(tmp_path, server, reader)
    code, found = doctor(kiosk)
    assert code == 0, found
    assert {check: level for check, level in levels(found).items() if check not in ("clock",)} == {
        "config": "ok",
        "data_dir": "ok",
        "disk_space": "ok",
        "database": "ok",
        "modes": "ok",  # an enrolled kiosk's files (database, WAL, SHM, enrolment.json) are private
        "outbox": "warn",
        "retention": "ok",
        "sealing": "ok",  # the district key came with the enrolment answer
        "readers": "ok",
        "server": "ok",
        "tls": "ok",
        "server_clock": "ok",
        "token": "ok",
    }
    assert found["outbox"]["code"] == "doctor_outbox_stale" and found["outbox"]["params"]["pending"] == 3
    assert found["token"]["params"]["checkpoint"] == "BD-001"
    assert found["tls"]["code"] == "doctor_tls_loopback"  # http:// to this machine: nothing crosses a network
    assert kiosk.cli("sync").code == 0
    assert levels(doctor(kiosk)[1])["outbox"] == "ok"

    device_id = json.loads((kiosk.data_dir / "enrolment.json").read_text())["device_id"]
    assert server.cli("device", "revoke", device_id).code == 0
    code, found = doctor(kiosk)
    assert code == 1 and found["token"]["level"] == "fail"
    assert found["token"]["params"]["reason"] == "token_revoked"
    assert found["token"]["fix"] == render("fix_enrol", "vi")


def test_rejected_visits_are_a_warning_with_how_many_by_code_and_what_to_do(tmp_path: Path, server: Server) -> None:
    kiosk = Kiosk(tmp_path / "k", server.url)
    kiosk.record(2)  # the demo checkpoint's, before enrolment: the server rejects them wrong_checkpoint
    kiosk.enroll(server)
    kiosk.record(1, start=50)
    assert kiosk.cli("sync").code == 4
    kiosk.record(1, start=60)
    done = subprocess.run(kiosk.argv("doctor", "--json", "--timeout", "3"), capture_output=True, timeout=120)
    report = json.loads(done.stdout)
    outbox = [f for f in report["findings"] if f["check"] == "outbox"]
    assert [f["code"] for f in outbox] == ["doctor_outbox_rejected"]
    rejected = outbox[0]
    assert (rejected["level"], rejected["params"]["rejected"], rejected["params"]["pending"]) == ("warn", 2, 1)
    assert (rejected["params"]["by_code"], rejected["params"]["unseen"]) == ({"wrong_checkpoint": 2}, 2)
    assert rejected["message"].startswith("Máy chủ đã từ chối 2 lượt, các lượt này chưa đến được huyện (wrong_checkpoint 2)")
    assert rejected["fix"] == render("fix_rejected", "vi") and "visits --rejected" in rejected["fix"]
    assert done.returncode == 0 and report["level"] in ("warn", "fail")  # a warning: the kiosk works, an admin acts
    text = kiosk.cli("doctor", "--lang", "en", "--timeout", "3").stdout
    assert "WARN   The server rejected 2 visits; they have not reached the district (wrong_checkpoint 2)" in text
    assert "→ Fix: See why: checkpoint-kiosk visits --rejected (or Admin > Sync)" in text


def test_text_report_in_vietnamese_and_english(tmp_path: Path, server: Server, reader: PtyScanner) -> None:
    kiosk = enrolled_kiosk(tmp_path, server, reader)
    vi = kiosk.cli("doctor", "--timeout", "3")
    assert vi.code == 0, vi
    assert f"ỔN     Cấu hình hợp lệ: {kiosk.config_file}." in vi.stdout.splitlines()
    assert "ỔN     " + render("doctor_tls_loopback", "vi", server=server.url) in vi.stdout.splitlines()
    assert any(line.startswith("       → Cách sửa: ") for line in vi.stdout.splitlines())  # the outbox's fix
    assert vi.stdout.splitlines()[-1].startswith("Tổng: ")
    en = kiosk.cli("doctor", "--lang", "en", "--timeout", "3")
    assert f"PASS   Configuration valid: {kiosk.config_file}." in en.stdout.splitlines()


def test_unreachable_and_hanging_servers_fail_within_the_time_box(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # closed when the block ends: nothing listens there
    kiosk = Kiosk(tmp_path / "closed", f"http://127.0.0.1:{port}")
    code, found = doctor(kiosk)
    assert code == 1 and found["server"]["code"] == "doctor_server_unreachable"
    assert found["server"]["fix"] == render("fix_server_unreachable", "vi")
    with socket.socket() as hanging:  # accepts connections (the backlog) and never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(8)
        kiosk = Kiosk(tmp_path / "hang", f"http://127.0.0.1:{hanging.getsockname()[1]}")
        code, found = doctor(kiosk)
    assert code == 1 and found["server"]["code"] == "doctor_server_unreachable"
    assert "token" not in found and "server_clock" not in found


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sở Y tế thử nghiệm")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the standard library's name
        body = json.dumps({"status": "ok", "server_time": dt.datetime.now(dt.timezone.utc).isoformat()}).encode()
        self.send_response(200 if self.path == "/api/v1/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS health endpoint with a certificate no system CA vouches for; its URL and certificate."""
    cert_file, key_file = _certificate(tmp_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", cert_file
    httpd.shutdown()
    httpd.server_close()


def test_an_untrusted_certificate_fails_with_the_ca_file_fix_and_passes_with_ca_file(
    tmp_path: Path, tls_server: tuple[str, Path]
) -> None:
    url, cert_file = tls_server
    code, found = doctor(Kiosk(tmp_path / "untrusted", url))
    assert code == 1 and found["server"]["code"] == "doctor_tls_invalid"
    assert "server.ca_file" in found["server"]["fix"]
    code, found = doctor(Kiosk(tmp_path / "trusted", url, ca_file=str(cert_file)))
    assert (found["server"]["level"], found["tls"]["level"], found["server_clock"]["level"]) == ("ok", "ok", "ok")


@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs faketime (setup.sh --dev installs it)")
def test_a_clock_two_days_behind_the_server_fails(tmp_path: Path, server: Server, reader: PtyScanner) -> None:
    kiosk = enrolled_kiosk(tmp_path, server, reader)
    code, found = doctor(kiosk, prefix=("faketime", "-f", "-2d"))  # the kiosk process's clock only
    assert code == 1 and found["server_clock"]["level"] == "fail"
    assert found["server_clock"]["params"]["offset"].startswith("-2 d ")
    assert found["server_clock"]["fix"] == render("fix_clock_offset", "vi")
    assert "(kiosk chạy chậm hơn)" in found["server_clock"]["message"]


def test_corrupt_and_quarantined_databases(tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path / "k")
    kiosk.record(50)
    db = kiosk.data_dir / DB_NAME
    with VisitStore(db):  # opening and closing checkpoints the WAL into the file
        pass
    with db.open("r+b") as fh:  # a page in the middle, overwritten as a failing SD card does
        fh.seek(2 * 4096)
        fh.write(os.urandom(4096))
    moved = kiosk.data_dir / f"{DB_NAME}.corrupt-20261123T010203Z"
    moved.write_bytes(b"kept for recovery")
    done = run_cli("--config", str(kiosk.config_file), "doctor", "--json", "--timeout", "3")
    database = [f for f in json.loads(done.stdout)["findings"] if f["check"] == "database"]
    assert done.code == 1
    assert [(f["level"], f["code"]) for f in database] == [("fail", "doctor_db_corrupt"), ("warn", "doctor_db_quarantined")]
    assert database[0]["fix"] == render("fix_db_corrupt", "vi") and database[1]["params"]["path"] == str(moved)


def test_a_full_disk_fails(tmpfs: Tmpfs) -> None:
    assert tmpfs.kiosk("status").code == 0  # creates the store
    tmpfs.fill()
    done = tmpfs.run(*kiosk_argv(tmpfs.data_dir, "doctor", "--json", "--timeout", "3"))
    found = {f["check"]: f for f in json.loads(done.stdout)["findings"]}
    assert done.code == 1
    assert (found["disk_space"]["level"], found["disk_space"]["code"]) == ("fail", "doctor_disk_full")
    assert found["disk_space"]["params"]["free_bytes"] == 0
    assert found["database"]["level"] == "ok"  # a full disk is not a corrupt database


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory an unprivileged user can reach (pytest's own tmp root is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="doctor-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_a_reader_the_user_may_not_open_fails_with_the_group_fix(shared_dir: Path) -> None:
    reader = PtyScanner(shared_dir / "reader")  # /dev/pts/N: root's, mode 620, group tty
    try:
        data = shared_dir / "data"
        data.mkdir()
        os.chown(data, 65534, 65534)
        argv = [
            "setpriv",
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            *kiosk_argv(
                data,
                "--set",
                "scanners.serial.enabled=true",
                "--set",
                f"scanners.serial.port={reader.link}",
                "doctor",
                "--json",
                "--timeout",
                "3",
            ),
        ]
        done = completed(
            subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "HOME": str(shared_dir)})
        )
    finally:
        reader.close()
    report = json.loads(done.stdout)
    found = {f["check"]: f for f in report["findings"]}
    assert done.code == 1 and report["user"] == "nobody"
    assert (found["readers"]["level"], found["readers"]["code"]) == ("fail", "doctor_reader_denied")
    assert found["readers"]["fix"].startswith("sudo usermod -aG dialout nobody")
    assert found["data_dir"]["level"] == "ok"


def test_an_invalid_config_is_reported_as_a_failed_check(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text("[storage]\nretention_dayz = 3\n")
    result = run_cli("--config", str(config), "doctor", "--lang", "en")
    assert result.code == 1 and "Traceback" not in result.stderr
    first, fix, total = result.stdout.splitlines()
    assert first.startswith("FAIL   The configuration is invalid: ") and "storage.retention_dayz: unknown key" in first
    assert fix == "       → Fix: " + render("fix_config_invalid", "en")
    assert total == "Total: 0 ok, 0 warnings, 1 failed."


def test_an_unsynchronised_clock_is_a_warning_with_its_source(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # timedatectl as it answers on a Pi booted without network
    bin_dir.mkdir()
    (bin_dir / "timedatectl").write_text("#!/bin/sh\necho no\n")
    (bin_dir / "timedatectl").chmod(0o755)
    result = run_cli("doctor", "--json", data_dir=tmp_path / "data", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    clock = next(f for f in json.loads(result.stdout)["findings"] if f["check"] == "clock")
    assert (clock["level"], clock["params"]["source"], clock["fix"]) == ("warn", "timedatectl", render("fix_clock", "vi"))


def test_a_check_that_hangs_or_crashes_is_its_own_failed_line() -> None:
    never = threading.Event()

    def hangs(_ctx: DoctorContext) -> list[Finding]:
        never.wait()
        return []

    def crashes(_ctx: DoctorContext) -> list[Finding]:
        raise RuntimeError("0912345678")  # whatever it carries is not shown

    def fine(_ctx: DoctorContext) -> list[Finding]:
        return [Finding("fine", "ok", "doctor_tls_ok")]

    findings = run_checks(DoctorContext(Config(), None, timeout_s=0.5), [("hangs", hangs), ("crashes", crashes), ("fine", fine)])
    assert [(f.check, f.level, f.code) for f in findings] == [
        ("hangs", "fail", "doctor_check_timeout"),
        ("crashes", "fail", "doctor_check_crashed"),
        ("fine", "ok", "doctor_tls_ok"),
    ]
    assert "0912345678" not in findings[1].message("vi") and "RuntimeError" in findings[1].message("vi")
    never.set()


def test_the_camera_check_opens_the_device_and_decodes_a_frame(tmp_path: Path) -> None:
    # A video file through the real OpenCV capture path stands in for the camera.
    kiosk = Kiosk(tmp_path / "k")
    video = write_video(tmp_path / "camera.avi", [scene("0912345678")] * 3)

    def camera_finding(device: str) -> dict[str, Any]:
        done = subprocess.run(
            [
                CLI,
                "--config",
                str(kiosk.config_file),
                "--set",
                "scanners.camera.enabled=true",
                "--set",
                f"scanners.camera.device={device}",
                "doctor",
                "--json",
                "--timeout",
                "20",
            ],
            capture_output=True,
            timeout=120,
        )
        return next(f for f in json.loads(done.stdout)["findings"] if f["check"] == "camera")

    seen = camera_finding(str(video))
    assert (seen["level"], seen["code"], seen["params"]["codes"]) == ("ok", "doctor_camera_ok", 1)
    missing = camera_finding(str(tmp_path / "unplugged.avi"))
    assert (missing["level"], missing["fix"]) == ("fail", render("fix_camera", "vi", user=missing["params"]["user"]))
