"""Sync end to end: a real ``checkpoint-server serve`` process (SQLite, or PostgreSQL with
``pg_server``) and the real kiosk CLI.

The server is set up (checkpoint, enrolment codes, revocations) through its own Python
API on the same database file, which the serving process shares; kiosks are data
directories driven by ``checkpoint-kiosk`` subprocesses with a config file of their own.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kiosk.clock import SystemClock
from kiosk.config import Config, load_config
from kiosk.scan import ScanEvent, ScanService
from kiosk.store import VisitStore
from server import daily_counts, enrolment, places
from server.db import create_db_engine
from server.keys import Keyring
from server.migrate import upgrade
from server.schema import visits as visits_table
from sync.transport import is_loopback
from tests.conftest import CLI, CliResult, run_cli
from tests.inprocess import free_port
from tests.server.conftest import PLACE, fresh_pg_schema, pg_database  # noqa: F401 - pg_database: a fixture
from tests.sync.faultproxy import FaultProxy
from tests.waiting import wait_for

SERVER_CLI = str(Path(sys.executable).with_name("checkpoint-server"))
CHECKPOINT = "BD-001"
GIVEN = ["Ánh Tuyết", "Văn Đức", "Thị Hằng", "Quốc Việt", "Ngọc Ánh", "Hữu Lộc", "Thị Thủy", "Bá Khải"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Bùi", "Đỗ", "Điểu"]
ADDRESS = "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước"


def cccd(n: int) -> str:
    """A distinct ID card per n, with a Vietnamese name."""
    return f"0701850{n:05d}||{FAMILY[n % 8]} {GIVEN[(n // 8) % 8]}|14071985|Nữ|{ADDRESS}|10052021"


class Server:
    """``checkpoint-server serve`` (``--workers``) on a loopback port; stop and start it again on the same port."""

    def __init__(self, workdir: Path, *, batches_per_s: float = 100_000.0, db_url: str | None = None, workers: int = 1) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.db_path = workdir / "server.sqlite3"
        self.url_db = db_url or f"sqlite:///{self.db_path}"
        self.port = free_port()
        self.config = workdir / "server.toml"
        self.keyring = Keyring(workdir / "keys")  # the district's keys: every kiosk here seals to them
        self.keyring.init()
        self.config.write_text(
            f'[server]\nkeys_dir = "{self.keyring.directory}"\n[limits]\ndevice_batches_per_s = {batches_per_s}\ndevice_burst = 5\n'
        )
        self.log = workdir / "server.log"
        self.workers = workers
        self.engine: Engine = create_db_engine(self.url_db)
        upgrade(self.engine)
        places.add_checkpoint(self.engine, CHECKPOINT, "Chốt Ngã ba Đăk Nhau", PLACE, date(2026, 11, 1))
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [SERVER_CLI, "serve", "--db", self.url_db, "--port", str(self.port), "--config", str(self.config)]
                + ["--workers", str(self.workers)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._answers, "the server to answer its health probe")

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            conn.request("GET", "/api/v1/health")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def enroll_code(self) -> str:
        return enrolment.create_enroll_code(self.engine, CHECKPOINT, timedelta(hours=1), self.url, "test").code

    def enroll_qr(self, url: str | None = None) -> str:
        """The text of an enrolment QR code, naming ``url`` (default: this server) as the server."""
        return enrolment.create_enroll_code(self.engine, CHECKPOINT, timedelta(hours=1), url or self.url, "test").qr

    def visit_ids(self) -> Counter[str]:
        """Every stored visit id (as the kiosk writes it) with how many rows it has."""
        with self.engine.connect() as conn:
            return Counter(str(row[0]) for row in conn.execute(sa.select(visits_table.c.id)))

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(visits_table)).scalar_one()

    def visits(self) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            return {str(row["id"]): dict(row) for row in conn.execute(sa.select(visits_table)).mappings()}

    def cli(self, *args: str) -> CliResult:
        done = subprocess.run(
            [SERVER_CLI, *args, "--db", self.url_db, "--config", str(self.config)], capture_output=True, timeout=120
        )
        return CliResult(done.returncode, done.stdout.decode(), done.stderr.decode())


def outward_address() -> str:
    """This machine's address on its network: what a kiosk on the LAN would dial."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP: only picks the route, sends nothing
        except OSError:
            pytest.skip("this machine has no network address besides loopback")
        address = probe.getsockname()[0]
    if is_loopback(address):
        pytest.skip("this machine has no network address besides loopback")
    return address


class LanServer(Server):
    """The test server listening on every address (``--host 0.0.0.0``), reached at the machine's own."""

    def __init__(self, workdir: Path, address: str) -> None:
        self.address = address
        super().__init__(workdir)

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    SERVER_CLI,
                    "serve",
                    "--db",
                    self.url_db,
                    "--host",
                    "0.0.0.0",
                    "--port",
                    str(self.port),
                    "--config",
                    str(self.config),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # the access log is read while it runs
        wait_for(self._answers, "the server to answer its health probe")

    def requests(self, path: str) -> int:
        """How many requests for ``path`` the server's access log shows."""
        return self.log.read_text(encoding="utf-8", errors="replace").count(f" {path} HTTP/")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.stop()
    running.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A real server on each database: SQLite, and a fresh schema of the session's PostgreSQL."""
    db_url = fresh_pg_schema(request.getfixturevalue("pg_database")) if request.param == "postgresql" else None
    running = Server(tmp_path, db_url=db_url)
    yield running
    running.stop()
    running.engine.dispose()


@pytest.fixture
def proxy(server: Server) -> Iterator[FaultProxy]:
    faulty = FaultProxy(server.port, seed=20211123)
    yield faulty
    faulty.close()


# Fast retries for tests: the waits are short, the number of tries generous.
FAST = {"retries": 30, "backoff_max_s": 0.2, "probe_max_s": 0.3, "connect_timeout_s": 2.0, "read_timeout_s": 10.0}


def _toml(value: Any) -> str:
    """A value as TOML writes it: quoted text, lower-case booleans, numbers as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


class Kiosk:
    """A kiosk's data directory and config file, driven through the real ``checkpoint-kiosk``."""

    def __init__(self, root: Path, server_url: str = "", **server: Any) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.data_dir = root / "kiosk"
        self.config_file = root / "kiosk.toml"
        self.server_url = server_url
        settings = {"url": server_url, **FAST, **server}
        lines = [f"[storage]\ndata_dir = {str(self.data_dir)!r}\n[server]"]
        lines += [f"{key} = {_toml(value)}" for key, value in settings.items()]
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def argv(self, *args: str) -> list[str]:
        return [CLI, "--config", str(self.config_file), *args]

    def cli(self, *args: str) -> CliResult:
        return run_cli("--config", str(self.config_file), *args)

    def enroll(self, server: Server) -> None:
        """Enrol by the QR text, pointing at this kiosk's configured URL (a proxy) if it has one."""
        result = self.cli("enroll", "--qr", server.enroll_qr(self.server_url or server.url), "--json")
        assert result.code == 0, result.stderr

    def config(self) -> Config:
        return load_config(self.config_file)[0]

    def record(self, count: int, start: int = 0) -> list[str]:
        """``count`` new visits through the real scan service (faster than a process each)."""
        config = self.config()
        with VisitStore.in_dir(config.data_dir) as store:
            service = ScanService(config, store, clock=SystemClock())
            results = [service.handle(ScanEvent(source="serial", text=cccd(n))) for n in range(start, start + count)]
        assert all(r.status == "accepted" for r in results)
        return [r.visit_id for r in results if r.visit_id]

    def states(self) -> dict[str, str]:
        with VisitStore.in_dir(self.data_dir) as store:
            return {row["id"]: row["sync_state"] for row in store.visits(limit=None)}

    def ids(self, state: str | None = None) -> set[str]:
        return {visit_id for visit_id, s in self.states().items() if state is None or s == state}


def assert_delivered_exactly_once(server: Server, kiosk: Kiosk) -> None:
    """Every kiosk visit on the server once, nothing else there, nothing left pending, and the
    daily and monthly counts reports read equal to a full recount (whatever faults came in between)."""
    stored = server.visit_ids()
    assert set(stored.values()) <= {1}
    assert set(stored) == kiosk.ids()
    assert kiosk.ids("pending") == set() and kiosk.ids("synced") == kiosk.ids()
    assert daily_counts.recount(server.engine) == []
