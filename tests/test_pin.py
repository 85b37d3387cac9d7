"""The admin PIN: hashed with a salt, locked out after wrong guesses, even across restarts."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.conftest import run_cli
from ui.pin import MAX_LOCKOUT_S, PIN_FILE, PinError, PinStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_pin_is_stored_hashed_with_a_salt_for_the_kiosk_user_only(tmp_path: Path) -> None:
    pins = PinStore(tmp_path)
    assert not pins.is_set
    pins.set_pin("204816")
    stored = (tmp_path / PIN_FILE).read_text()
    assert "204816" not in stored
    data = json.loads(stored)
    assert data["scheme"] == "scrypt" and len(bytes.fromhex(data["salt"])) == 16
    assert stat.S_IMODE((tmp_path / PIN_FILE).stat().st_mode) == 0o600
    other = PinStore(tmp_path / "other")
    other.set_pin("204816")
    assert json.loads((tmp_path / "other" / PIN_FILE).read_text())["hash"] != data["hash"]  # salted
    assert pins.check("204816").ok and not pins.check("204817").ok


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "１２３４", ""])
def test_only_4_to_12_ascii_digits(tmp_path: Path, pin: str) -> None:
    with pytest.raises(PinError):
        PinStore(tmp_path).set_pin(pin)


def test_lockout_after_repeated_wrong_pins_survives_a_restart_and_doubles(tmp_path: Path) -> None:
    clock = Clock()
    PinStore(tmp_path, now=clock).set_pin("2468")
    pins = PinStore(tmp_path, attempts=3, lockout_s=60, now=clock)
    assert [pins.check("0000").attempts_left for _ in range(2)] == [2, 1]
    third = pins.check("0000")
    assert not third.ok and third.locked_s == 60
    restarted = PinStore(tmp_path, attempts=3, lockout_s=60, now=clock)
    locked = restarted.check("2468")  # the right PIN does not help while locked
    assert not locked.ok and locked.locked_s == 60
    clock.now += 61
    assert restarted.check("1111").locked_s == 120  # the next miss doubles the lockout
    clock.now += 121
    assert restarted.check("2468").ok
    assert restarted.check("1111").attempts_left == 2  # a correct PIN starts the count again


def test_clock_set_back_never_locks_longer_than_the_cap(tmp_path: Path) -> None:
    clock = Clock()
    pins = PinStore(tmp_path, attempts=1, lockout_s=60, now=clock)
    pins.set_pin("2468")
    pins.check("0000")
    clock.now -= 10 * 24 * 3600
    assert pins.locked_for() == MAX_LOCKOUT_S


def test_damaged_pin_file_keeps_the_admin_screen_shut(tmp_path: Path) -> None:
    (tmp_path / PIN_FILE).write_text("{not json")
    pins = PinStore(tmp_path)
    assert pins.is_set
    assert not pins.check("1234").ok


def test_set_pin_command(tmp_path: Path) -> None:
    assert run_cli("set-pin", "--pin", "13579", data_dir=tmp_path).code == 0
    assert PinStore(tmp_path).check("13579").ok
    wrong = run_cli("set-pin", "--pin", "12", data_dir=tmp_path)
    assert wrong.code == 2 and "4-12" in wrong.stderr
    asked = run_cli("set-pin", data_dir=tmp_path, stdin=b"86420\n86420\n")
    assert asked.code == 0 and PinStore(tmp_path).check("86420").ok
