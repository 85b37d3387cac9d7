"""The district server's command line for a new IT officer, through the real CLI (CliRunner).

One database from one place (--db > $CHECKPOINT_SERVER_DB > [server] db > default) and
named in every message about it; the PostgreSQL role and database made by a command; a
printable enrolment page; and tracing audited under the name of the official who asked.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from kiosk.clock import LOCAL_TZ
from server import audit, code_sheet
from server.cli import main
from server.db import display_url
from tests.pgscratch import admin_url
from tests.server.conftest import add_checkpoint

LONG_NAME = "Chốt Ngã ba Đăk Nhau – Quốc lộ 14, cạnh trạm y tế xã Đăk Nhau (cổng chợ Đức Phong cũ), ca đêm"
NO_SUDO = {"SUDO_USER": None}


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """The CLI with no config file and no database from the environment unless ``env`` gives one."""
    base: dict[str, str | None] = {"CHECKPOINT_SERVER_CONFIG": None, "CHECKPOINT_SERVER_DB": None}
    return CliRunner().invoke(main, list(args), env={**base, **(env or {})})


@pytest.fixture
def config_for(tmp_path: Path) -> Any:
    def write(**server: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text("[server]\n" + "".join(f'{k} = "{v}"\n' for k, v in server.items()), encoding="utf-8")
        return path

    return write


# --- 2. one database, from one place, named ----------------------------------------------------


def test_the_database_comes_from_flag_then_env_then_config(db_url: str, tmp_path: Path, config_for: Any) -> None:
    config = config_for(db=db_url)
    other = f"sqlite:///{tmp_path}/other.sqlite3"
    from_config = run("where", env={"CHECKPOINT_SERVER_CONFIG": str(config)})
    assert f"{display_url(db_url)}\n" in from_config.stdout and f"{config} [server] db" in from_config.stdout
    assert from_config.exit_code == 3 and "checkpoint-server migrate`" in from_config.stdout  # empty, named
    assert run("migrate", env={"CHECKPOINT_SERVER_CONFIG": str(config)}).exit_code == 0
    ready = run("where", env={"CHECKPOINT_SERVER_CONFIG": str(config)})
    assert ready.exit_code == 0 and "sẵn sàng (ready)" in ready.stdout
    env = {"CHECKPOINT_SERVER_CONFIG": str(config), "CHECKPOINT_SERVER_DB": other}
    from_env = run("checkpoint", "list", env=env)  # the env var wins over the file: that database is empty
    assert from_env.exit_code == 3
    assert f"Database {other} is empty: run `checkpoint-server migrate`" in from_env.stderr
    assert "Traceback" not in from_env.output
    flag = run("checkpoint", "list", "--db", db_url, env=env)  # the flag wins over both
    assert flag.exit_code == 0, flag.output
    again = run("checkpoint", "list", "--db", other)
    assert f"run `checkpoint-server migrate --db {other}`" in again.stderr  # the command that migrates that one


def test_without_anything_it_is_sqlite_in_the_data_dir_and_where_says_so(tmp_path: Path) -> None:
    done = run("where", env={"XDG_DATA_HOME": str(tmp_path), "HOME": str(tmp_path)})
    assert f"sqlite:///{tmp_path}/checkpoint-server/server.sqlite3" in done.stdout
    assert "lấy từ (from): default" in done.stdout and "this machine only" in done.stdout


def test_unreachable_and_unusable_databases_are_named_without_their_password() -> None:
    unreachable = run("checkpoint", "list", "--db", "postgresql://checkpoint:s3cret@127.0.0.1:1/checkpoint")
    assert unreachable.exit_code == 3
    assert "cannot reach the database postgresql://checkpoint:***@127.0.0.1:1/checkpoint" in unreachable.stderr
    assert "s3cret" not in unreachable.output and "Traceback" not in unreachable.output
    unusable = run("checkpoint", "list", env={"CHECKPOINT_SERVER_DB": "mysql://x@127.0.0.1/db"})
    assert unusable.exit_code == 2 and "$CHECKPOINT_SERVER_DB" in unusable.stderr
    assert "Traceback" not in unusable.output


def test_help_says_where_the_database_comes_from() -> None:
    done = run("--help")
    assert "$CHECKPOINT_SERVER_DB" in done.stdout and "checkpoint-server where" in done.stdout


# --- 1. the PostgreSQL role and database --------------------------------------------------------


@pytest.fixture
def pg_names(pg_database: str) -> Iterator[tuple[str, str]]:
    """A database and role name to create (dropped afterwards); needs the tests' PostgreSQL."""
    suffix = secrets.token_hex(4)
    name, role = f"cps_local_{suffix}", f"cps_role_{suffix}"
    yield name, role
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_db_create_local_makes_role_and_database_once_and_prints_a_url_that_works(pg_names: tuple[str, str]) -> None:
    name, role = pg_names
    first = run("db", "create-local", "--name", name, "--role", role, "--admin-url", admin_url())
    assert first.exit_code == 0, first.output
    assert f"Vai trò (role) {role}: đã tạo (created)" in first.stdout
    assert f"(created, owner {role})" in first.stdout
    url = re.search(r'db = "([^"]+)"', first.stdout)
    assert url is not None and url.group(1).startswith(f"postgresql://{role}@") and url.group(1).endswith(f"/{name}")
    again = run("db", "create-local", "--name", name, "--role", role, "--admin-url", admin_url())
    assert again.exit_code == 0 and "đã có (exists)" in again.stdout and f"(exists, owner {role})" in again.stdout
    env = {"CHECKPOINT_SERVER_DB": url.group(1)}  # the printed URL, used as the officer is told to
    assert run("migrate", env=env).exit_code == 0
    assert run("where", env=env).exit_code == 0
    with psycopg.connect(admin_url()) as conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert owner == (role,)


def test_db_create_local_refuses_odd_names_and_unreachable_servers() -> None:
    odd = run("db", "create-local", "--name", "x; DROP TABLE y", "--admin-url", admin_url())
    assert odd.exit_code == 1 and "invalid database name" in odd.stderr
    down = run("db", "create-local", "--admin-url", "postgresql://postgres@127.0.0.1:1/postgres")
    assert down.exit_code == 3 and "could not create the PostgreSQL database" in down.stderr
    assert "Traceback" not in down.output


# --- 3. the enrolment code to print --------------------------------------------------------------


def decode_qr(path: Path) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(path))
    assert len(found) == 1
    return str(found[0].text)


def test_enroll_code_png_is_a_page_with_the_qr_and_its_caption(
    engine: Engine, db_url: str, tmp_path: Path, config_for: Any
) -> None:
    add_checkpoint(engine)
    config = config_for(db=db_url, public_url="https://kiemsoat.budang.example")
    png = tmp_path / "ma.png"
    done = run("enroll-code", "BD-001", "--png", str(png), env={"CHECKPOINT_SERVER_CONFIG": str(config)})
    assert done.exit_code == 0, done.output
    assert done.stderr == ""  # an https public_url: nothing to warn about
    code = re.search(r"enrolment code\): (\S+)", done.stdout).group(1)  # type: ignore[union-attr]
    expires = re.search(r"\(expires\): (\d\d:\d\d ngày \d\d/\d\d/\d{4}) \(giờ Việt Nam", done.stdout)
    assert expires is not None
    expected = datetime.now(timezone.utc).astimezone(LOCAL_TZ) + timedelta(hours=24)
    shown = datetime.strptime(expires.group(1), "%H:%M ngày %d/%m/%Y").replace(tzinfo=LOCAL_TZ)
    assert abs(shown - expected) < timedelta(minutes=2)  # Vietnam time, not UTC (7 hours off)
    from PIL import Image

    with Image.open(png) as page:
        assert page.size == code_sheet.PAGE
    qr = decode_qr(png)
    assert qr.startswith("cpk-enroll:1?server=https%3A%2F%2Fkiemsoat.budang.example") and qr.endswith(f"code={code}")


def test_the_sheet_says_everything_inside_the_page_even_for_a_long_name(tmp_path: Path) -> None:
    expires = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
    sheet = code_sheet.Sheet(
        code="7KQ2-MX4P-9TJD",
        checkpoint="BD-001",
        checkpoint_name=LONG_NAME,
        place="Xã Đăk Nhau · Huyện Bù Đăng · Tỉnh Bình Phước",
        server="https://kiemsoat.budang.example/" + "duong-dan-rat-dai/" * 6,
        expires_at=expires,
        qr_text="cpk-enroll:1?server=x&code=7KQ2-MX4P-9TJD",
        local_only=True,
    )
    placed = code_sheet.save(sheet, tmp_path / "sheet.png")
    text = " ".join(p.text for p in placed)
    for needed in (
        "7KQ2-MX4P-9TJD",
        "BD-001",
        "Đức Phong",
        "Huyện Bù Đăng",
        "duong-dan-rat-dai",
        "08:00 ngày 24/11/2026",
        "giờ Việt Nam",
        "server.public_url",
    ):
        assert needed in text
    assert [p.text for p in placed if p.style == "code"] == ["7KQ2-MX4P-9TJD"]  # in large letters, on one line
    width, height = code_sheet.PAGE
    for p in placed:
        left, top, right, bottom = p.box
        assert left > 0 and right < width and top > 0 and bottom < height - 20, p
    assert decode_qr(tmp_path / "sheet.png") == sheet.qr_text


def test_a_code_for_this_machine_only_says_so(engine: Engine, db_url: str, config_for: Any) -> None:
    add_checkpoint(engine)
    config = config_for(db=db_url, host="0.0.0.0")
    done = run("enroll-code", "BD-001", "--json", env={"CHECKPOINT_SERVER_CONFIG": str(config)})
    assert done.exit_code == 0, done.output
    assert "server%3D" not in done.stdout and "http%3A%2F%2F127.0.0.1%3A8080" in json.loads(done.stdout)["qr"]
    assert "only a kiosk running here can use it" in done.stderr and str(config) in done.stderr


# --- 4. tracing under the official's name --------------------------------------------------------


def trace(db_url: str, *extra: str, env: dict[str, str | None]) -> Result:
    return run(
        "trace",
        "checkpoint",
        "BD-001",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-02",
        "--reason",
        "Truy vết ổ dịch chợ",
        "--db",
        db_url,
        *extra,
        env=env,
    )


def test_a_trace_is_audited_under_a_person_and_shown_in_vietnam_time(engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    as_root = {**NO_SUDO, "USER": "root", "LOGNAME": "root"}
    refused = trace(db_url, env=as_root)
    assert refused.exit_code == 2 and "--as" in refused.output and "Traceback" not in refused.output
    assert audit.entries(engine) == []  # refused before anything was looked up
    assert trace(db_url, "--as", "  Trần  Văn Bình ", env=as_root).exit_code == 0
    assert trace(db_url, env={"SUDO_USER": "ngoc", "USER": "checkpoint-server"}).exit_code == 0
    assert [e["actor"] for e in audit.entries(engine)] == ["cli:ngoc", "cli:Trần Văn Bình (login root)"]
    shown = run("audit", "--db", db_url)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0].split("  ")[0] == "Thời điểm (giờ VN)"
    assert "Người thực hiện" in shown.stdout and "Lý do" in shown.stdout and "cli:Trần Văn Bình (login root)" in shown.stdout
    at = audit.entries(engine)[0]["at"]
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    assert at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") in shown.stdout
