"""A private PostgreSQL cluster the campaign may crash: initdb in a temp dir, its own port.

The shared PostgreSQL of the machine (127.0.0.1:5432) is never touched. The cluster runs as
the ``postgres`` user (initdb refuses root); ``crash_restart`` is ``pg_ctl restart -m
immediate``: the postmaster and every backend die without a checkpoint, as on a power
cut of the database host, and the restart replays the WAL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.inprocess import free_port

PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
OWNER = "postgres"


class PrivatePostgres:
    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        os.chmod(self.home, 0o755)
        shutil.chown(self.home, OWNER, OWNER)
        self.data = self.home / "data"
        self.port = free_port()
        self._as_owner(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *argv: str | Path) -> None:
        done = subprocess.run(["runuser", "-u", OWNER, "--", *map(str, argv)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout[-1000:]}{done.stderr[-1000:]}")

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1"
        self._as_owner(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.home / "log", "-w", "-o", options, *args)

    def start(self) -> None:
        self._pg_ctl("start")

    def crash_restart(self) -> None:
        self._pg_ctl("-m", "immediate", "restart")

    def close(self) -> None:
        try:
            self._pg_ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)
