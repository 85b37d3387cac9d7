"""The doctor's server check (entry point ``checkpoint_kiosk.doctor_checks``): reachable, TLS
valid, the clock against the server's, and the device token accepted.

Plain http:// is judged as the sync client judges it (sync/transport.py): to this machine,
fine; to another with ``server.allow_insecure_http``, a warning (the status line is amber
for the same reason); without it, a failure, and nothing is sent, not even the probe.

Two read-only calls: the health probe (which carries the server's time) and who-am-I with
the device token. Each waits at most a third of the doctor's time box, so a server that
accepts the connection and never answers is reported, not waited for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from kiosk.catalog import N_, Word
from kiosk.doctor import DoctorContext, Finding
from kiosk.enrolment import read_enrolment
from kiosk.syncstate import server_url
from sync.client import RateLimited, Refused, ServerClient, TooLarge, Transient
from sync.errors import SyncError
from sync.transport import plain_remote, refused

# The server's clock is the reference: visits are judged and reported by it. A minute is
# noise for a weekly report; ten minutes moves visits across shifts (and near midnight, days).
WARN_OFFSET_S = 60.0
FAIL_OFFSET_S = 600.0


def offset_text(seconds: float) -> str:
    """``+2.4 s``, ``-00:12:30``, ``+2 d 00:00:05``: the same in both languages."""
    sign = "-" if seconds < 0 else "+"
    if abs(seconds) < 60:
        return f"{sign}{abs(seconds):.1f} s"
    days, rest = divmod(round(abs(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{sign}{days} d {clock}" if days else f"{sign}{clock}"


def _failure(code: str, params: dict[str, object], detail: str = "") -> Finding:
    if code == "tls_error":
        return Finding("server", "fail", "doctor_tls_invalid", "fix_tls_invalid", params)
    if code == "server_unreachable":
        return Finding("server", "fail", "doctor_server_unreachable", "fix_server_unreachable", params)
    return Finding("server", "fail", "doctor_server_bad_answer", "fix_server_address", {**params, "detail": detail or code})


def _clock_finding(server_time: datetime, local_mid: datetime) -> Finding:
    offset = (local_mid - server_time).total_seconds()  # positive: the kiosk is ahead
    params = {
        "offset": offset_text(offset),
        "offset_s": round(offset, 3),
        "direction": Word(N_("ahead")) if offset > 0 else Word(N_("behind")),
    }
    if abs(offset) >= FAIL_OFFSET_S:
        return Finding("server_clock", "fail", "doctor_server_clock_off", "fix_clock_offset", params)
    if abs(offset) >= WARN_OFFSET_S:
        return Finding("server_clock", "warn", "doctor_server_clock_off", "fix_clock_offset", params)
    return Finding("server_clock", "ok", "doctor_server_clock_ok", params=params)


def check_server(ctx: DoctorContext) -> Iterator[Finding]:
    config = ctx.config
    enrolment = read_enrolment(config.data_dir)
    server = server_url(config, enrolment)
    if server is None:
        yield Finding("server", "warn", "doctor_server_none", "fix_enrol")
        return
    wait = ctx.timeout_s / 3
    params: dict[str, object] = {"server": server, "seconds": f"{2 * wait:.0f}"}
    allowed = config.server.allow_insecure_http
    if refused(server, allowed):
        yield Finding("tls", "fail", "doctor_tls_refused", "fix_tls_refused", params)
        return
    client = ServerClient(
        server, connect_timeout_s=wait, read_timeout_s=wait, ca_file=config.server.ca_file, allow_insecure_http=allowed
    )
    try:
        wall, started = datetime.now(timezone.utc), time.monotonic()
        try:
            server_time = client.health()
        except (SyncError, Transient) as exc:
            yield _failure(exc.code, params, f"HTTP {exc.status}" if isinstance(exc, Transient) and exc.status else "")
            return
        except (Refused, TooLarge, RateLimited) as exc:
            yield _failure("server_bad_answer", params, type(exc).__name__)
            return
        local_mid = wall + timedelta(seconds=(time.monotonic() - started) / 2)
        yield Finding("server", "ok", "doctor_server_ok", params=params)
        yield _tls_finding(server, params)
        yield _clock_finding(server_time.astimezone(timezone.utc), local_mid)
        if enrolment is not None:  # not enrolled: the outbox line already says so, with the fix
            yield _token_finding(client, enrolment.token, params)
    finally:
        client.close()


def _tls_finding(server: str, params: dict[str, object]) -> Finding:
    if plain_remote(server):  # allowed, or the check would have stopped before the probe
        return Finding("tls", "warn", "doctor_tls_plain", "fix_tls_plain", params)
    if server.lower().startswith("http://"):
        return Finding("tls", "ok", "doctor_tls_loopback", params=params)
    return Finding("tls", "ok", "doctor_tls_ok", params=params)


def _token_finding(client: ServerClient, token: str, params: dict[str, object]) -> Finding:
    try:
        device = client.whoami(token)
    except Refused as exc:
        return Finding("token", "fail", "doctor_token_refused", "fix_enrol", {**params, "reason": exc.code})
    except (SyncError, Transient) as exc:
        status = exc.params.get("status") if isinstance(exc, SyncError) else exc.status
        finding = _failure(exc.code, params, f"HTTP {status}" if status else "")
        return Finding("token", finding.level, finding.code, finding.fix, finding.params)
    except (TooLarge, RateLimited) as exc:
        return Finding("token", "fail", "doctor_server_bad_answer", "fix_server_address", {**params, "detail": type(exc).__name__})
    return Finding("token", "ok", "doctor_token_ok", params={"device_id": device.device_id, "checkpoint": device.checkpoint})
