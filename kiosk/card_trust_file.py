"""The district's card keys and revoked card numbers, as this kiosk last received them.

The kiosk checks cards offline, so it keeps what the district sent at enrolment, with every
sync and by USB receipt: one JSON file in the data directory, replaced atomically (a power
cut leaves the old list or the new one). The scan service re-reads it when it changed, so a
card revoked at the district is refused at the next scan after the next sync, without a
restart. A missing or unreadable file means "no keys yet": cards are then read but reported
``not_checked``, never refused, because tracing needs every traveller.
"""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.cards import CardTrust
from kiosk.enrolment import write_private_json

CARD_TRUST_FILE = "card-trust.json"


def card_trust_path(data_dir: Path) -> Path:
    return Path(data_dir) / CARD_TRUST_FILE


def write_card_trust(data_dir: Path, trust: CardTrust) -> Path:
    path = card_trust_path(data_dir)
    write_private_json(path, trust.to_wire())
    return path


def read_card_trust(data_dir: Path) -> CardTrust:
    try:
        data = json.loads(card_trust_path(data_dir).read_text(encoding="utf-8"))
        return CardTrust.from_wire(data["public_keys"], data["revoked"])
    except (OSError, ValueError, KeyError, TypeError):
        return CardTrust()


class CardTrustWatch:
    """The current card trust, re-read only when the file's modification time changed."""

    def __init__(self, data_dir: Path) -> None:
        self.path = card_trust_path(data_dir)
        self._seen: int | None = None
        self._trust = CardTrust()

    def current(self) -> CardTrust:
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError:
            stamp = None
        if stamp != self._seen:
            self._seen = stamp
            self._trust = read_card_trust(self.path.parent)
        return self._trust
