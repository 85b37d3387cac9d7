"""Payload recognition: whatever a reader produced → a credential or a clear rejection.

Pure: no I/O, no clock of its own (the caller passes ``now``), and no exception escapes,
because a scan that crashes the kiosk is a scan lost. The card trust may be handed over as
a function that reads it (kiosk/card_trust_file.py), called only when the payload is a card,
so the other scans do not pay for its file's stat (bench/scan_latency.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime, timezone

from kiosk.cards import CardTrust, looks_like_card, read_card
from kiosk.cccd import looks_like_cccd, parse_cccd
from kiosk.contract import unstorable_text
from kiosk.credentials import Opaque, Recognised, Rejection
from kiosk.dcc import decode_dcc
from kiosk.phone import PHONE_LIKE, parse_phone
from kiosk.textcodec import decode_bytes
from kiosk.trust import TrustStore

CardSource = CardTrust | Callable[[], CardTrust] | None  # the trust, or how to read it when a card comes
DEFAULT_MAX_BYTES = 4096  # a QR code holds at most 2,953 bytes; more is a reader fault


def _hint(text: str) -> str:
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return "url"
    if "pc-covid" in lowered or "pccovid" in lowered or "tokhaiyte" in lowered:
        return "pc-covid"
    return "text"


def _opaque(text: str, length: int, max_bytes: int, hint: str | None = None) -> Opaque:
    encoded = text.encode("utf-8")
    truncated = len(encoded) > max_bytes
    if truncated:
        text = encoded[:max_bytes].decode("utf-8", errors="ignore")
    return Opaque(text=text, length=length, truncated=truncated, hint=hint or _hint(text))


def _looks_like_phone(text: str) -> bool:
    if not PHONE_LIKE.match(text):
        return False
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    return 9 <= len(digits) <= 13 and (text.startswith(("0", "+")) or digits.startswith("84"))


def recognise(
    payload: bytes | str,
    *,
    now: datetime | None = None,
    trust: TrustStore | None = None,
    cards: CardSource = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fallback_encoding: str | None = None,
) -> Recognised:
    """Never raises: unknown input becomes an ``Opaque`` credential, broken input a ``Rejection``."""
    try:
        return _recognise(payload, now or datetime.now(timezone.utc), trust, cards, max_bytes, fallback_encoding)
    except Exception:  # last line of defence: keep the scan, say what it was
        raw = payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")
        return Opaque(text=raw[:max_bytes].hex(), length=len(raw), truncated=len(raw) > max_bytes, hint="binary")


def _recognise(
    payload: bytes | str, now: datetime, trust: TrustStore | None, cards: CardSource, max_bytes: int, fallback: str | None
) -> Recognised:
    if isinstance(payload, bytes):
        length = len(payload)
        if not payload.strip(b"\x00\r\n\t "):
            return Rejection("empty")
        decoded = decode_bytes(payload, fallback)
        if decoded is None:
            return Opaque(text=payload[:max_bytes].hex(), length=length, truncated=length > max_bytes, hint="binary")
        text = decoded[0]
    else:
        text = payload
        length = len(text.encode("utf-8", "surrogatepass"))
    text = unicodedata.normalize("NFC", text).strip(" \t\r\n\x00\ufeff")
    if not text:
        return Rejection("empty")
    if length > max_bytes:
        return _opaque(text, length, max_bytes)
    if text[:4].upper() == "HC1:":
        return decode_dcc(text, trust=trust, now=now)
    if looks_like_card(text):
        return read_card(text, cards() if callable(cards) else cards)
    folded = unicodedata.normalize("NFKC", text)  # fullwidth digits from some readers → ASCII
    fields = folded.split("|")
    if looks_like_cccd(fields):
        return parse_cccd(fields, now.date())
    if _looks_like_phone(folded):
        return parse_phone(folded)
    if unstorable_text(text):  # NUL or a lone surrogate: keep the exact bytes, as hex
        raw = text.encode("utf-8", "surrogatepass")
        return Opaque(text=raw[:max_bytes].hex(), length=length, truncated=len(raw) > max_bytes, hint="binary")
    return _opaque(text, length, max_bytes)
