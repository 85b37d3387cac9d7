"""Files holding personal data or credentials are their owner's only, whatever the umask: the
district server's SQLite database, trace exports and enrolment pages, and the kiosk's data
directory; ``doctor`` names a file that is too open and the command that fixes it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from kiosk.store import DB_NAME
from tests.conftest import CLI
from tests.sync.conftest import SERVER_CLI

UMASKS = ["022", "000"]


def under_umask(mask: str, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real command run by a shell whose umask is ``mask``."""
    done = subprocess.run(
        ["sh", "-c", f'umask {mask} && exec "$@"', "sh", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes_under(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): mode(p) for p in [root, *root.rglob("*")]}


@pytest.mark.parametrize("mask", UMASKS)
def test_the_servers_default_database_and_its_exports_are_private(tmp_path: Path, mask: str) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "share"), "CHECKPOINT_SERVER_CONFIG": "", "CHECKPOINT_SERVER_DB": ""}
    assert under_umask(mask, SERVER_CLI, "migrate", env=env).returncode == 0
    done = under_umask(
        mask,
        SERVER_CLI,
        "checkpoint",
        "add",
        "BD-001",
        "--name",
        "Chốt Ngã ba Đăk Nhau",
        "--commune",
        "Xã Đăk Nhau",
        "--district",
        "Huyện Bù Đăng",
        "--province",
        "Tỉnh Bình Phước",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    data_dir = tmp_path / "share" / "checkpoint-server"
    files = modes_under(data_dir)
    assert "server.sqlite3" in files
    assert files == {".": 0o700, **{name: 0o600 for name in files if name != "."}}

    stale = tmp_path / "trace.csv"
    stale.write_text("an older export, 0644\n")
    os.chmod(stale, 0o644)
    for out in (stale, tmp_path / "trace.json"):
        fmt = out.suffix.removeprefix(".")
        done = under_umask(
            mask,
            SERVER_CLI,
            "trace",
            "checkpoint",
            "BD-001",
            "--from",
            "2026-11-01",
            "--to",
            "2026-12-01",
            "--reason",
            "Truy vết ổ dịch chợ Đức Phong",
            "--as",
            "Trần Văn Bình",
            "--format",
            fmt,
            "-o",
            str(out),
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert mode(out) == 0o600, out
    page = tmp_path / "ma.png"
    done = under_umask(mask, SERVER_CLI, "enroll-code", "BD-001", "--png", str(page), env=env)
    assert done.returncode == 0, done.stderr
    assert mode(page) == 0o600


@pytest.mark.parametrize("mask", UMASKS)
def test_the_kiosks_data_directory_is_private_and_doctor_says_so(tmp_path: Path, mask: str) -> None:
    data = tmp_path / "data"
    kiosk = [CLI, "--set", f"storage.data_dir={data}"]
    usb = tmp_path / "usb"
    usb.mkdir()
    for args in (["record", "0912345678"], ["manual", "--phone", "0987654321", "--name", "Lê Thị Hồng"]):
        assert under_umask(mask, *kiosk, *args).returncode == 0
    backup = json.loads(under_umask(mask, *kiosk, "backup", "--to", str(usb), "--json").stdout)["file"]
    assert mode(Path(backup)) == 0o600
    assert under_umask(mask, *kiosk, "restore", backup).returncode == 0  # keeps the current data aside
    files = modes_under(data)
    assert any(".before-restore-" in name for name in files) and DB_NAME in files
    assert {name: m for name, m in files.items() if m & 0o077} == {}
    report = json.loads(under_umask(mask, *kiosk, "doctor", "--json").stdout)
    assert [(f["level"], f["code"]) for f in report["findings"] if f["check"] == "modes"] == [("ok", "doctor_modes_ok")]


def test_doctor_names_each_file_too_open_and_the_chmod_that_fixes_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    kiosk = [CLI, "--set", f"storage.data_dir={data}"]
    assert under_umask("022", *kiosk, "record", "0912345678").returncode == 0
    os.chmod(data / DB_NAME, 0o644)
    token = data / "enrolment.json"
    token.write_text("{}")
    os.chmod(token, 0o640)
    os.chmod(data, 0o755)
    report = json.loads(under_umask("022", *kiosk, "doctor", "--json").stdout)
    found = {f["params"]["path"]: f for f in report["findings"] if f["check"] == "modes"}
    side_files = {str(data / f"{DB_NAME}-{side}") for side in ("wal", "shm")}  # SQLite gives them the database's mode
    assert {str(data), str(data / DB_NAME), str(token)} <= set(found) <= {str(data), str(data / DB_NAME), str(token), *side_files}
    assert {f["level"] for f in found.values()} == {"fail"}
    assert found[str(data / DB_NAME)]["fix"] == f"sudo chmod 0600 {data / DB_NAME}"
    assert found[str(data)]["fix"] == f"sudo chmod 0700 {data}"
    assert "mode 0640, should be 0600" in found[str(token)]["message"] or "0640" in found[str(token)]["message"]
    text = under_umask("022", *kiosk, "doctor", "--lang", "en").stdout
    assert f"{token} is open to other users (mode 0640, should be 0600)" in text
