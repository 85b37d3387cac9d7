"""A kiosk without a sound device: one line of ours, and none of Kivy's CRITICAL about its mixer.

The real ``checkpoint-kiosk run`` (SDL's offscreen video driver) on this machine, which
has no sound card; SIGTERM ends it once the line is there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import CLI
from tests.waiting import wait_for
from ui.sounds import sound_device_present

OURS = (
    "Không có thiết bị âm thanh: tắt tiếng, kiosk vẫn chạy bình thường (no sound device: sounds are off, the kiosk works as usual)"
)


def run_app(tmp_path: Path, **env: str) -> str:
    """The app's log (stderr) from start until our sound line, or until it ends."""
    inherited = {key: value for key, value in os.environ.items() if key != "SDL_AUDIODRIVER"}
    full = {
        **inherited,
        "KIVY_NO_ARGS": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIVY_NO_FILELOG": "1",
        "SDL_VIDEODRIVER": "offscreen",
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    app = subprocess.Popen(
        [CLI, "--set", f"storage.data_dir={tmp_path / 'data'}", "run", "--window"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=full,
    )
    lines: list[str] = []

    def collect() -> None:
        assert app.stderr is not None
        for line in app.stderr:
            lines.append(line.decode("utf-8", "replace"))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("no sound device" in line for line in lines) or app.poll() is not None, "the sound line")
    finally:
        app.send_signal(signal.SIGTERM)
        app.wait(60)
        reader.join(30)
    return "".join(lines)


@pytest.mark.skipif(sound_device_present({}), reason="this machine has a sound card")
def test_no_sound_card_is_one_line_of_ours_and_no_critical(tmp_path: Path) -> None:
    log = run_app(tmp_path)
    assert log.count(OURS) == 1, log
    assert "CRITICAL" not in log and "Unable to open mixer" not in log and "ALSA lib" not in log


@pytest.mark.skipif(sound_device_present({}), reason="this machine has a sound card")
def test_a_mixer_that_fails_to_open_is_our_line_not_kivys_critical(tmp_path: Path) -> None:
    log = run_app(tmp_path, SDL_AUDIODRIVER="alsa")  # told to use ALSA, which has no card here: SDL fails
    assert log.count(OURS) == 1, log
    kivys = [line for line in log.splitlines() if "CRITICAL" in line or "Unable to" in line]
    assert kivys and all("DEBUG" in line for line in kivys), kivys  # Kivy's own words only at DEBUG


def test_the_device_check(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.write_text("--- no soundcards ---\n")
    assert not sound_device_present({}, cards)
    assert sound_device_present({"SDL_AUDIODRIVER": "dummy"}, cards)
    cards.write_text(" 0 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0\n                      vc4-hdmi-0\n")
    assert sound_device_present({}, cards)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "pipewire-0").touch()
    assert sound_device_present({"XDG_RUNTIME_DIR": str(tmp_path / "run")}, tmp_path / "missing")
