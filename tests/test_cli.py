"""The console script as scripts and admins use it: JSON contract, exit codes, stdin bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest

from tests.conftest import SAMPLES, run_cli

CCCD = "070185004321|285123456|Nguyễn Thị Ánh Tuyết|14071985|Nữ|Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước|10052021"


EVERY_COMMAND = (
    "parse",
    "record",
    "manual",
    "visits",
    "status",
    "purge",
    "doctor",
    "backup",
    "restore",
    "recover",
    "run",
    "sync",
    "enroll",
    "export",
    "import-receipt",
    "scanners",
    "decode",
    "set-pin",
    "district-key",
)


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.code == 0
    listed = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == set(EVERY_COMMAND)
    assert "Run the kiosk: the touchscreen app" in result.stdout  # a plugin's help, without importing it
    assert "Exit codes" in result.stdout


# Runs the console script's main() in a fresh interpreter and writes the top-level
# packages it imported to the file named by argv[1].
IMPORTS_OF = """
import json, sys
from kiosk.cli import main
out, args = sys.argv[1], sys.argv[2:]
try:
    main(args)
except SystemExit as done:
    code = done.code
with open(out, "w") as f:
    json.dump({"code": code, "packages": sorted({name.split(".")[0] for name in sys.modules})}, f)
"""
PLUGIN_IMPORTS = {"kivy", "cv2", "requests", "zxingcpp", "drivers", "sync", "ui"}


def imports_of(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    out = tmp_path / "imports.json"
    subprocess.run([sys.executable, "-c", IMPORTS_OF, str(out), *args], capture_output=True, timeout=60, check=True)
    done = json.loads(out.read_text())
    return done["code"], set(done["packages"])


def test_help_and_status_import_no_plugin(tmp_path: Path) -> None:
    code, packages = imports_of(tmp_path, "--help")
    assert code == 0
    assert not packages & (PLUGIN_IMPORTS | {"pydantic", "sqlite_utils", "cryptography"})  # click and the CLI only
    code, packages = imports_of(tmp_path, "--set", f"storage.data_dir={tmp_path / 'data'}", "status")
    assert code == 0
    assert not packages & PLUGIN_IMPORTS


def test_listed_help_is_the_commands_own() -> None:
    """--help lists lazy commands from kiosk.cli.LISTED_HELP: it must say what the command says."""
    from kiosk.cli import LAZY_COMMANDS, LISTED_HELP, PLUGIN_GROUP, main

    plugins = {entry.name for entry in entry_points(group=PLUGIN_GROUP)}
    assert set(LISTED_HELP) == plugins | set(LAZY_COMMANDS)
    ctx = click.Context(main)
    for name, text in LISTED_HELP.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.get_short_help_str(10**6) == text, name


def test_unknown_command_is_a_usage_error() -> None:
    result = run_cli("no-such-command")
    assert result.code == 2
    assert "No such command" in result.stderr and "Traceback" not in result.stderr


def test_a_plugin_that_cannot_be_imported_breaks_only_itself(tmp_path: Path) -> None:
    """As on a server machine without Kivy: one sentence for that command, the rest works."""
    (tmp_path / "broken_plugin.py").write_text("import kivy_is_not_installed_here\n\ncommand = None\n")
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[checkpoint_kiosk.commands]\nbroken = broken_plugin:command\n")
    env = {"PYTHONPATH": str(tmp_path)}
    listing = run_cli("--help", env=env)
    assert listing.code == 0 and "broken" in listing.stdout and "(plugin: broken_plugin)" in listing.stdout
    for args in (("broken",), ("broken", "--window", "x"), ("broken", "--help")):
        result = run_cli(*args, data_dir=tmp_path / "data", env=env)
        assert result.code == 2, args
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "broken" in result.stderr and "kivy_is_not_installed_here" in result.stderr
    assert run_cli("parse", "0912345678", env=env).code == 0
    assert run_cli("status", data_dir=tmp_path / "data", env=env).code == 0


def test_parse_cccd_contract() -> None:
    result = run_cli("parse", CCCD)
    assert result.code == 0
    assert result.json() == {
        "kind": "cccd",
        "id_number": "070185004321",
        "old_id_number": "285123456",
        "name": "Nguyễn Thị Ánh Tuyết",
        "date_of_birth": "1985-07-14",
        "sex": "Nữ",
        "address": "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước",
        "issue_date": "2021-05-10",
    }


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-be", "utf-16"])
def test_parse_stdin_takes_reader_bytes(encoding: str) -> None:
    result = run_cli("parse", "-", stdin=(CCCD + "\r\n").encode(encoding))
    assert result.code == 0 and result.json()["name"] == "Nguyễn Thị Ánh Tuyết"


def test_parse_phone_and_opaque_and_rejection() -> None:
    assert run_cli("parse", "+84 912 345 678").json() == {"kind": "phone", "phone": "0912345678", "renumbered_from": None}
    opaque = run_cli("parse", "https://tokhaiyte.vn/qr/abc").json()
    assert opaque["kind"] == "opaque" and opaque["hint"] == "url"
    rejected = run_cli("parse", "+1 212 555 0100")
    assert rejected.code == 1
    assert rejected.json() == {"kind": None, "error": "Chỉ nhận số điện thoại Việt Nam.", "error_code": "phone_foreign"}


def test_parse_dcc_with_trust_dir_and_validation_clock(tmp_path: Path) -> None:
    vector = json.loads((SAMPLES / "dcc" / "AT_2DCode_raw_1.json").read_text())
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "at-dsc.pem").write_text(
        "-----BEGIN CERTIFICATE-----\n" + vector["TESTCTX"]["CERTIFICATE"] + "\n-----END CERTIFICATE-----\n"
    )
    args = ("--set", f"dcc.trust_dir={trust}", "parse", vector["PREFIX"])
    valid = run_cli(*args, "--now", vector["TESTCTX"]["VALIDATIONCLOCK"]).json()
    assert valid["kind"] == "dcc" and valid["signature"] == "valid"
    assert (valid["family_name"], valid["given_name"], valid["date_of_birth"]) == ("Musterfrau-Gößinger", "Gabriele", "1998-02-26")
    assert valid["issuer_country"] == "AT"
    assert valid["certificates"][0]["type"] == "vaccination"
    assert (valid["certificates"][0]["dose_number"], valid["certificates"][0]["total_doses"]) == (1, 2)
    assert run_cli(*args).json()["signature"] == "expired"  # today is long after its expiry
    assert run_cli("parse", vector["PREFIX"]).json()["signature"] == "not_checked"
    bad_now = run_cli(*args, "--now", "yesterday")
    assert bad_now.code == 2 and "ISO" in bad_now.stderr


def test_record_then_repeat_then_list(tmp_path: Path) -> None:
    first = run_cli("record", CCCD, "--direction", "out", "--operator", "Tổ 1", data_dir=tmp_path)
    assert first.code == 0
    body = first.json()
    assert body["status"] == "accepted" and body["direction"] == "out" and body["kind"] == "cccd"
    assert body["summary"] == "Nguyễn T. Á. T. · ID ***4321"
    again = run_cli("record", CCCD, data_dir=tmp_path).json()  # a new process, within 2.5 s
    assert again["status"] == "repeat" and again["visit_id"] == body["visit_id"] and again["first_seen_at"]
    masked = run_cli("visits", "--json", data_dir=tmp_path).json()
    assert [v["id"] for v in masked] == [body["visit_id"]]
    assert "070185004321" not in json.dumps(masked) and "fields" not in masked[0]
    full = run_cli("visits", "--json", "--full", data_dir=tmp_path)
    assert "070185004321" not in full.stdout and full.json()[0]["operator"] == "Tổ 1"
    assert "không mở được" in full.stderr and "cannot unseal" in full.stderr  # only the district server can
    table = run_cli("visits", data_dir=tmp_path)
    assert "Nguyễn T. Á. T. · ID ***4321" in table.stdout and " ra " in table.stdout and "chờ gửi" in table.stdout


def test_visits_filters(tmp_path: Path) -> None:
    run_cli("manual", "--phone", "0912345678", data_dir=tmp_path)
    assert len(run_cli("visits", "--pending", "--json", data_dir=tmp_path).json()) == 1
    assert run_cli("visits", "--rejected", "--json", data_dir=tmp_path).json() == []
    assert run_cli("visits", "--since", "2999-01-01", "--json", data_dir=tmp_path).json() == []
    assert run_cli("visits", "--pending", "--rejected", data_dir=tmp_path).code == 2


def test_manual_contract_and_rejection_exit_code(tmp_path: Path) -> None:
    ok = run_cli("manual", "--phone", "0912 345 678", "--name", "Lò Văn Páo", "--id-number", "011090001234", data_dir=tmp_path)
    assert ok.code == 0 and ok.json()["summary"] == "Lò V. P. · SĐT ***5678 · ID ***1234"
    bad = run_cli("manual", "--phone", "12ab", data_dir=tmp_path)
    assert bad.code == 1 and bad.json()["reason"] == "Số điện thoại chỉ gồm chữ số (có thể bắt đầu bằng +)."
    assert run_cli("manual", data_dir=tmp_path).code == 2  # --phone is required


def test_status_json_contract(tmp_path: Path) -> None:
    run_cli("record", CCCD, data_dir=tmp_path)
    run_cli("manual", "--phone", "0987654321", "--direction", "out", data_dir=tmp_path)
    status = run_cli("status", "--json", data_dir=tmp_path).json()
    assert status["checkpoint"]["code"] == "DEMO-01" and status["checkpoint"]["commune"] == "Xã Đăk Nhau"
    assert (status["pending"], status["rejected"]) == (2, 0)
    assert {k: status["today"][k] for k in ("in", "out", "total")} == {"in": 1, "out": 1, "total": 2}
    assert isinstance(status["clock_synchronised"], bool)
    assert status["data_dir"] == str(tmp_path)
    assert (status["district_key"], status["unsealed"]) == (None, 2)  # no key yet: both wait to be sealed
    text = run_cli("status", data_dir=tmp_path).stdout
    assert "Chờ gửi (pending): 2" in text and "Chưa có khoá của huyện" in text


def test_purge_reports_count(tmp_path: Path) -> None:
    result = run_cli("purge", "--json", data_dir=tmp_path)
    assert result.code == 0 and result.json() == {
        "purged": {"synced": 0, "rejected": 0},
        "retention_days": 30,
        "rejected_retention_days": 90,
    }


def test_default_data_dir_is_the_users_data_directory(tmp_path: Path) -> None:
    result = run_cli("manual", "--phone", "0912345678", env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.code == 0
    assert (tmp_path / "checkpoint-kiosk" / "visits.sqlite3").is_file()
