"""Configuration: lookup order, defaults, overrides, and errors an admin can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import Config, ConfigError, default_data_dir, load_config
from tests.conftest import REPO, run_cli


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_anywhere_gives_the_demo_defaults(tmp_path: Path) -> None:
    config, source = load_config(None, system_path=tmp_path / "missing.toml")
    assert source is None
    assert config.checkpoint.code == "DEMO-01" and config.kiosk.direction == "both"
    assert config.data_dir == default_data_dir() == tmp_path / "xdg" / "checkpoint-kiosk"


def test_example_file_documents_exactly_the_defaults() -> None:
    config, _ = load_config(REPO / "config.example.toml")
    assert config == Config()


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = write(tmp_path / "system.toml", '[checkpoint]\ncode = "SYS"\n')
    env = write(tmp_path / "env.toml", '[checkpoint]\ncode = "ENV"\n')
    explicit = write(tmp_path / "explicit.toml", '[checkpoint]\ncode = "CLI"\n')
    assert load_config(None, system_path=system)[0].checkpoint.code == "SYS"
    monkeypatch.setenv("CHECKPOINT_KIOSK_CONFIG", str(env))
    assert load_config(None, system_path=system)[0].checkpoint.code == "ENV"
    assert load_config(explicit, system_path=system)[0].checkpoint.code == "CLI"


def test_named_file_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="not found .given by --config"):
        load_config(tmp_path / "nope.toml")
    monkeypatch.setenv("CHECKPOINT_KIOSK_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match="CHECKPOINT_KIOSK_CONFIG"):
        load_config(None)


def test_overrides_are_typed_and_win(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "[storage]\nretention_days = 60\n")
    config, _ = load_config(
        path,
        [
            "storage.retention_days=7",
            "storage.data_dir=/tmp/k1",
            "checkpoint.name=Chốt Ngã ba Đồng Xoài",
            "kiosk.repeat_window_s=1",
        ],
    )
    assert config.storage.retention_days == 7
    assert config.data_dir == Path("/tmp/k1")
    assert config.checkpoint.name == "Chốt Ngã ba Đồng Xoài"
    assert config.kiosk.repeat_window_s == 1.0


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "[storage]\nretention_dayz = 3\n",
            "storage.retention_dayz: unknown key (known keys here: data_dir, rejected_retention_days, retention_days)",
        ),
        ("[storag]\n", "storag: unknown key"),
        ('[storage]\nretention_days = "30 days"\n', "storage.retention_days: input should be a valid integer, got '30 days'"),
        ("[storage]\nretention_days = 0\n", "storage.retention_days: input should be greater than or equal to 1"),
        ('[kiosk]\ndirection = "sideways"\n', "kiosk.direction: input should be 'in', 'out' or 'both', got 'sideways'"),
        ("[scanners.serial]\nbaudrate = 9600.5\n", "scanners.serial.baudrate"),
        ("[checkpoint\ncode = 1\n", "not valid TOML"),
    ],
)
def test_wrong_file_names_file_key_and_expectation(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_bad_override_syntax() -> None:
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(None, ["storage.data_dir"])


def test_cli_reports_config_errors_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", '[kiosk]\nlanguage = "fr"\n')
    result = run_cli("--config", str(path), "status")
    assert result.code == 2
    assert "Lỗi cấu hình" in result.stderr and "kiosk.language" in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
