"""The console in a real browser: Debian's chromium, driven through its chromedriver by
Selenium, against a real ``checkpoint-server serve`` process on SQLite and PostgreSQL.

The district is set up through the server's own Python API (places, officials, kiosks);
the visits arrive the way kiosks send them, over HTTP to the batch endpoint. Without
chromium the tests are skipped with the command that installs it, except in CI, where
that is a failure (setup.sh --dev installs it).
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy.engine import Engine

from server import enrolment, officials, places
from server.db import create_db_engine
from server.migrate import upgrade
from tests.inprocess import free_port
from tests.server.conftest import CCCD_FIELDS, fresh_pg_schema, in_ci, pg_database  # noqa: F401 - pg_database: a fixture
from tests.waiting import WAIT_S, wait_for

SERVER_CLI = str(Path(sys.executable).with_name("checkpoint-server"))
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PASSWORD = "mật-khẩu-đủ-dài"
DISTRICT = places.Place("Tỉnh Bình Phước", "Huyện Bù Đăng", "Xã Đăk Nhau")
OTHER_COMMUNE = places.Place("Tỉnh Bình Phước", "Huyện Bù Đăng", "Xã Minh Hưng")
DISTRICT_OFFICIAL, COMMUNE_OFFICIAL, TRACER = "Trần Văn Bình", "Điểu Thị Hằng", "Lê Quốc Việt"
PHONE, LAPTOP = (360, 800), (1366, 768)
MH_HEALTH = {"pending": 7, "clock_offset_s": 754.0, "app_version": "0.1.0"}  # MH-001's kiosk: 7 waiting, 13 min fast


@dataclass
class Console:
    url: str
    engine: Engine
    workdir: Path
    process: subprocess.Popen[bytes]
    api_token: str  # the district official's, for comparing with the API
    downloads: Path

    def whoami(self, device_token: str) -> int:
        """The status the server answers a kiosk with this token."""
        conn = http.client.HTTPConnection("127.0.0.1", int(self.url.rsplit(":", 1)[1]), timeout=30)
        conn.request("GET", "/api/v1/device", headers={"Authorization": f"Bearer {device_token}"})
        return conn.getresponse().status

    def api(self, path: str) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", int(self.url.rsplit(":", 1)[1]), timeout=30)
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.api_token}"})
        answer = conn.getresponse()
        assert answer.status == 200, answer.read()
        return json.loads(answer.read())


def _post_visits(
    url: str, token: str, device_id: str, checkpoint: str, times: list[datetime], key: int, health: dict[str, Any] | None = None
) -> None:
    batch: dict[str, Any] = {
        **({"health": health} if health else {}),
        "device_id": device_id,
        "visits": [
            {
                "id": str(uuid.uuid4()),
                "checkpoint": checkpoint,
                "direction": "in",
                "source": "serial",
                "kind": "cccd",
                "scanned_at": at.isoformat(),
                "fields": {**CCCD_FIELDS, "id_number": f"0701850{key + i:05d}"},
                "clock_synchronised": True,
                "monotonic_ns": 1,
                "boot_id": "boot-1",
            }
            for i, at in enumerate(times)
        ],
    }
    conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=30)
    conn.request(
        "POST",
        "/api/v1/visits/batch",
        body=json.dumps(batch),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    answer = conn.getresponse()
    assert answer.status == 200, answer.read()


def _district(engine: Engine) -> None:
    """Two communes: checkpoints that scan, one never enrolled, one never synced, one revoked."""
    for code, name, place in [
        ("BD-001", "Chốt Ngã ba Đăk Nhau", DISTRICT),
        ("BD-002", "Chợ Đăk Nhau", DISTRICT),
        ("MH-001", "Trạm Y tế Minh Hưng", OTHER_COMMUNE),
        ("MH-002", "Cổng UBND xã Minh Hưng", OTHER_COMMUNE),
        ("MH-003", "Chốt cầu Minh Hưng", OTHER_COMMUNE),
    ]:
        places.add_checkpoint(engine, code, name, place, date(2026, 11, 1))
    officials.add_official(
        engine, COMMUNE_OFFICIAL, "test", role="commune", district="Huyện Bù Đăng", commune="Xã Minh Hưng", password=PASSWORD
    )
    officials.add_official(engine, TRACER, "test", role="tracer", district="Huyện Bù Đăng", password=PASSWORD)


def _enrol(engine: Engine, checkpoint: str) -> tuple[str, str]:
    made = enrolment.create_enroll_code(engine, checkpoint, timedelta(hours=1), "http://127.0.0.1", "test")
    answer = enrolment.redeem(engine, made.code)
    return answer.device_id, answer.token


@pytest.fixture(params=["sqlite", "postgresql"])
def console(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    db_url = (
        fresh_pg_schema(request.getfixturevalue("pg_database"))
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path}/server.sqlite3"
    )
    engine = create_db_engine(db_url)
    upgrade(engine)
    _district(engine)
    api_token = officials.add_official(engine, DISTRICT_OFFICIAL, "test", district="Huyện Bù Đăng", password=PASSWORD)
    scanning = [_enrol(engine, "BD-001"), _enrol(engine, "MH-001")]
    _enrol(engine, "MH-002")  # enrolled, never synced
    enrolment.revoke_device(engine, _enrol(engine, "MH-003")[0], "test")
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([SERVER_CLI, "serve", "--db", db_url, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/health")
            return conn.getresponse().status == 200
        except OSError:
            return False

    wait_for(answers, "the server to answer")
    now = datetime.now(timezone.utc)
    _post_visits(url, scanning[0][1], scanning[0][0], "BD-001", [now - timedelta(hours=h) for h in (1, 2, 3, 30, 50)], 0)
    _post_visits(url, scanning[1][1], scanning[1][0], "MH-001", [now - timedelta(days=d) for d in (2, 9, 16)], 100, MH_HEALTH)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    try:
        yield Console(url, engine, tmp_path, process, api_token, downloads)
    finally:
        process.terminate()
        process.wait(timeout=30)
        engine.dispose()


@pytest.fixture
def browser(console: Console) -> Iterator[WebDriver]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = "chromium and chromium-driver are missing: apt-get install chromium chromium-driver (setup.sh --dev)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=vi"):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(console.downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(*LAPTOP)
    try:
        yield driver
    finally:
        driver.quit()


def navigate(driver: WebDriver, action: Callable[[], object]) -> None:
    """Do what loads a new page (a click, a form sent) and wait until the new page is there and
    loaded. The old page is marked with a script variable that another page does not hold; asking
    an element of the old page whether it is stale is not reliable, since Chrome answers a node
    torn down mid-navigation with an "unknown error" ("node does not belong to the document")
    rather than a stale reference, so those answers only mean "not yet"."""
    mark = uuid.uuid4().hex  # a page restored from the back-forward cache keeps its own marks
    driver.execute_script("window.__leaving = arguments[0]", mark)
    action()
    WebDriverWait(driver, WAIT_S, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.__leaving !== arguments[0] && document.readyState === 'complete'", mark)
    )


def click(driver: WebDriver, by: str, what: str) -> None:
    navigate(driver, driver.find_element(by, what).click)


def sign_in(driver: WebDriver, console: Console, name: str, password: str = PASSWORD) -> None:
    driver.get(console.url + "/login")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    click(driver, By.CSS_SELECTOR, "form[action='/login'] button")


def downloaded(console: Console, suffix: str) -> Path:
    def there() -> bool:
        # Chrome makes the final name as an empty placeholder while the bytes go to a
        # .crdownload beside it: done is the file with content and no partial left.
        files = list(console.downloads.iterdir())
        partial = any(p.suffix == ".crdownload" for p in files)
        return not partial and any(p.suffix == suffix and p.stat().st_size > 0 for p in files)

    wait_for(there, f"a {suffix} download")
    path = next(p for p in console.downloads.iterdir() if p.suffix == suffix)
    path.rename(target := console.workdir / f"got-{uuid.uuid4().hex}{suffix}")
    return target
