"""Touchscreen settings reach Kivy before its window exists: one input provider, rotation.

Each case is a fresh Python process (Kivy reads its configuration once per process) that
applies the kiosk's ``[ui]`` settings, opens the real window under SDL's offscreen driver
and reports what Kivy ended up with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CLI

PROBE = """
import json, sys
from kiosk.config import load_config
from ui.kiosk_window import configure
config, _ = load_config(None, sys.argv[1:])
configure(config.ui)
from kivy.config import Config
from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent
class Touch(MotionEvent):
    def depack(self, args):
        self.sx, self.sy = args
        super().depack(args)
# Where a touch at the panel's own bottom-right corner lands in the app's coordinates.
corner = Touch("probe", 1, (1.0, 0.0))
corner.scale_for_screen(*Window._get_effective_size(), rotation=Window.rotation)
print("@@" + json.dumps({"rotation": Window.rotation, "size": list(Window.size),
                         "inputs": {k: Config.get("input", k) for k in Config.options("input")},
                         "corner": [round(corner.x), round(corner.y)]}))
"""


def kivy_with(tmp_path: Path, *overrides: str) -> dict:
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "offscreen",
        "SDL_AUDIODRIVER": "dummy",
        "KIVY_NO_ARGS": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIVY_NO_FILELOG": "1",
    }
    argv = ["ui.width=800", "ui.height=480", *overrides]
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.returncode == 0, out.stderr
    return json.loads(next(line for line in out.stdout.splitlines() if line.startswith("@@"))[2:])


@pytest.mark.parametrize(
    ("rotation", "size", "corner"),
    [
        (0, [800, 480], [799, 0]),  # pixels count from 0
        (90, [480, 800], [0, 0]),  # portrait: the panel's bottom-right is the app's bottom-left
        (180, [800, 480], [0, 479]),
        (270, [480, 800], [479, 799]),
    ],
)
def test_rotation_turns_the_picture_and_the_touches_together(
    tmp_path: Path, rotation: int, size: list[int], corner: list[int]
) -> None:
    seen = kivy_with(tmp_path, f"ui.rotation={rotation}")
    assert (seen["rotation"], seen["size"], seen["corner"]) == (rotation, size, corner)


@pytest.mark.parametrize(
    ("provider", "inputs"),
    [
        ("mouse", {"mouse": "mouse,disable_multitouch"}),
        ("mtdev", {"touch": "probesysfs,provider=mtdev"}),
        ("hidinput", {"touch": "probesysfs,provider=hidinput"}),
    ],
)
def test_exactly_one_input_provider_so_one_touch_is_one_press(tmp_path: Path, provider: str, inputs: dict[str, str]) -> None:
    assert kivy_with(tmp_path, f"ui.input={provider}")["inputs"] == inputs


def test_a_rotation_kivy_cannot_do_is_a_config_error(tmp_path: Path) -> None:
    out = subprocess.run([CLI, "--set", "ui.rotation=45", "status"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "ui.rotation" in out.stderr and "Traceback" not in out.stderr
