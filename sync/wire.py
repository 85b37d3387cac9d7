"""Stored visits as the district server reads them (``sync.protocol.VisitIn``), for upload and USB export.

Built as plain dicts from the stored columns, not through the pydantic model: each visit
was checked against ``VisitIn`` at the scan already (kiosk/scan.py), in the same form
(``kiosk.contract.wire_visit``), and validating 100,000 of them again here would double
the kiosk's share of a backlog sync. tests/test_contract.py sends what the kiosk accepted.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from kiosk import contract
from kiosk.store import Outgoing
from sync.protocol import KioskHealth

GZIP_LEVEL = 1  # the JSON shrinks about 8x already; higher levels cost CPU on a Pi for little


def wire_visit(visit: Outgoing, corrected_at: str | None) -> dict[str, Any]:
    """A sealed visit travels sealed (``fields`` empty, the server opens ``sealed`` with the
    key ``sealed_key``); one stored before the kiosk had a district key goes as it was kept."""
    data = contract.wire_visit(
        id=visit.id,
        checkpoint=visit.checkpoint_code,
        direction=visit.direction,
        source=visit.source,
        kind=visit.kind,
        scanned_at=visit.scanned_at,
        fields=json.loads(visit.clear)["fields"] if visit.clear is not None else {},
        clock_synchronised=bool(visit.clock_synchronised),
        monotonic_ns=visit.monotonic_ns,
        boot_id=visit.boot_id,
        corrected_at=corrected_at,
        reader=visit.reader,
        operator=visit.operator,
    )
    if visit.sealed is not None:
        data["sealed"] = base64.b64encode(visit.sealed).decode()
        data["sealed_key"] = visit.key_id
    return data


def batch_body(device_id: str, visits: list[dict[str, Any]], health: KioskHealth | None = None) -> bytes:
    """A ``BatchRequest``, gzip'd; with no visits and a health, a heartbeat."""
    body: dict[str, Any] = {"device_id": device_id, "visits": visits}
    if health is not None:
        body["health"] = health.model_dump(exclude_none=True)
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return gzip.compress(text.encode(), GZIP_LEVEL)
