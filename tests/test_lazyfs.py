"""The fault campaign's power-cut filesystem (faults/lazyfs.py) forgets exactly what was not fsync'd.

If it kept unsynced data, the campaign's power cuts would be kills under another name and
its zero-loss table would prove nothing; if it lost synced data, the table would blame the
kiosk for the filesystem. Needs FUSE 3 (apt fuse3, installed by ``./setup.sh --dev``).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from faults.lazyfs import LazyMount


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[LazyMount]:
    lazy = LazyMount(tmp_path / "disk", tmp_path / "mnt", tmp_path / "lazyfs.log")
    yield lazy
    lazy.close()


def write(path: Path, data: bytes, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def test_a_power_cut_keeps_synced_data_and_drops_the_rest(mount: LazyMount) -> None:
    root = mount.mountpoint
    write(root / "synced", "Nguyễn Thị Ánh Tuyết".encode(), sync=True)
    write(root / "unsynced", b"gone", sync=False)
    write(root / "synced", "Nguyễn Thị Ánh Tuyết, đã sửa".encode(), sync=False)  # an unsynced overwrite
    assert (root / "unsynced").read_bytes() == b"gone"  # readable until the cut, as from a page cache
    mount.reboot()
    assert (root / "synced").read_bytes() == "Nguyễn Thị Ánh Tuyết".encode()
    assert (root / "unsynced").read_bytes() == b""  # the name was made; its data never reached the disk


@pytest.mark.parametrize(("synchronous", "survivors"), [("FULL", 50), ("OFF", None)])
def test_sqlite_in_wal_mode_keeps_every_commit_only_with_synchronous_full(
    mount: LazyMount, synchronous: str, survivors: int | None
) -> None:
    db = mount.mountpoint / "visits.sqlite3"
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("CREATE TABLE visits (n INTEGER)")
        for n in range(50):
            conn.execute("INSERT INTO visits VALUES (?)", (n,))
        mount.cut_power()  # while the connection is still open, as the kiosk's would be
    mount.mount()
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        tables = conn.execute("SELECT name FROM sqlite_master WHERE name = 'visits'").fetchall()
        assert (conn.execute("SELECT count(*) FROM visits").fetchone()[0] if tables else None) == survivors


@pytest.mark.parametrize(("mode", "code"), [("full", errno.ENOSPC), ("readonly", errno.EROFS)])
def test_a_failing_disk_refuses_writes_until_it_recovers(mount: LazyMount, mode: str, code: int) -> None:
    path = mount.mountpoint / "file"
    write(path, b"12345678", sync=True)
    mount.set_mode(mode)  # type: ignore[arg-type]
    with pytest.raises(OSError) as refused:
        write(path, b"123456789", sync=False)
    assert refused.value.errno == code
    mount.set_mode("ok")
    write(path, b"123456789", sync=True)
    assert path.read_bytes() == b"123456789"
