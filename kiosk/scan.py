"""The scan service: ScanEvent → recognise → repeat check → durable visit → ScanResult.

Every input path (readers, camera, typing, manual entry, the CLI) goes through here, so
the repeat window, the direction rules and the "committed before green" promise hold
for all of them. Nothing here waits on the network. In a running kiosk (the app, ``run
--terminal``, ``run --headless``) only the readers' pipeline thread calls it: typed scans
and manual entries are queued to that thread like the readers' scans.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

from kiosk import contract
from kiosk.card_trust_file import CardTrustWatch
from kiosk.cards import CardTrust
from kiosk.catalog import gettext
from kiosk.clock import LOCAL_TZ, Clock, ClockReading, SystemClock
from kiosk.config import Config
from kiosk.contract import Direction, Kind, visit_problems
from kiosk.credentials import UNTRUSTED_CARDS, UNTRUSTED_SIGNATURES, Card, Cccd, Credential, Dcc, Opaque, Phone, Rejection
from kiosk.masking import masked_fields, masked_summary
from kiosk.messages import DIRECTION_WORDS, OTHER_PART_WORDS, VISIT_PART_WORDS, render
from kiosk.phone import parse_phone
from kiosk.recognise import recognise
from kiosk.repeatkey import repeat_key
from kiosk.sources import SOURCES as SOURCES  # the reader kinds; kept importable from here
from kiosk.store import NewVisit, Purged, Repeat, StorageError, VisitStore
from kiosk.trust import TrustStore

NAME_MAX = 100
_NAME_OK = re.compile(r"^[^\W\d_]+(?:[ .'\-][^\W\d_]+)*\.?$")
ScanStatus = Literal["accepted", "repeat", "rejected"]  # green, amber, red


@dataclass(frozen=True)
class ScanEvent:
    """What one reader produced: raw bytes (exactly as received) and/or decoded text."""

    source: str
    raw: bytes | None = None
    text: str | None = None
    device: str | None = None
    time: ClockReading | None = None  # when the reader produced it; None: when handled
    encoding: str | None = None  # the reader's configured code page for bytes neither UTF-8 nor UTF-16

    @property
    def payload(self) -> bytes | str:
        return self.raw if self.raw is not None else (self.text or "")


@dataclass(frozen=True)
class ScanResult:
    """What the guard is shown: accepted (green), repeat (amber) or rejected (red)."""

    status: ScanStatus
    direction: Direction | None = None
    kind: Kind | None = None
    summary: str | None = None
    visit_id: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    first_seen_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    @property
    def doubtful(self) -> bool:
        """Recorded, but the certificate or card is not to be trusted: the orange panel, never green."""
        return self.status == "accepted" and (
            self.details.get("signature") in UNTRUSTED_SIGNATURES or self.details.get("card") in UNTRUSTED_CARDS
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "visit_id": self.visit_id,
            "direction": self.direction,
            "kind": self.kind,
            "summary": self.summary,
        }
        if self.status != "accepted":
            data["reason"] = self.reason
            data["reason_code"] = self.reason_code
        if self.first_seen_at is not None:
            data["first_seen_at"] = self.first_seen_at.isoformat()
        data.update(self.details)
        return data


@functools.lru_cache(maxsize=4)
def _keyed(key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 under ``key`` with the key already mixed in: a copy per scan costs 1.6 µs
    where ``hmac.digest`` looked the digest up and keyed it anew, 3.9 µs (timeit; bench/README.md)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def credential_key(credential: Credential, key: bytes) -> str:
    """Who/what was scanned, as a keyed hash (HMAC-SHA256 under the repeat key, kiosk/repeatkey.py)."""
    if isinstance(credential, Cccd):
        ident = credential.id_number
    elif isinstance(credential, Phone):
        ident = credential.phone
    elif isinstance(credential, Card):
        ident = str(credential.number)
    elif isinstance(credential, Dcc):
        first = credential.certificates[0] if credential.certificates else {}
        ident = first.get("certificate_id") or f"{credential.name}|{credential.date_of_birth}"
    else:
        ident = credential.text
    mac = _keyed(key).copy()
    mac.update(f"{credential.kind}:{ident}".encode())
    return mac.digest()[:16].hex()


def local_day_start(moment: datetime) -> datetime:
    """Midnight of the checkpoint's local day (Vietnam has one time zone, no DST)."""
    local = moment.astimezone(LOCAL_TZ)
    return datetime.combine(local.date(), time(0), LOCAL_TZ)


class ScanService:
    """Turns scans into visits for one kiosk; safe to call from any one thread at a time."""

    def __init__(
        self,
        config: Config,
        store: VisitStore,
        *,
        clock: Clock | None = None,
        trust: TrustStore | None = None,
        cards: CardTrust | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self.trust = trust if trust is not None else TrustStore.from_dir(config.trust_dir)
        self._cards = cards
        self._card_watch = CardTrustWatch(config.data_dir)
        self.lang = config.kiosk.language
        self.repeat_key = repeat_key(config.data_dir)
        mode = config.kiosk.direction
        self.direction: Direction = "in" if mode == "both" else mode

    @property
    def switchable(self) -> bool:
        return self.config.kiosk.direction == "both"

    def _msg(self, code: str, **params: Any) -> str:
        return render(code, self.lang, **params)

    def _rejected(self, code: str, **params: Any) -> ScanResult:
        return ScanResult(status="rejected", reason=self._msg(code, **params), reason_code=code)

    def _invalid(self, problems: list[str]) -> ScanResult:
        words = (gettext(VISIT_PART_WORDS.get(p, OTHER_PART_WORDS), self.lang) for p in problems)
        return self._rejected("visit_invalid", what=", ".join(dict.fromkeys(words)))

    def _direction(self, requested: Direction | None) -> Direction | ScanResult:
        if requested is None or requested == self.direction or self.switchable:
            return requested or self.direction
        return self._rejected("direction_fixed", allowed=DIRECTION_WORDS[self.direction])

    def window_for(self, source: str) -> float:
        kiosk = self.config.kiosk
        return kiosk.repeat_window_camera_s if source == "camera" else kiosk.repeat_window_s

    def handle(self, event: ScanEvent, *, direction: Direction | None = None, operator: str | None = None) -> ScanResult:
        """One scan from any reader; the visit is committed before this returns accepted."""
        reading = event.time or self.clock.read()
        credential = recognise(
            event.payload,
            now=reading.wall,
            trust=self.trust,
            cards=self._cards if self._cards is not None else self._card_watch.current,
            max_bytes=self.config.kiosk.max_payload_bytes,
            fallback_encoding=event.encoding,
        )
        if isinstance(credential, Rejection):
            return ScanResult(status="rejected", reason=credential.message(self.lang), reason_code=credential.code)
        raw = event.text if isinstance(credential, Dcc) and event.text else None
        if isinstance(credential, Dcc) and raw is None and event.raw is not None:
            raw = event.raw.decode("ascii", "replace")
        return self._store(credential, event.source, event.device, reading, direction, operator, raw=raw)

    def manual(
        self,
        phone: str,
        *,
        name: str | None = None,
        id_number: str | None = None,
        direction: Direction | None = None,
        operator: str | None = None,
    ) -> ScanResult:
        """A person without a smartphone: phone required, name and ID number optional."""
        parsed = parse_phone(phone)
        if isinstance(parsed, Rejection):
            return self._rejected(parsed.code)
        extras: dict[str, Any] = {}
        if name and name.strip():
            clean = " ".join(unicodedata.normalize("NFC", name).split())
            if len(clean) > NAME_MAX:
                return self._rejected("name_too_long", limit=NAME_MAX)
            if not _NAME_OK.match(clean):
                return self._rejected("name_invalid")
            extras["name"] = clean
        if id_number and id_number.strip():
            digits = unicodedata.normalize("NFKC", id_number).strip().replace(" ", "")
            if not (digits.isascii() and digits.isdigit() and len(digits) in (9, 12)):
                return self._rejected("id_number_invalid")
            extras["id_number"] = digits
        return self._store(parsed, "manual", None, self.clock.read(), direction, operator, extras=extras)

    def _store(
        self,
        credential: Credential,
        source: str,
        device: str | None,
        reading: ClockReading,
        requested_direction: Direction | None,
        operator: str | None,
        *,
        raw: str | None = None,
        extras: dict[str, Any] | None = None,
    ) -> ScanResult:
        direction = self._direction(requested_direction)
        if isinstance(direction, ScanResult):
            return direction
        extras = extras or {}
        fields = credential.fields() | extras if extras else credential.fields()
        shown = masked_fields(credential, name=extras.get("name"), id_number=extras.get("id_number"))
        text = masked_summary(credential.kind, shown, self.lang)
        details = _details(credential)
        visit_id, prepared = self.store.next_visit()
        visit = NewVisit(
            id=visit_id,
            checkpoint_code=self.config.checkpoint.code,
            direction=direction,
            source=source,
            reader=device,
            kind=credential.kind,
            credential_key=credential_key(credential, self.repeat_key),
            fields=fields,
            raw=raw,
            shown=shown,
            clock=reading,
            operator=operator,
        )
        problems = visit_problems(
            contract.wire_visit(
                id=visit.id,
                checkpoint=visit.checkpoint_code,
                direction=direction,
                source=source,
                kind=credential.kind,
                scanned_at=visit.scanned_at,
                fields=fields,
                clock_synchronised=reading.synchronised,
                monotonic_ns=reading.monotonic_ns,
                boot_id=reading.boot_id,
                reader=device,
                operator=operator,
            )
        )
        if problems:  # the server would refuse it: never green for a visit the district will not have
            return self._invalid(problems)
        try:
            outcome = self.store.record(visit, self.window_for(source), prepared)
        except StorageError as exc:
            return self._rejected(exc.code)
        if isinstance(outcome, Repeat):
            seen = outcome.first_seen_at.astimezone(LOCAL_TZ)
            return ScanResult(
                status="repeat",
                direction=outcome.direction,
                kind=credential.kind,
                summary=text,
                visit_id=outcome.visit_id,
                reason=self._msg("repeat", time=seen.strftime("%H:%M:%S")),
                reason_code="repeat",
                first_seen_at=outcome.first_seen_at,
                details=details,
            )
        return ScanResult(
            status="accepted", direction=direction, kind=credential.kind, summary=text, visit_id=outcome, details=details
        )

    def prepare_ahead(self) -> bool:
        """Work a coming scan would otherwise do, for the scan thread's idle moments (its queue
        empty); one small step per call, False when nothing is left to do."""
        return self.store.prepare_seal()

    def today(self) -> dict[str, Any]:
        return self.store.counts_since(local_day_start(self.clock.read().wall))

    def purge(self) -> Purged:
        """Retention now: delivered visits after ``retention_days``, rejected ones after
        ``rejected_retention_days`` (kiosk/retention.py runs this on a schedule)."""
        now = self.clock.read().wall
        storage = self.config.storage
        return self.store.purge(
            now - timedelta(days=storage.retention_days), now - timedelta(days=storage.rejected_retention_days), now
        )


def _details(credential: Credential) -> dict[str, Any]:
    """Extra result fields a screen needs: the certificate check, a renumbered phone."""
    if isinstance(credential, Dcc):
        return {"signature": credential.signature}
    if isinstance(credential, Card):
        return {"card": credential.check}
    if isinstance(credential, Phone) and credential.renumbered_from:
        return {"renumbered": True}
    if isinstance(credential, Opaque) and credential.truncated:
        return {"truncated": True}
    return {}
