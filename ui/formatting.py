"""The words and colours on screen, computed from plain data so they are tested without Kivy.

Every function takes the translation function ``_`` (``tr._`` in the app) so the same
code speaks Vietnamese or English; placeholders are filled after translating.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any, Protocol

from kiosk.catalog import N_
from kiosk.clock import LOCAL_TZ
from kiosk.scan import ScanResult

Translate = Callable[[str], str]

# Colours chosen for a screen in the sun: saturated panels, white on green and red,
# black on amber (white on amber is unreadable outdoors).
COLOURS = {
    "ready": ((0.15, 0.20, 0.24, 1), (1, 1, 1, 1)),
    "accepted": ((0.09, 0.50, 0.20, 1), (1, 1, 1, 1)),
    "repeat": ((1.0, 0.72, 0.0, 1), (0, 0, 0, 1)),
    "rejected": ((0.75, 0.10, 0.10, 1), (1, 1, 1, 1)),
    # recorded, but the certificate or card is expired, revoked, unknown or not genuine: never green
    "certificate": ((0.88, 0.33, 0.0, 1), (1, 1, 1, 1)),
}
LEVEL_COLOURS = {"ok": (0.80, 0.90, 0.80, 1), "warn": (1.0, 0.80, 0.25, 1), "error": (1.0, 0.45, 0.40, 1)}


class ReaderStatus(Protocol):
    source: str
    state: Any


class SyncView(Protocol):
    enrolled: bool
    pending: int
    last_success_at: datetime | None
    last_error: str | None
    needs_reenrolment: bool
    online: bool | None


@dataclass(frozen=True)
class Panel:
    """What the big result panel shows."""

    state: str  # ready / accepted / certificate (recorded, certificate not to be trusted) / repeat / rejected
    title: str
    summary: str
    detail: str


def direction_word(direction: str | None, _: Translate) -> str:
    return {"in": _("ENTRY"), "out": _("EXIT")}.get(direction or "", "")


def signature_text(signature: str, _: Translate) -> str:
    words = {
        "valid": _("Certificate valid"),
        "bad_signature": _("Certificate INVALID: bad signature"),
        "unknown_signer": _("Certificate signer unknown"),
        "expired": _("Certificate EXPIRED"),
        "not_yet_valid": _("Certificate not yet valid"),
        "not_checked": _("Certificate signature not checked"),
    }
    return words.get(signature, signature)


def card_text(check: str, _: Translate) -> str:
    words = {
        "valid": _("District card valid"),
        "bad_signature": _("Card INVALID: changed after signing"),
        "unknown_signer": _("Card signed by another district or an unknown key"),
        "revoked": _("Card REVOKED by the district (lost or replaced)"),
        "not_checked": _("Card not checked: no district key on this kiosk yet"),
    }
    return words.get(check, check)


def panel_for(result: ScanResult | None, _: Translate) -> Panel:
    """The panel for a scan result, or the ready panel when ``result`` is None."""
    if result is None:
        return Panel("ready", _("READY"), _("Scan a QR code"), _("ID card, vaccine certificate or phone number"))
    detail = signature_text(result.details["signature"], _) if "signature" in result.details else ""
    if "card" in result.details:
        detail = card_text(result.details["card"], _)
    if result.details.get("renumbered"):
        detail = _("Old 11-digit number converted to the new 10-digit number")
    if result.status == "accepted":
        state = "certificate" if result.doubtful else "accepted"
        return Panel(
            state, _("RECORDED · {direction}").format(direction=direction_word(result.direction, _)), result.summary or "", detail
        )
    if result.status == "repeat":
        seen = result.first_seen_at.astimezone(LOCAL_TZ) if result.first_seen_at else None
        title = _("ALREADY RECORDED AT {time}").format(time=seen.strftime("%H:%M")) if seen else _("ALREADY RECORDED")
        return Panel("repeat", title, result.summary or "", detail)
    return Panel("rejected", _("NOT RECORDED"), result.reason or "", result.summary or "")


def ago(seconds: float, _: Translate) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago'."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return _("{n} min ago").format(n=minutes)
    if minutes < 48 * 60:
        return _("{n} h ago").format(n=minutes // 60)
    return _("{n} days ago").format(n=minutes // (24 * 60))


READER_NAMES = {"hid": N_("Scanner (keyboard)"), "serial": N_("Scanner"), "camera": N_("Camera")}
READER_STATES = {
    "connected": N_("ready"),
    "starting": N_("starting"),
    "waiting": N_("not connected"),
    "error": N_("ERROR"),
    "stopped": N_("stopped"),
}


def reader_text(status: ReaderStatus, _: Translate) -> str:
    state = str(getattr(status.state, "value", status.state))
    if status.source == "camera" and state == "connected":
        return _("Camera on")
    name = _(READER_NAMES.get(status.source, status.source))
    return f"{name}: {_(READER_STATES.get(state, state))}"


@dataclass(frozen=True)
class StatusLine:
    parts: tuple[str, ...]  # most important first: what a narrow screen must never drop comes first
    level: str  # ok / warn / error

    @property
    def text(self) -> str:
        return " · ".join(self.parts)


def status_line(
    readers: Sequence[ReaderStatus],
    sync: SyncView | None,
    pending: int,
    now: datetime,
    stale_s: float,
    _: Translate,
    *,
    clock_synchronised: bool | None = None,
    insecure_http: bool = False,
    rejected_unseen: int = 0,
    unsealed: bool = False,
) -> StatusLine:
    """Readers, online/offline, pending visits and the last sync; red when sync fails or is stale.

    The parts come most important first, because a small screen shows only what fits (see
    ``pack_status``; Admin → Sync shows them all): visits the server rejected that no admin
    has seen yet (red: those guests were shown green but will not reach the district until an
    admin acts; opening Admin → Sync clears it), then an unsynchronised clock (amber: visits
    are still recorded, and corrected later), then the network and the visits waiting to be
    sent, why sync fails, the last sync, readers that are not ready, a server reached over
    plain http:// off this machine (amber: ``insecure_http``, allowed by
    ``server.allow_insecure_http``; the device token crosses the network in clear), and last
    the readers that are ready. ``unsealed``: no district key yet, personal data is kept
    unsealed on this kiosk (amber, right after the clock: sealed as soon as a key arrives).
    """
    first = [_("{n} REJECTED: see Admin").format(n=rejected_unseen)] if rejected_unseen else []
    first += [_("Clock not synchronised")] if clock_synchronised is False else []
    first += [_("Data NOT SEALED: no district key")] if unsealed else []
    states = [str(getattr(r.state, "value", r.state)) for r in readers]
    ready = [reader_text(r, _) for r, state in zip(readers, states, strict=True) if state == "connected"]
    not_ready = [reader_text(r, _) for r, state in zip(readers, states, strict=True) if state != "connected"]
    level = "error" if "error" in states else "ok"
    if clock_synchronised is False or unsealed:
        level = max(level, "warn", key=_rank)
    network: list[str] = []
    trouble: list[str] = []
    last: list[str] = []
    if sync is None:
        network.append(_("no sync"))
    elif not sync.enrolled:
        network.append(_("not enrolled"))
        level = max(level, "warn", key=_rank)
    else:
        words: dict[bool | None, str] = {True: _("online"), False: _("offline"), None: _("network unknown")}
        network.append(words[sync.online])
        pending = sync.pending
        if insecure_http:
            trouble.append(_("NOT ENCRYPTED (http)"))
            level = max(level, "warn", key=_rank)
    network.append(_("{n} waiting to send").format(n=pending))
    if sync is not None and sync.enrolled:
        if sync.last_success_at is None:
            last.append(_("never synced"))
            age = None
        else:
            age = (now - sync.last_success_at).total_seconds()
            last.append(_("last sync {ago}").format(ago=ago(max(age, 0), _)))
        failing = sync.last_error is not None or sync.needs_reenrolment
        stale = pending > 0 and (age is None or age > stale_s)
        if sync.needs_reenrolment:
            network.append(_("ENROL AGAIN"))
        elif sync.last_error:
            network.append(_("sync failing"))
        if failing or stale:
            level = "error"
        elif sync.online is False and pending:
            level = max(level, "warn", key=_rank)
    if rejected_unseen:
        level = "error"
    return StatusLine(tuple(first + network + last + not_ready + trouble + ready), level)


def pack_status(parts: Sequence[str], width: float, measure: Callable[[str], float], max_lines: int) -> list[str]:
    """The status line's parts on at most ``max_lines`` lines of ``width``, never a part cut:
    each goes on the first line where it fits whole, in order of importance; one that fits
    nowhere is left out (the admin's Sync panel shows every part)."""
    lines: list[list[str]] = []
    for part in parts:
        for line in lines:
            if measure(" · ".join([*line, part])) <= width:
                line.append(part)
                break
        else:
            if len(lines) < max_lines and (measure(part) <= width or not lines):
                lines.append([part])
    return [" · ".join(line) for line in lines]


def damaged_database_text(kept: Sequence[str], _: Translate) -> str:
    """The banner while a damaged database is kept aside (kiosk/quarantine.py); empty when none is.

    It stays until an admin has dealt with the kept file: the visits not yet sent may be in it.
    """
    if not kept:
        return ""
    return _("DATABASE DAMAGED: a new one was started, the old file is kept as {name}. Tell the admin.").format(
        name=PurePath(kept[-1]).name
    )


def _rank(level: str) -> int:
    return ("ok", "warn", "error").index(level)


def counts_text(today: dict[str, Any], _: Translate) -> str:
    return _("In {n_in} · Out {n_out} · Total {total}").format(n_in=today["in"], n_out=today["out"], total=today["total"])


def local_time(moment: datetime | str) -> str:
    """HH:MM in the checkpoint's time zone, from a datetime or a stored ISO string."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(LOCAL_TZ).strftime("%H:%M")


def local_day_time(moment: datetime | str) -> str:
    """dd/mm HH:MM in the checkpoint's time zone (Vietnamese order): for lists that span days."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(LOCAL_TZ).strftime("%d/%m %H:%M")
