"""The admin screen's USB panel, for real: back up to a stick, a full and a read-only stick,
and "Safely remove".

The "stick" is a real small filesystem (a tmpfs, tests/tmpfs.py) mounted in a private
user+mount namespace, and the whole app runs inside that namespace, so the panel finds it
in the app's own /proc/mounts as it finds a real stick (no USB device exists on this
machine: that, and the directory it is mounted on, are the only stand-ins).
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.messages import render
from tests.tmpfs import Tmpfs
from tests.ui_harness import REPO, UiKiosk, running_app
from tests.waiting import wait_for

PIN = "2468"
STICK = "KINGSTON-sda1"  # what the appliance's udev rule names a stick labelled KINGSTON on sda1


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-usb")


@pytest.fixture(scope="module")
def stick(tmp: Path) -> Iterator[Tmpfs]:
    (tmp / "media").mkdir()
    fs = Tmpfs(tmp / "media" / STICK, "4m")
    yield fs
    fs.close()


@pytest.fixture(scope="module")
def app(tmp: Path, stick: Tmpfs) -> Iterator[UiKiosk]:
    inside = stick.argv(f"--wd={REPO}")  # nsenter starts in the namespace's / otherwise
    with running_app(tmp, "kiosk.direction=in", wrap=tuple(inside)) as kiosk:
        kiosk.call("usb_roots", roots=[str(tmp / "media")])
        for phone in ("0912345678", "0987654321"):
            kiosk.call("type", text=phone)
        kiosk.wait_state(lambda s: s["counts"] == "Vào 2 · Ra 0 · Tổng 2", "two visits recorded")
        kiosk.tap("admin")
        for _twice in range(2):  # the first visit chooses the PIN
            for digit in PIN:
                kiosk.tap("keypad", text=digit)
            kiosk.tap("ok")
        kiosk.wait_state(lambda s: s["screen"] == "admin", "the admin screen")
        yield kiosk


def open_usb_panel(app: UiKiosk) -> None:
    app.tap("menu_export")
    wait_for(lambda: any(STICK in t for t in app.call("texts_under", id="sticks")), "the stick on the panel")


def message_after(app: UiKiosk, busy: str) -> str:
    wait_for(lambda: app.call("text_of", id="message") != busy, "the panel's answer")
    return app.call("text_of", id="message")


def stick_files(stick: Tmpfs) -> list[str]:
    return stick.run("ls", "-A", str(stick.mountpoint)).stdout.split()


def test_backup_from_the_panel_writes_a_backup_that_opens(app: UiKiosk, stick: Tmpfs, tmp: Path) -> None:
    open_usb_panel(app)
    app.tap("backup")
    message = message_after(app, "Đang sao lưu…")
    [name] = stick_files(stick)
    assert name.startswith("kiosk-DEMO-01-") and name.endswith(".sqlite3")
    assert message.splitlines() == [f"Đã sao lưu: {name}", message.splitlines()[1], "Tệp chứa dữ liệu cá nhân: giữ USB cẩn thận."]
    assert message.splitlines()[1].startswith("2 lượt, 2 lượt chờ gửi, ")
    copy = tmp / name  # out of the namespace, to open it here
    copy.write_bytes(subprocess.run(stick.argv("cat", str(stick.mountpoint / name)), capture_output=True, check=True).stdout)
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        assert db.execute("SELECT count(*) FROM visits").fetchone() == (2,)
    assert stick.run("stat", "-c", "%a", str(stick.mountpoint / name)).stdout.strip() == "600"
    assert Path(app.call("shot", path=str(tmp / "shots" / "admin-usb-backup-800x480.png"))).is_file()


def test_safely_remove_writes_everything_and_says_the_stick_may_be_pulled(app: UiKiosk, tmp: Path) -> None:
    open_usb_panel(app)
    app.tap("eject")
    assert message_after(app, "Đang ghi hết dữ liệu xuống USB…") == f"Đã ghi xong mọi dữ liệu lên {STICK}: có thể rút USB ra ngay."
    assert Path(app.call("shot", path=str(tmp / "shots" / "admin-usb-eject-800x480.png"))).is_file()


def test_a_full_stick_says_how_much_room_is_needed_and_keeps_nothing(app: UiKiosk, stick: Tmpfs) -> None:
    before = stick_files(stick)
    open_usb_panel(app)
    stick.fill()
    app.tap("backup")
    message = message_after(app, "Đang sao lưu…")
    assert message.startswith(f"{stick.mountpoint} không đủ chỗ trống (cần khoảng ")
    assert message.endswith("MiB): xoá bớt tệp hoặc dùng USB khác.")
    assert set(stick_files(stick)) == {*before, "filler"}  # no half backup left behind
    stick.run("rm", str(stick.filler))


def test_a_read_only_stick_says_so(app: UiKiosk, stick: Tmpfs) -> None:
    open_usb_panel(app)  # listed while writable; then its write-protect switch is slid on
    stick.remount_read_only()
    before = stick_files(stick)
    app.tap("backup")
    assert message_after(app, "Đang sao lưu…") == render("backup_readonly", "vi", directory=stick.mountpoint)
    assert stick_files(stick) == before
    app.tap("refresh")  # a read-only stick is not offered any more
    wait_for(
        lambda: app.call("text_of", id="message") == "Không thấy USB. Cắm USB rồi bấm Làm mới.",
        "the panel to find no writable stick",
    )
