"""Keep the district's card keys and revocations that a sync or enrolment answer brought.

Cards are checked offline (kiosk/cards.py), so a revocation reaches a kiosk only through
what the server last told it: every enrolment and every sync answer carries the full list
(small: numbers only), and this writes it to the kiosk's card-trust file when it changed.
A list the kiosk cannot use (a malformed key) or cannot write (a full disk) leaves the
previous one in place and is said in the log: a sync is never failed for it, because the
visits it delivers matter more.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.card_trust_file import read_card_trust, write_card_trust
from kiosk.cards import CardTrust
from kiosk.catalog import bilingual
from sync.protocol import CardTrustWire

log = logging.getLogger(__name__)


def keep_card_trust(data_dir: Path, wire: CardTrustWire | None) -> bool:
    """Write ``wire`` as this kiosk's card trust; True when it changed what the kiosk had."""
    if wire is None:
        return False
    try:
        trust = CardTrust.from_wire(wire.public_keys, wire.revoked)
    except ValueError:
        log.warning(bilingual("unusable district card key; the old list is kept"))
        return False
    if trust.to_wire() == read_card_trust(data_dir).to_wire():
        return False
    try:
        write_card_trust(data_dir, trust)
    except OSError as exc:
        log.warning("%s: %s", bilingual("cannot write the card list"), exc.strerror or exc)
        return False
    return True
