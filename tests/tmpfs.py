"""A real small filesystem for tests: a tmpfs in a private user+mount namespace (``unshare -rm``).

Full and read-only disks (a full SD card, a write-protected USB stick) are real this way:
nothing outside the test sees the mount, and no root is needed. Commands that must see it
run inside the namespace through nsenter.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from kiosk.store import DB_NAME
from tests.conftest import CLI, CliResult


def kiosk_argv(data_dir: Path, *args: str) -> list[str]:
    return [CLI, "--set", f"storage.data_dir={data_dir}", *args]


def completed(process: subprocess.Popen[bytes], stdin: bytes | None = None) -> CliResult:
    stdout, stderr = process.communicate(stdin, timeout=60)
    return CliResult(process.returncode, stdout.decode("utf-8"), stderr.decode("utf-8"))


class Tmpfs:
    """A tmpfs mounted in a private user+mount namespace, kept alive by a holder process.

    Commands run inside the namespace through nsenter; the rest of the machine never sees
    the mount, and it disappears with the holder.
    """

    def __init__(self, mountpoint: Path, size: str) -> None:
        mountpoint.mkdir()
        self.mountpoint = mountpoint
        self.data_dir = mountpoint / "data"
        self.filler = mountpoint / "filler"
        script = 'mount -t tmpfs -o "size=$1" tmpfs "$2" && echo mounted && exec sleep infinity'
        self._holder = subprocess.Popen(
            ["unshare", "-rm", "sh", "-c", script, "sh", size, str(mountpoint)], stdout=subprocess.PIPE, text=True
        )
        assert self._holder.stdout is not None
        assert self._holder.stdout.readline() == "mounted\n", "cannot mount a tmpfs with unshare -rm"

    def argv(self, *argv: str) -> list[str]:
        return ["nsenter", "-t", str(self._holder.pid), "-U", "-m", "--preserve-credentials", *argv]

    def run(self, *argv: str) -> CliResult:
        return completed(subprocess.Popen(self.argv(*argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE))

    def kiosk(self, *args: str) -> CliResult:
        return self.run(*kiosk_argv(self.data_dir, *args))

    def fill(self, leave: int = 0) -> None:
        """Fill the filesystem to the last byte, then give ``leave`` bytes back."""
        script = 'dd if=/dev/zero of="$1" bs=4096 2>/dev/null; truncate -s "-$2" "$1" && stat -f -c "%a %S" "$1"'
        result = self.run("sh", "-c", script, "sh", str(self.filler), str(leave))
        free_blocks, block_size = map(int, result.stdout.split())
        assert free_blocks * block_size == leave, result

    def remount_read_only(self) -> None:
        assert self.run("mount", "-o", "remount,ro", str(self.mountpoint)).code == 0

    def copy_store_out(self, destination: Path) -> Path:
        """The store's files (database, WAL), copied out of the namespace as they are."""
        destination.mkdir()
        assert self.run("sh", "-c", 'cp "$1"/* "$2"/', "sh", str(self.data_dir), str(destination)).code == 0
        return destination / DB_NAME

    def close(self) -> None:
        self._holder.kill()
        self._holder.wait()
        assert self._holder.stdout is not None
        self._holder.stdout.close()
