"""The district key as the server announces it: taken by the kiosk at enrolment and at every batch.

A rotated key reaches each kiosk with its next answer, and new visits are sealed to it from
then on (kiosk/store.py); visits sealed to the old one stay as they are, since the server
keeps every old private key. A key whose fingerprint does not match the key it came with
is ignored, never half-taken.
"""

from __future__ import annotations

import logging

from kiosk.seal import DistrictKey, UnusableKey
from kiosk.store import VisitStore
from sync.protocol import DistrictKeyInfo

log = logging.getLogger("checkpoint_kiosk.sync")


def adopt(store: VisitStore, announced: DistrictKeyInfo | None) -> int | None:
    """Keep the announced key when it is new here; how many clear visits that sealed (None: nothing new)."""
    if announced is None:
        return None
    try:
        key = DistrictKey.from_text(announced.public_key, announced.fingerprint)
    except UnusableKey:
        log.warning("the server announced a district key that does not match its fingerprint; ignored")
        return None
    current = store.district_key()
    if current is not None and current.fingerprint == key.fingerprint:
        return None
    sealed = store.set_district_key(key)
    log.info("district key %s taken; %d earlier visits sealed", key.fingerprint, sealed)
    return sealed
