"""The USB rule's mount options on real filesystems, seen from a kiosk service.

No USB device exists on this machine, and systemd is not PID 1 here, so neither the udev
match nor systemd-mount itself can run (tests/test_install.py parses the rule with udev).
What can be real is what they do: the filesystem image is mounted on a loop device with
the options the rule gives systemd-mount, plus the uid=/gid= its --owner adds, AFTER a
"service" was started in a mount namespace set up as systemd sets up
checkpoint-kiosk.service (ProtectSystem=strict: a slave namespace, / read-only, /media
bound read-write). The service must see the stick, writable, and be the only one to read
what it writes there (ext4: after the README's chown of the stick's top folder). FAT and
exFAT run where the kernel has their drivers; this machine's kernel has neither (they are
skipped here, saying so), so here only ext4 runs. Everything happens in a private mount namespace (the machine's
mounts are untouched); the loop device is freed with the last mount. Needs root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "deploy/71-checkpoint-kiosk-usb.rules"
KIOSK_UID, OTHER_UID = 4242, 4243  # the kiosk's user; anyone else

# The "host": / shared (as under systemd). The "service" starts first: a slave namespace
# with /media bound read-write and the rest read-only (ProtectSystem=strict,
# ReadWritePaths=/media). Then the host mounts the stick; the service, as the kiosk's
# user, writes to it.
SCRIPT = r"""
set -eu
root=$1 image=$2 options=$3 chown=$4
mount --bind "$root" "$root" && mount --make-shared "$root"
mkdir -p "$root/media/checkpoint-kiosk" "$root/run"
unshare --mount --propagation slave sh -eu -c '
  root=$1
  mount --bind "$root/media" "$root/media" && mount -o remount,bind,ro "$root"
  touch "$root/run/started" 2>/dev/null && echo "root writable" || echo "root read-only"
  echo started > "$root/../started"
  while [ ! -e "$root/../plugged" ]; do sleep 0.05; done
  stick=$root/media/checkpoint-kiosk/STICK-sdz1
  grep -q " $stick " /proc/self/mountinfo && echo "service sees the stick"
  cd "$stick"  # the users below could not walk down /tmp/pytest-of-root (0700) to it
  setpriv --reuid @KIOSK_UID@ --regid @KIOSK_UID@ --clear-groups sh -c "umask 0077  # UMask= of the unit
    echo visits > backup.sqlite3 && echo kiosk wrote
    printf \"#!/bin/sh\necho ran\n\" > tool && chmod +x tool; ./tool 2>/dev/null || echo not executable"
  stat -c "mode %a owner %u" backup.sqlite3
  setpriv --reuid @OTHER_UID@ --regid @OTHER_UID@ --clear-groups cat backup.sqlite3 2>/dev/null || echo "others cannot read"
' sh "$root" &
trap 'touch "$root/../plugged"' EXIT  # even when the mount fails: the service goes on to report
while [ ! -e "$root/../started" ]; do sleep 0.05; done
mkdir "$root/media/checkpoint-kiosk/STICK-sdz1"
mount -o "loop,$options" "$image" "$root/media/checkpoint-kiosk/STICK-sdz1"
[ "$chown" = yes ] && chown @KIOSK_UID@ "$root/media/checkpoint-kiosk/STICK-sdz1"  # the README's step for ext4
touch "$root/../plugged"
wait
"""


def rule_options(fs_type: str) -> str:
    """What the rule passes to systemd-mount --options for ``fs_type``, with the uid=/gid= of --owner."""
    rules = RULES.read_text()
    for match in re.finditer(r'ENV\{ID_FS_TYPE\}=="([^"]+)", ENV\{CHECKPOINT_KIOSK_USB_OPTIONS\}="([^"]+)"', rules):
        if fs_type in match.group(1).split("|"):
            assert "--owner=checkpoint-kiosk --options=$env{CHECKPOINT_KIOSK_USB_OPTIONS}" in rules
            return f"{match.group(2)},uid={KIOSK_UID},gid={KIOSK_UID}"
    return re.search(r'OPTIONS\}!="\?\*", RUN\{program\}\+="\S+ .* --options=(\S+) \$devnode', rules).group(1)


@pytest.mark.parametrize(("fs_type", "mkfs"), [("vfat", "mkfs.vfat"), ("exfat", "mkfs.exfat"), ("ext4", "mkfs.ext4")])
def test_a_stick_plugged_after_the_service_started_is_the_kiosk_users_alone(tmp_path: Path, fs_type: str, mkfs: str) -> None:
    if os.geteuid() != 0 or shutil.which(mkfs) is None:
        reason = f"needs root (loop devices, mounts) and {mkfs} (./setup.sh --dev installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    if fs_type not in Path("/proc/filesystems").read_text().split():
        pytest.skip(f"this machine's kernel has no {fs_type} driver (Raspberry Pi OS kernels have one)")
    image = tmp_path / "stick.img"
    with image.open("wb") as f:
        f.truncate(16 * 2**20)
    subprocess.run([mkfs, str(image)], check=True, capture_output=True)
    (tmp_path / "root").mkdir()
    script = SCRIPT.replace("@KIOSK_UID@", str(KIOSK_UID)).replace("@OTHER_UID@", str(OTHER_UID))
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            str(tmp_path / "root"),
            str(image),
            rule_options(fs_type),
            "yes" if fs_type == "ext4" else "no",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "root read-only",
        "service sees the stick",
        "kiosk wrote",
        "not executable",
        f"mode 600 owner {KIOSK_UID}",
        "others cannot read",
    ]
