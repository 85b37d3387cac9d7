"""Kiosk processes forked from one that has already imported the kiosk: cheap kills.

A kill trial needs a new kiosk process each time, and on a loaded 2-core machine importing
the kiosk (click, pydantic, sqlite-utils, the drivers, the sync client) costs about a CPU
second, most of a trial. This process imports them once and forks a child per trial; each
child is a process of its own that runs the real ``checkpoint-kiosk`` command line
(``kiosk.cli.main``) with its own argv, environment, standard streams and faults
(faults/kiosk_under_test.py), and dies by SIGKILL like any other. The parent starts no
thread and opens no database before forking, so a child starts as clean as a fresh one.

Protocol on stdin/stdout, one JSON line each way: ``{"argv": [...], "env": {...},
"stderr": PATH}`` → ``{"pid": N}``; ``{"reap": N}`` → ``{"status": S}`` (as waitpid gives).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import drivers.commands  # noqa: F401 - imported here once, for every child
import drivers.runtime  # noqa: F401
import sync.service  # noqa: F401
import sync.worker  # noqa: F401
from faults.kiosk_under_test import _jumping, _unsafe
from kiosk.cli import main


def child(argv: list[str], env: dict[str, str], stderr: str) -> None:
    os.environ.clear()
    os.environ.update(env)
    null = os.open(os.devnull, os.O_RDWR)
    err = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(err, 2)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the child's own streams for its life
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False, buffering=1)  # noqa: SIM115
    if synchronous := env.get("FAULTS_SYNCHRONOUS"):
        _unsafe(synchronous)
    if clock_file := env.get("FAULTS_CLOCK_FILE"):
        _jumping(Path(clock_file))
    sys.argv = ["checkpoint-kiosk", *argv]
    code = 0
    try:
        main()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:  # noqa: BLE001 - a traceback on the child's stderr, then its exit
        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        if "reap" in request:
            _, status = os.waitpid(request["reap"], 0)
            answer = {"status": status}
        else:
            pid = os.fork()
            if pid == 0:
                child(request["argv"], request["env"], request["stderr"])
            answer = {"pid": pid}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
