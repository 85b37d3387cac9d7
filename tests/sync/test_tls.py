"""TLS by default, for real: a ``checkpoint-server serve`` listening on the machine's own
network address (as a district server on the LAN would), kiosks driven through the real
CLI, and the server's own warnings about the address it gives kiosks.

Plain http:// to a host that is not this machine is refused before anything is sent
(the enrolment code stays unused, the server logs no request); with
``server.allow_insecure_http = true`` it works and ``doctor`` warns; loopback always works.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.enrolment import read_enrolment
from kiosk.messages import render, render_both
from sync.transport import host_of, plain_remote, refused
from tests.sync.conftest import CHECKPOINT, Kiosk, LanServer, Server, outward_address
from tests.test_doctor import doctor, levels

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def lan_server(tmp_path: Path) -> Iterator[LanServer]:
    running = LanServer(tmp_path / "server", outward_address())
    yield running
    running.stop()
    running.engine.dispose()


def test_plain_http_to_another_machine_is_refused_before_anything_is_sent(lan_server: LanServer, tmp_path: Path) -> None:
    qr = lan_server.enroll_qr()
    code = qr.rpartition("code=")[2]
    kiosk = Kiosk(tmp_path / "refused")
    sentence = render_both("server_http_refused", server=lan_server.url)
    for args in (("--qr", qr), ("--server", lan_server.url, "--code", code)):
        result = kiosk.cli("enroll", *args)
        assert (result.code, result.stderr, result.stdout) == (2, sentence + "\n", ""), args
    assert read_enrolment(kiosk.data_dir) is None
    assert lan_server.requests("/api/v1/enroll") == 0

    allowed = Kiosk(tmp_path / "allowed", allow_insecure_http=True)
    result = allowed.cli("enroll", "--qr", qr)  # the same code: nothing redeemed it before
    assert result.code == 0, result.stderr
    assert lan_server.requests("/api/v1/enroll") == 1


def test_a_kiosk_allowed_insecure_http_syncs_and_doctor_warns_without_it_sync_and_doctor_refuse(
    lan_server: LanServer, tmp_path: Path
) -> None:
    kiosk = Kiosk(tmp_path / "k", allow_insecure_http=True)
    kiosk.enroll(lan_server)
    code, found = doctor(kiosk)
    assert (found["server"]["level"], found["token"]["level"]) == ("ok", "ok"), found
    assert (found["tls"]["level"], found["tls"]["code"], found["tls"]["fix"]) == (
        "warn",
        "doctor_tls_plain",
        render("fix_tls_plain", "vi"),
    )
    assert render("doctor_tls_plain", "vi", server=lan_server.url) == found["tls"]["message"]

    kiosk.record(2)
    kiosk = Kiosk(tmp_path / "k")  # the same kiosk, the allowance taken out of its config
    before = lan_server.requests("/api/v1/visits/batch")
    result = kiosk.cli("sync")
    assert result.code == 2 and "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]  # sync's one closing line carries the refusal and its fix
    assert all(render("server_http_refused", lang, server=lan_server.url) in last for lang in ("vi", "en")), last
    assert lan_server.requests("/api/v1/visits/batch") == before and lan_server.count() == 0
    assert len(kiosk.ids("pending")) == 2
    assert kiosk.cli("sync", "--json").json()["error"] == "server_http_refused"

    health = lan_server.requests("/api/v1/health")
    code, found = doctor(kiosk)
    assert code == 1 and levels(found).get("tls") == "fail" and "server" not in found and "token" not in found
    assert (found["tls"]["code"], found["tls"]["fix"]) == ("doctor_tls_refused", render("fix_tls_refused", "vi"))
    assert lan_server.requests("/api/v1/health") == health  # not even the probe went out


def test_the_server_warns_about_a_plain_http_public_url_at_start_and_in_enrolment_codes(
    lan_server: LanServer, server: Server
) -> None:
    # Listening on every address without public_url: QR codes would send kiosks to this machine only.
    local = f"http://127.0.0.1:{lan_server.port}"
    config = str(lan_server.config)
    assert render_both("enroll_code_local", url=local, config=config) in lan_server.log.read_text(encoding="utf-8")
    assert "server.public_url" not in server.log.read_text(encoding="utf-8")  # on 127.0.0.1 itself: nothing to say

    plain = server.cli("enroll-code", CHECKPOINT, "--server-url", "http://10.20.30.40:8080", "--json")
    assert plain.code == 0 and plain.json()["qr"].startswith("cpk-enroll:1?server=http%3A%2F%2F10.20.30.40")
    assert plain.stderr == render_both("enroll_code_plain", url="http://10.20.30.40:8080") + "\n"
    made = server.cli("enroll-code", CHECKPOINT, "--server-url", "https://kiemsoat.example.gov.vn")
    assert (made.code, made.stderr) == (0, "")
    for url in ("http://127.0.0.1:8080", "http://localhost:8080"):  # not refused, but only this machine can use it
        made = server.cli("enroll-code", CHECKPOINT, "--server-url", url)
        assert made.code == 0 and "server.public_url" in made.stderr and "plain" not in made.stderr, url


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        ("http://127.0.0.1:8080", False),
        ("http://127.8.9.10", False),
        ("http://[::1]:8080/", False),
        ("http://localhost:8080", False),
        ("HTTP://LOCALHOST", False),
        ("http://[::ffff:127.0.0.1]", False),
        ("https://kiemsoat.example.gov.vn", False),
        ("https://10.0.0.5", False),
        ("http://10.0.0.5:8080", True),
        ("http://kiemsoat.example.gov.vn", True),
        ("http://localhost.example.com", True),
        ("http://128.0.0.1", True),
        ("http://[fd00::2]:8080", True),
        ("http://0.0.0.0:8080", True),
    ],
)
def test_which_addresses_count_as_this_machine(url: str, remote: bool) -> None:
    assert plain_remote(url) is remote
    assert refused(url, allow_insecure_http=False) is remote
    assert refused(url, allow_insecure_http=True) is False


def test_host_of_names_what_an_admin_recognises() -> None:
    assert host_of("https://kiemsoat.example.gov.vn:8443/x") == "kiemsoat.example.gov.vn:8443"
    assert host_of("http://user:pw@10.0.0.5") == "10.0.0.5"
