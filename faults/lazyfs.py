"""A filesystem that forgets everything not fsync'd when its power is cut (the LazyFS approach).

A SIGKILL of the kiosk keeps the operating system's page cache: whatever the process wrote
reaches the disk later. A power cut does not. To test the promise "green survives a power
cut" below the process, the kiosk's data directory is mounted through this FUSE filesystem:
it passes names through to a backing directory at once (creates, renames, unlinks, as
LazyFS does), but keeps every file's written data in its own memory until that file is
``fsync``'d (or ``fdatasync``'d); only then do the bytes reach the backing file. Cutting the
power is killing this process (SIGKILL): its memory, every unsynced write, is gone, and the
backing directory holds exactly what a disk would after the cut. "Rebooting" is mounting
the backing directory again (:class:`LazyMount`).

Reads see the unsynced data, as they would through a page cache. A file with unsynced data
is held whole in memory: the kiosk's files are small (the store, its WAL, a token).

The disk can also fail while mounted, as SD cards do: ``LazyMount.set_mode("full")`` makes
every write that needs a new byte of space fail with ENOSPC (overwriting what a file already
holds still works); ``"readonly"`` makes every change fail with EROFS and an fsync of
unsynced data fail with EIO (the card stopped taking writes); ``"ok"`` ends either. The
mode is a word in a file beside the backing directory that the filesystem re-reads.

Run it as ``python -m faults.lazyfs BACKING MOUNTPOINT MODE_FILE`` (foreground, as root or with
``/dev/fuse`` access); the campaign (faults/campaign.py) drives it through ``LazyMount``.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

import mfusepy as fuse

MOUNT_WAIT_S = 30.0
MODE_POLL_S = 0.005
Mode = Literal["ok", "full", "readonly"]


class LazyFS(fuse.Operations):
    """Passthrough to ``backing`` for names and metadata; file data held in memory until fsync."""

    use_ns = True  # utimens gets nanoseconds, as os.utime(ns=...) takes them

    def __init__(self, backing: Path, mode_file: Path) -> None:
        self.backing = backing
        self.unsynced: dict[str, bytearray] = {}  # by path inside the mount
        self.guard = threading.Lock()
        self.mode_file = mode_file
        self.mode = "ok"
        threading.Thread(target=self._watch_mode, daemon=True).start()

    def _watch_mode(self) -> None:
        while True:
            try:
                self.mode = self.mode_file.read_text().strip() or "ok"
            except FileNotFoundError:
                self.mode = "ok"
            time.sleep(MODE_POLL_S)

    def _writable(self) -> None:
        if self.mode == "readonly":
            raise fuse.FuseOSError(errno.EROFS)

    def _room(self, old_size: int, new_size: int) -> None:
        self._writable()
        if self.mode == "full" and new_size > old_size:
            raise fuse.FuseOSError(errno.ENOSPC)

    def _real(self, path: str) -> str:
        return str(self.backing) + path

    def _held(self, path: str) -> bytearray:
        """The file's data as it is now (unsynced writes included), taken into memory."""
        data = self.unsynced.get(path)
        if data is None:
            with open(self._real(path), "rb") as fh:
                data = self.unsynced[path] = bytearray(fh.read())
        return data

    # --- names and metadata: straight to the backing directory -----------------------------

    def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
        st = os.lstat(self._real(path))
        attrs = {key: getattr(st, key) for key in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size")}
        attrs |= {key: getattr(st, key) for key in ("st_atime", "st_mtime", "st_ctime")}
        with self.guard:
            if path in self.unsynced:
                attrs["st_size"] = len(self.unsynced[path])
        return attrs

    def readdir(self, path: str, fh: Any) -> list[str]:
        return [".", "..", *os.listdir(self._real(path))]

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._real(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def chmod(self, path: str, mode: int) -> int:
        self._writable()
        os.chmod(self._real(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        self._writable()
        os.chown(self._real(path), uid, gid)
        return 0

    def utimens(self, path: str, times: Any = None) -> int:
        self._writable()
        os.utime(self._real(path), ns=times) if times else os.utime(self._real(path))
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        self._writable()
        os.mkdir(self._real(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        self._writable()
        os.rmdir(self._real(path))
        return 0

    def unlink(self, path: str) -> int:
        self._writable()
        with self.guard:
            os.unlink(self._real(path))
            self.unsynced.pop(path, None)
        return 0

    def rename(self, old: str, new: str) -> int:
        self._writable()
        with self.guard:
            os.rename(self._real(old), self._real(new))
            self.unsynced.pop(new, None)
            if old in self.unsynced:
                self.unsynced[new] = self.unsynced.pop(old)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._real(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize")
        return {key: getattr(st, key) for key in keys} | {"f_namemax": st.f_namemax}

    def fsyncdir(self, path: str, datasync: int, fh: Any) -> int:
        return 0  # names are durable as soon as made

    # --- file data: held until fsync ----------------------------------------------------

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        self._room(0, 1)
        os.close(os.open(self._real(path), os.O_WRONLY | os.O_CREAT, mode))
        return 0

    def open(self, path: str, flags: int) -> int:
        if flags & os.O_TRUNC:
            self.truncate(path, 0)
        return 0

    def read(self, path: str, size: int, offset: int, fh: Any) -> bytes:
        with self.guard:
            data = self.unsynced.get(path)
            if data is not None:
                return bytes(data[offset : offset + size])
        with open(self._real(path), "rb") as real:
            return os.pread(real.fileno(), size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: Any) -> int:
        with self.guard:
            held = self._held(path)
            self._room(len(held), offset + len(data))
            if offset > len(held):
                held.extend(bytes(offset - len(held)))
            held[offset : offset + len(data)] = data
        return len(data)

    def truncate(self, path: str, length: int, fh: Any = None) -> int:
        with self.guard:
            held = self._held(path)
            self._room(len(held), length)
            del held[length:]
            held.extend(bytes(length - len(held)))
        return 0

    def fsync(self, path: str, datasync: int, fh: Any) -> int:
        with self.guard:
            if path in self.unsynced and self.mode == "readonly":
                raise fuse.FuseOSError(errno.EIO)
            data = self.unsynced.pop(path, None)
            if data is not None:
                fd = os.open(self._real(path), os.O_WRONLY)
                try:
                    os.pwrite(fd, data, 0)
                    os.ftruncate(fd, len(data))
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return 0

    def flush(self, path: str, fh: Any) -> int:
        return 0  # close() is not a durability point

    def release(self, path: str, fh: Any) -> int:
        return 0


class LazyMount:
    """``backing`` mounted at ``mountpoint`` through LazyFS in a child process; cut and remount."""

    def __init__(self, backing: Path, mountpoint: Path, log: Path) -> None:
        self.backing, self.mountpoint, self.log = backing, mountpoint, log
        self.mode_file = backing.with_name(backing.name + ".mode")
        backing.mkdir(parents=True, exist_ok=True)
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.mount()

    def mount(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "faults.lazyfs", str(self.backing), str(self.mountpoint), str(self.mode_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + MOUNT_WAIT_S
        while not os.path.ismount(self.mountpoint):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"LazyFS did not mount {self.mountpoint}: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)

    def set_mode(self, mode: Mode) -> None:
        self.mode_file.write_text(mode)
        time.sleep(4 * MODE_POLL_S)  # the filesystem has seen it

    def cut_power(self) -> None:
        """Every unsynced write is lost: the process holding them dies; the dead mount is detached."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        subprocess.run(["fusermount3", "-u", "-z", str(self.mountpoint)], check=False, capture_output=True)

    def reboot(self) -> None:
        self.cut_power()
        self.mount()

    def settle(self) -> None:
        """What the kernel's writeback does given time: every file's data reaches the disk."""
        for path in self.mountpoint.rglob("*"):
            if path.is_file() and not path.is_symlink():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            subprocess.run(["fusermount3", "-u", str(self.mountpoint)], check=False, capture_output=True)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.cut_power()


def main() -> None:
    backing, mountpoint, mode_file = Path(sys.argv[1]).resolve(), sys.argv[2], Path(sys.argv[3])
    fuse.FUSE(LazyFS(backing, mode_file), mountpoint, foreground=True, nothreads=False, default_permissions=True)


if __name__ == "__main__":
    main()
