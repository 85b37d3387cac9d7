"""A command in a subprocess, its stdout and stderr collected line by line while it runs."""

from __future__ import annotations

import subprocess
import threading
from typing import IO


class CollectedProcess:
    def __init__(self, argv: list[str], *, stdin: bool = False) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err: list[str] = []
        self.out: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(stream, sink), daemon=True)
            for stream, sink in ((self.proc.stderr, self.err), (self.proc.stdout, self.out))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream: IO[bytes], sink: list[str]) -> None:
        for line in stream:
            sink.append(line.decode("utf-8"))

    def finish(self, timeout: float = 60) -> int:
        """The exit code, once every line the process wrote has been collected."""
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(60)
        return code
