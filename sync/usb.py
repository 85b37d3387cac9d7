"""USB export for checkpoints without a network, and the server's receipt coming back on the stick.

Exported visits stay pending: they count as delivered only once the server confirms them,
by a normal sync (it answers ``duplicate``) or by the receipt that ``checkpoint-server
import`` writes next to the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from kiosk.catalog import bilingual
from kiosk.enrolment import Enrolment, durable_replace
from kiosk.private import open_private
from kiosk.store import VisitStore, iso
from sync.cardtrust import keep_card_trust
from sync.clockfix import Corrections
from sync.devicekey import signing_key
from sync.errors import SyncError
from sync.protocol import CardTrustWire, VisitResult
from sync.sealed import RECEIPT, VISITS, SealedFileError, SealedReader, SealedWriter, key_material, read_header
from sync.upload import Tally, delivery
from sync.wire import wire_visit

EXPORT_SUFFIX = ".cpk"
READ_BATCH = 500


@dataclass(frozen=True)
class ExportResult:
    path: Path
    visits: int
    skipped: int  # too large for any batch: they stay pending and a sync rejects them with a reason


def export_name(checkpoint_code: str, now: datetime) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", checkpoint_code).strip("-") or "kiosk"
    return f"checkpoint-{safe}-{now:%Y%m%dT%H%M%SZ}{EXPORT_SUFFIX}"


def export_pending(store: VisitStore, enrolment: Enrolment, directory: Path, now: datetime) -> ExportResult:
    """Every pending visit, sealed, into a new file in ``directory``; written whole or not at all."""
    if not directory.is_dir():
        raise SyncError("export_failed", directory=directory, detail=bilingual("no such folder"))
    path = directory / export_name(enrolment.checkpoint.get("code", ""), now)
    partial = path.with_name(f".{path.name}.part")
    exported: list[str] = []
    skipped = 0
    try:
        with os.fdopen(open_private(partial), "wb") as fh:  # 0600 whatever the umask (kiosk/private.py)
            header = {"device_id": enrolment.device_id, "checkpoint": enrolment.checkpoint.get("code"), "created_at": iso(now)}
            writer = SealedWriter(fh, VISITS, header, key_material(enrolment.token), signing_key(store.path.parent))
            corrections = Corrections(store)
            cursor = 0
            while visits := store.pending_after(cursor, READ_BATCH):
                for visit in visits:
                    if writer.add(wire_visit(visit, corrections.corrected_at(visit))):
                        exported.append(visit.id)
                    else:
                        skipped += 1
                cursor = visits[-1].seq
            writer.close()
            fh.flush()
            os.fsync(fh.fileno())  # a stick pulled right after the message must still hold the file
        durable_replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise SyncError("export_failed", directory=directory, detail=exc.strerror or str(exc)) from None
    store.mark_exported(exported, now)
    return ExportResult(path, len(exported), skipped)


def import_receipt(store: VisitStore, enrolment: Enrolment, path: Path, now: datetime, data_dir: Path) -> Tally:
    """Apply the server's verdicts from a receipt written for this device's export, and the
    district's card key and revocations it carries (for kiosks that never go online).

    The card list sits in the receipt's header, which every frame's tag authenticates: it is
    kept only once the whole receipt has been read and verified."""
    tally = Tally()
    try:
        with path.open("rb") as fh:
            header = read_header(fh)
            if header.kind != RECEIPT or header.fields.get("device_id") != enrolment.device_id:
                raise SyncError("receipt_invalid")
            for records in SealedReader(fh, header, [key_material(enrolment.token)]).batches():
                results = [VisitResult.model_validate(r) for r in records]
                store.apply_deliveries([delivery(r) for r in results], now)
                tally.count(results)
            cards = header.fields.get("cards")
            keep_card_trust(data_dir, CardTrustWire.model_validate(cards) if cards is not None else None)
    except (OSError, SealedFileError, ValidationError):
        raise SyncError("receipt_invalid") from None
    return tally
