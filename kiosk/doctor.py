"""``checkpoint-kiosk doctor``: field diagnostics, one line per check, each with its fix.

A commune IT officer at a checkpoint needs to know in one look what is wrong and the one
thing to do about it. The core checks (config, data directory and free space, database
integrity, who may read the data files, clock, outbox and what retention purged) live
here; readers and camera (drivers/doctor.py) and the server (sync/doctor.py) join
through the entry-point group ``checkpoint_kiosk.doctor_checks``, so this package never
imports them. Every check runs on its own thread with a deadline: a
hanging network or device never hangs the doctor.
"""

from __future__ import annotations

import errno
import os
import pwd
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from kiosk.checkup_summary import LEVELS as LEVELS
from kiosk.checkup_summary import Level as Level
from kiosk.clock import LOCAL_TZ, clock_status
from kiosk.config import Config
from kiosk.messages import render, size_text
from kiosk.retention import retention_report
from kiosk.seal import grouped
from kiosk.store import DB_NAME, StorageError, VisitStore, integrity_problems, quarantined_databases
from kiosk.syncstate import read_sync_state

ENTRY_POINT_GROUP = "checkpoint_kiosk.doctor_checks"
DEFAULT_TIMEOUT_S = 10.0
# A visit takes about 1 KB with its indexes and WAL: 20 MB is still days of a busy checkpoint.
WARN_FREE_BYTES = 200 * 1024 * 1024
FAIL_FREE_BYTES = 20 * 1024 * 1024
PROBE_BYTES = 4096


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report: a level, what was found, and the one-line fix.

    ``code`` and ``fix`` are message codes (kiosk/messages.py) rendered with ``params`` in
    the reader's language; params never hold personal data (paths, counts, codes).
    """

    check: str
    level: Level
    code: str
    fix: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        return render(self.code, lang, **self.params)

    def fix_text(self, lang: str) -> str | None:
        return render(self.fix, lang, **self.params) if self.fix else None

    def to_dict(self, lang: str) -> dict[str, Any]:
        return {
            "check": self.check,
            "level": self.level,
            "code": self.code,
            "message": self.message(lang),
            "fix": self.fix_text(lang),
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class DoctorContext:
    """What every check gets: the loaded config (or why it failed to load) and the time box."""

    config: Config
    config_file: Path | None
    timeout_s: float = DEFAULT_TIMEOUT_S
    config_error: str | None = None

    @property
    def user(self) -> str:
        """Who the checks run as: permissions are judged for this user."""
        try:
            return pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:
            return str(os.geteuid())


Check = Callable[[DoctorContext], Iterable[Finding]]


# --- the core checks -----------------------------------------------------------------------


def check_config(ctx: DoctorContext) -> Iterable[Finding]:
    if ctx.config_error is not None:
        yield Finding(
            "config",
            "fail",
            "doctor_config_invalid",
            "fix_config_invalid",
            {"error": " ".join(line.strip() for line in ctx.config_error.splitlines())},
        )
    elif ctx.config_file is None:
        yield Finding("config", "warn", "doctor_config_defaults", "fix_config_defaults")
    else:
        yield Finding("config", "ok", "doctor_config_ok", params={"file": str(ctx.config_file)})


def _write_probe(directory: Path) -> OSError | None:
    """Write and fsync a few kB in ``directory``, as a visit would; the error, if any."""
    try:
        fd, name = tempfile.mkstemp(prefix=".doctor-", dir=directory)
    except OSError as exc:
        return exc
    try:
        os.write(fd, b"\0" * PROBE_BYTES)
        os.fsync(fd)
    except OSError as exc:
        return exc
    finally:
        os.close(fd)
        os.unlink(name)
    return None


def check_data_dir(ctx: DoctorContext) -> Iterable[Finding]:
    path = ctx.config.data_dir
    params = {"path": str(path), "user": ctx.user}
    if not path.is_dir():
        yield Finding("data_dir", "warn", "doctor_data_dir_missing", "fix_data_dir_missing", params)
        return
    error = _write_probe(path)
    if error is None:
        yield Finding("data_dir", "ok", "doctor_data_dir_ok", params=params)
    elif error.errno == errno.EROFS:
        yield Finding("data_dir", "fail", "doctor_data_dir_readonly", "fix_readonly", params)
    elif error.errno not in (errno.ENOSPC, errno.EDQUOT):
        yield Finding("data_dir", "fail", "doctor_data_dir_denied", "fix_data_dir_denied", params)
    free = shutil.disk_usage(path).free
    space = {"free": size_text(free), "free_bytes": free, "warn": size_text(WARN_FREE_BYTES)}
    if free < FAIL_FREE_BYTES or (error is not None and error.errno in (errno.ENOSPC, errno.EDQUOT)):
        yield Finding("disk_space", "fail", "doctor_disk_full", "fix_disk", space)
    elif free < WARN_FREE_BYTES:
        yield Finding("disk_space", "warn", "doctor_disk_low", "fix_disk", space)
    else:
        yield Finding("disk_space", "ok", "doctor_disk_ok", params=space)


def check_database(ctx: DoctorContext) -> Iterable[Finding]:
    db = ctx.config.data_dir / DB_NAME
    params = {"path": str(db), "user": ctx.user}
    if not db.exists():
        yield Finding("database", "ok", "doctor_db_missing", params=params)
    elif not os.access(db, os.R_OK):
        yield Finding(
            "database",
            "fail",
            "doctor_db_unreadable",
            "fix_data_dir_denied",
            {**params, "path": str(db), "detail": "permission denied"},
        )
    else:
        try:
            problems = integrity_problems(db, as_on_disk=True)
        except sqlite3.Error as exc:
            yield Finding("database", "fail", "doctor_db_unreadable", "fix_data_dir_denied", {**params, "detail": str(exc)})
        else:
            if not problems:
                yield Finding("database", "ok", "doctor_db_ok", params=params)
            else:
                yield Finding("database", "fail", "doctor_db_corrupt", "fix_db_corrupt", {**params, "detail": problems[0]})
    for moved in quarantined_databases(ctx.config.data_dir):
        yield Finding("database", "warn", "doctor_db_quarantined", "fix_db_quarantined", {"path": str(moved)})


def check_clock(ctx: DoctorContext) -> Iterable[Finding]:
    status = clock_status(timeout_s=min(2.0, ctx.timeout_s / 3))
    params = {"source": status.source, "detail": status.detail, "synchronised": status.synchronised}
    if status.synchronised is None:
        yield Finding("clock", "warn", "doctor_clock_unknown", "fix_clock_service", params)
    elif status.synchronised:
        yield Finding("clock", "ok", "doctor_clock_ok", params=params)
    else:
        yield Finding("clock", "warn", "doctor_clock_unsynced", "fix_clock", params)


def check_outbox(ctx: DoctorContext) -> Iterable[Finding]:
    """Pending and rejected visits, the last successful sync, whether the kiosk may send, and
    whether it seals personal data (a district key is there: amber until one is).

    Rejected visits are a finding of their own, whatever else is found: they never reach
    the district by themselves, so they must not hide behind a missing enrolment or a
    stale sync (nor hide those). A warning, not a failure: the kiosk works, an admin must act.
    """
    config = ctx.config
    key, unsealed = None, 0
    if not (config.data_dir / DB_NAME).exists():
        counts, state, rejections, retention = {"pending": 0, "rejected": 0}, None, None, None
    else:
        try:
            if integrity_problems(config.data_dir / DB_NAME, as_on_disk=True):
                raise StorageError("storage_corrupt")  # opening it would move it aside: the doctor changes nothing
            with VisitStore.in_dir(config.data_dir) as store:
                rejections = store.rejections()
                counts = {"pending": store.count("pending"), "rejected": rejections.total}
                state = read_sync_state(config, store)
                retention = retention_report(store.purge_record(), config.storage)
                key, unsealed = store.district_key(), store.unsealed()
        except (StorageError, sqlite3.Error):
            yield Finding("outbox", "warn", "doctor_outbox_unknown")
            return
    last_at = state.last_success_at if state else None
    params = {
        **counts,
        "last": last_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if last_at else "—",
        "last_success_at": last_at.isoformat() if last_at else None,
    }
    age = (datetime.now(timezone.utc) - last_at).total_seconds() if last_at else None
    if state is not None and state.needs_reenrolment:
        yield Finding("outbox", "fail", "doctor_needs_reenrolment", "fix_enrol", params)
    elif state is None or not state.enrolled:
        yield Finding("outbox", "warn", "doctor_not_enrolled", "fix_enrol", params)
    elif counts["pending"] and (age is None or age > config.ui.sync_stale_s):
        yield Finding("outbox", "warn", "doctor_outbox_stale", "fix_stale", params)
    elif not counts["rejected"]:
        yield Finding("outbox", "ok", "doctor_outbox_ok", params=params)
    if key is None:
        yield Finding("sealing", "warn", "district_key_missing", "fix_district_key", {"unsealed": unsealed})
    else:
        yield Finding("sealing", "ok", "district_key_ok", params={"fingerprint": grouped(key.fingerprint), "unsealed": unsealed})
    if rejections is not None and rejections.total:
        by_code = rejections.by_code()
        yield Finding(
            "outbox",
            "warn",
            "doctor_outbox_rejected",
            "fix_rejected",
            {
                **params,
                "by_code": by_code,
                "unseen": rejections.unseen,
                "codes": ", ".join(f"{code} {n}" for code, n in by_code.items()),
            },
        )

    if retention is not None:  # what retention dropped stays known after the visits are gone
        yield Finding("retention", "ok", retention.code, params=retention.params)


def _too_open(path: Path) -> Iterator[tuple[Path, int, int]]:
    """``path`` and everything under it that other users may read or enter: (path, mode, wanted)."""
    for current, dirs, files in os.walk(path):
        for name in (current, *(os.path.join(current, f) for f in files)):
            try:
                info = os.lstat(name)
            except OSError:  # gone meanwhile (a -shm file at close)
                continue
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                yield Path(name), mode, 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
        dirs.sort()


def check_modes(ctx: DoctorContext) -> Iterable[Finding]:
    """The data directory and every file in it (database, WAL, SHM, enrolment token, keys)
    for the kiosk's user only: each one open to others is a line with its chmod."""
    path = ctx.config.data_dir
    if not path.is_dir():
        return
    found = False
    for name, mode, wanted in _too_open(path):
        found = True
        params = {"path": str(name), "mode": f"{mode:04o}", "wanted": f"{wanted:04o}"}
        yield Finding("modes", "fail", "doctor_mode_open", "fix_mode", params)
    if not found:
        yield Finding("modes", "ok", "doctor_modes_ok", params={"path": str(path)})


CORE_CHECKS: tuple[tuple[str, Check], ...] = (
    ("config", check_config),
    ("data_dir", check_data_dir),
    ("database", check_database),
    ("modes", check_modes),
    ("clock", check_clock),
    ("outbox", check_outbox),
)


def all_checks(config_loaded: bool = True) -> list[tuple[str, Check]]:
    """The core checks, then those of drivers/ and sync/ (entry points, by name).

    Without a valid config only the config check means anything: the rest would look at
    the wrong data directory, readers and server.
    """
    if not config_loaded:
        return [CORE_CHECKS[0]]
    plugins = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    return [*CORE_CHECKS, *((entry.name, entry.load()) for entry in plugins)]


# --- the runner ----------------------------------------------------------------------------


class _Boxed:
    """One check on a daemon thread: a check stuck in a syscall is left behind, never waited for."""

    def __init__(self, name: str, check: Check, ctx: DoctorContext) -> None:
        self.name = name
        self.findings: list[Finding] | None = None
        self.crash: str | None = None
        self.thread = threading.Thread(target=self._run, args=(check, ctx), name=f"doctor-{name}", daemon=True)
        self.thread.start()

    def _run(self, check: Check, ctx: DoctorContext) -> None:
        try:
            self.findings = list(check(ctx))
        except Exception as exc:  # reported as its own failed line, by type only (no data)
            self.crash = type(exc).__name__

    def result(self, timeout_s: float) -> list[Finding]:
        if self.crash is not None:
            return [Finding(self.name, "fail", "doctor_check_crashed", "fix_check_again", {"check": self.name, "kind": self.crash})]
        if self.findings is None:
            return [
                Finding(
                    self.name, "fail", "doctor_check_timeout", "fix_check_again", {"check": self.name, "seconds": f"{timeout_s:g}"}
                )
            ]
        return self.findings


def run_checks(ctx: DoctorContext, checks: Sequence[tuple[str, Check]] | None = None) -> list[Finding]:
    """Every check at once, each within ``ctx.timeout_s``; findings in the checks' order."""
    chosen = all_checks(ctx.config_error is None) if checks is None else checks
    boxes = [_Boxed(name, check, ctx) for name, check in chosen]
    deadline = time.monotonic() + ctx.timeout_s
    for box in boxes:
        box.thread.join(max(0.0, deadline - time.monotonic()))
    return [finding for box in boxes for finding in box.result(ctx.timeout_s)]


def tally(findings: Iterable[Finding]) -> dict[Level, int]:
    """How many findings of each level: the report's last line."""
    levels = [f.level for f in findings]
    return {level: levels.count(level) for level in LEVELS}


def worst(findings: Iterable[Finding]) -> Level:
    return max((f.level for f in findings), key=LEVELS.index, default="ok")
