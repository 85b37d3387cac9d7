"""The kiosk on the Raspberry Pi's processor: ``setup.sh --service`` in a Debian 12 arm64 root.

An on-demand campaign, not part of a test run: with ``CHECKPOINT_ARM64=1`` only, as root::

    CHECKPOINT_ARM64=1 .venv/bin/pytest tests/test_arm64.py -m slow -s

Debian 12 arm64 is the userland of 64-bit Raspberry Pi OS (Bookworm). The root is made
by ``debootstrap --arch=arm64`` and every arm64 program in it runs on this x86 machine
through qemu-user (``apt-get install qemu-user-static binfmt-support`` registers
qemu-aarch64 with binfmt_misc). In it, exactly as tests/test_install.py does on amd64:
``setup.sh --service`` for real (apt, the venv with Kivy's, OpenCV's and zxing-cpp's
aarch64 wheels, evdev compiled from source, the user, rules, units); then, as the kiosk's
user: a visit recorded, QR codes decoded through OpenCV + zxing-cpp from a PNG and an
MJPEG video, and the touchscreen app started under SDL's offscreen driver (Mesa's
software GL) to its ready scan screen, with a screenshot.

What this shows: the code, its wheels and its compiled extension work on aarch64 with
Debian 12's libraries. What it does not: anything about a Pi's speed (every instruction
is emulated; the step times printed say how long the emulation took), its GPU (vc4/v3d)
or KMS/DRM, its devices. Far too slow for every run (21 minutes on two cores), so
it is skipped unless asked for; asked for, a missing tool is a failure, not a skip.

``CHECKPOINT_ARM64_ROOT=DIR`` keeps the root in DIR and reuses it on the next run
(debootstrap is not repeated; setup.sh runs again, as an update would). The screenshot
and a JSON report (versions, wheel tags, step times) go to ``CHECKPOINT_ARM64_OUT``
(default: the test's temporary directory); their paths are printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_install import VENV, DebianRoot

REPO = Path(__file__).resolve().parents[1]
COMMAND = "CHECKPOINT_ARM64=1 .venv/bin/pytest tests/test_arm64.py -m slow -s"
ENABLED = os.environ.get("CHECKPOINT_ARM64") == "1"
BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
EMULATED_TIMEOUT = 3600  # per command inside the root: apt and pip under qemu take many minutes
SITE = f"{VENV}/lib/python3.11/site-packages"
AARCH64 = 183  # ELF e_machine of an AArch64 binary
KIOSK_USER = "checkpoint-kiosk"
WHEELS = ("kivy", "opencv_python_headless", "zxing_cpp", "numpy", "evdev", "cryptography", "pydantic_core")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2 * EMULATED_TIMEOUT),
    pytest.mark.skipif(
        not ENABLED,
        reason="on-demand campaign (arm64 under qemu-user, about 20 minutes on 2 cores), "
        f"not part of a test run: as root, {COMMAND}",
    ),
]


def missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, unshare)"
    for tool in ("debootstrap", "unshare", "chroot"):
        if shutil.which(tool) is None:
            return f"{tool} is missing: run ./setup.sh --dev"
    binfmt = BINFMT.read_text().splitlines() if BINFMT.exists() else []
    flags = next((line.removeprefix("flags: ") for line in binfmt if line.startswith("flags: ")), "")
    if binfmt[:1] != ["enabled"] or "F" not in flags:
        return (
            "qemu-aarch64 is not registered with binfmt_misc (with the F flag, so that it works inside a chroot): "
            "apt-get install qemu-user-static binfmt-support; where no service starts it (a container), "
            "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && update-binfmts --enable qemu-aarch64"
        )
    return None


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    reason = missing_tools()
    if reason:  # asked for explicitly: a missing tool is a failure
        pytest.fail(f"the arm64 campaign cannot run: {reason}")


# --- the report: what installed, how long each step took -------------------------------


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = Path(os.environ.get("CHECKPOINT_ARM64_OUT") or tmp_path_factory.mktemp("arm64-out"))
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def report(out: Path) -> Iterator[dict[str, Any]]:
    found: dict[str, Any] = {"steps_s": {}, "note": "times are qemu-user emulation on x86_64, not a Pi's speed"}
    yield found
    (out / "arm64-report.json").write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    print(f"\narm64 report: {out / 'arm64-report.json'}")
    for step, seconds in found["steps_s"].items():
        print(f"  {step:<28} {seconds:8.1f} s")


@contextmanager
def timed(report: dict[str, Any], step: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        report["steps_s"][step] = round(time.monotonic() - start, 1)


# --- the arm64 root and the installed kiosk --------------------------------------------


@pytest.fixture(scope="module")
def arm64(tmp_path_factory: pytest.TempPathFactory, report: dict[str, Any]) -> Iterator[DebianRoot]:
    keep = os.environ.get("CHECKPOINT_ARM64_ROOT")
    path = Path(keep) / "root" if keep else tmp_path_factory.mktemp("arm64") / "root"
    root = DebianRoot(path, arch="arm64", timeout=EMULATED_TIMEOUT)
    if (path / "etc/debian_version").exists():
        root.copy_checkout()
    else:
        with timed(report, "debootstrap --arch=arm64"):
            root.create()
    yield root
    if not keep:
        shutil.rmtree(root.path, ignore_errors=True)  # over a gigabyte


@pytest.fixture(scope="module")
def installed(arm64: DebianRoot, report: dict[str, Any]) -> str:
    with timed(report, "setup.sh --service"):
        return arm64.setup("--service")


def kiosk_user(root: DebianRoot, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return root.run("runuser", "-u", KIOSK_USER, "--", *argv, check=check)


def elf_machine(path: Path) -> int:
    with path.open("rb") as f:
        header = f.read(20)
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


def test_the_root_is_arm64_and_runs_through_qemu(arm64: DebianRoot, report: dict[str, Any]) -> None:
    assert arm64.run("uname", "-m").stdout.strip() == "aarch64"  # qemu-user reports the guest's machine
    assert arm64.run("dpkg", "--print-architecture").stdout.strip() == "arm64"
    assert elf_machine(arm64.file("/usr/bin/dpkg")) == AARCH64
    report["debian"] = arm64.file("/etc/debian_version").read_text().strip()


def test_setup_installs_the_aarch64_wheels_and_builds_evdev(arm64: DebianRoot, installed: str, report: dict[str, Any]) -> None:
    assert "they start at the next boot" in installed
    python = arm64.run(f"{VENV}/bin/python", "-c", "import platform; print(platform.machine(), platform.python_version())")
    assert python.stdout.split()[0] == "aarch64"
    report["python"] = python.stdout.split()[1]
    listed = json.loads(arm64.run(f"{VENV}/bin/python", "-m", "pip", "list", "--format=json").stdout)
    report["packages"] = {p["name"]: p["version"] for p in listed}
    tags = {}
    site = arm64.file(SITE)
    for name in WHEELS:
        info = next(p for p in site.iterdir() if p.name.lower().startswith(f"{name}-") and p.name.endswith(".dist-info"))
        tags[name] = [line.split(": ", 1)[1] for line in (info / "WHEEL").read_text().splitlines() if line.startswith("Tag: ")]
        assert tags[name] and all(tag.endswith("aarch64") for tag in tags[name]), (name, tags[name])
    report["wheel_tags"] = tags
    assert {k.lower(): v for k, v in report["packages"].items()}["kivy"] == "2.3.1"
    # evdev has no wheel: pip built it here, with the root's gcc (a plain linux_ tag, not manylinux).
    assert tags["evdev"] == ["cp311-cp311-linux_aarch64"]
    extensions = sorted(arm64.file(f"{SITE}/evdev").glob("*.so"))
    assert extensions and {elf_machine(so) for so in extensions} == {AARCH64}
    report["evdev_extensions"] = [so.name for so in extensions]
    for module in ("kivy", "cv2", "zxingcpp", "evdev", "numpy"):
        arm64.run(f"{VENV}/bin/python", "-c", f"import {module}")


def test_the_kiosk_user_records_a_visit(arm64: DebianRoot, installed: str, report: dict[str, Any]) -> None:
    with timed(report, "record"):
        done = kiosk_user(arm64, f"{VENV}/bin/checkpoint-kiosk", "record", "0912345678")
    assert '"status": "accepted"' in done.stdout
    report["record"] = json.loads(done.stdout)


def test_qr_codes_decode_through_opencv_and_zxing_cpp(arm64: DebianRoot, installed: str, report: dict[str, Any]) -> None:
    pytest.importorskip("segno")  # the frames are made on this machine, with the dev tools
    import cv2

    from tests.qrframes import CCCD_DUC, scene, write_video

    folder = arm64.file("/tmp/arm64-decode")
    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "card.png"), scene(CCCD_DUC, width_px=220, angle=20))
    write_video(folder / "gate.avi", [scene(None)] * 2 + [scene("Lê Anh Sơn|Nam", angle=10)] * 2)
    for path in (folder, *folder.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    with timed(report, "decode (PNG + 4-frame video)"):
        done = kiosk_user(
            arm64, f"{VENV}/bin/checkpoint-kiosk", "decode", "/tmp/arm64-decode/card.png", "/tmp/arm64-decode/gate.avi"
        )
    found = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(f["file"], f["frame"], f["text"], f["kind"]) for f in found] == [
        ("/tmp/arm64-decode/card.png", 0, CCCD_DUC, "cccd"),
        ("/tmp/arm64-decode/gate.avi", 2, "Lê Anh Sơn|Nam", "opaque"),
    ]
    report["decoded"] = found


# The app under tests/ui_harness.py, inside the root, as the kiosk's user, with the
# installed code and config (only the window is not full-screen, so the screenshot is the
# 7" display's 800×480).
DRIVE = """\
import json, sys
from pathlib import Path

import tests.waiting
tests.waiting.WAIT_S = float(sys.argv[2])  # emulated: an answer can take minutes
from tests.ui_harness import UiKiosk

tmp = Path(sys.argv[1])
kiosk = UiKiosk(tmp, "ui.fullscreen=false")
state = kiosk.wait_state(lambda s: s["screen"] == "scan" and bool(s["status"]), "the scan screen with its status")
shot = kiosk.call("shot", path=str(tmp / "arm64-ready.png"))
kiosk.call("stop")
code = kiosk.close()
print("@@RESULT " + json.dumps({"state": state, "shot": shot, "exit": code, "log": "".join(kiosk.log)}))
"""


def test_the_touchscreen_app_starts_offscreen_to_its_ready_screen(
    arm64: DebianRoot, installed: str, out: Path, report: dict[str, Any]
) -> None:
    ui = arm64.file("/tmp/arm64-ui")
    shutil.rmtree(ui, ignore_errors=True)
    (ui / "tests").mkdir(parents=True)
    (ui / "tests/__init__.py").touch()
    for name in ("ui_harness.py", "waiting.py"):
        shutil.copy(REPO / "tests" / name, ui / "tests" / name)
    (ui / "drive.py").write_text(DRIVE)
    uid, gid = (int(n) for n in arm64.passwd(KIOSK_USER)[2:4])
    for path in (ui, *ui.rglob("*")):
        os.chown(path, uid, gid)
    env = [
        "env",
        "SDL_VIDEODRIVER=offscreen",
        "SDL_AUDIODRIVER=dummy",
        "KIVY_NO_ARGS=1",
        "KIVY_NO_FILELOG=1",
        "KIVY_HOME=/tmp/arm64-ui/kivy-home",
        "PYTHONUNBUFFERED=1",
        "HOME=/tmp/arm64-ui",
    ]
    with timed(report, "app start, screenshot, exit"):
        done = kiosk_user(arm64, *env, f"{VENV}/bin/python", "/tmp/arm64-ui/drive.py", "/tmp/arm64-ui", "900", check=False)
    result_line = next((line for line in done.stdout.splitlines() if line.startswith("@@RESULT ")), None)
    assert result_line, f"exit {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
    result = json.loads(result_line.removeprefix("@@RESULT "))
    log = result["log"]
    gl = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in log.splitlines() if "[GL " in line]
    report["app"] = {"state": result["state"], "gl": gl, "exit": result["exit"]}
    assert "app ready" in log, log[-6000:]
    assert result["state"]["size"] == [800, 480]
    assert result["exit"] == 0, log[-6000:]
    shot = arm64.file(result["shot"])
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shutil.copy(shot, out / "arm64-ready-800x480.png")
    print(f"\narm64 screenshot: {out / 'arm64-ready-800x480.png'}")
