"""``checkpoint-server import``: a kiosk's sealed USB file, through the same idempotent ingest as uploads.

The file's header names its device; the key comes from that device's token hashes (a
revoked device's files are refused; a token replaced by a rotation still opens files
written before it). Each frame is one batch for ``ingest``, so importing twice, or
importing visits a sync also delivered, stores every visit once. A receipt sealed with
the same key goes back on the stick for ``checkpoint-kiosk import-receipt``.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from kiosk.catalog import N_, bilingual, bilingual_of, text
from server import audit
from server.db import writing
from server.enrolment import DeviceAuth
from server.errors import NotFound, UserError
from server.ingest import IngestRules, ingest
from server.schema import checkpoints, device_tokens, devices
from sync.protocol import CardTrustWire
from sync.sealed import RECEIPT, VISITS, SealedFileError, SealedReader, SealedWriter, read_header

RECEIPT_SUFFIX = ".receipt.cpr"  # not *.cpk: a glob over a stick's exports must not pick receipts up
FILE_PROBLEMS = {
    "not_sealed": N_("not a kiosk export file"),
    "wrong_key": N_("the file does not open with its device's key: it was altered or is not that device's"),
    "damaged": N_("the file is damaged"),
    "truncated": N_("the file is cut short (copy not finished?)"),
    "unsigned": N_("the file is not signed, though its device registered a signing key: refused"),
    "forged": N_("the file's signature does not match its device's key: forged or altered, refused"),
}
BEFORE_DAMAGE = N_("{count} visits before it were imported")


@dataclass
class ImportSummary:
    device_id: str
    checkpoint: str
    outcomes: Counter[str] = field(default_factory=Counter)  # created, duplicate, rejected
    rejected_by_code: Counter[str] = field(default_factory=Counter)
    receipt: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "checkpoint": self.checkpoint,
            **{status: self.outcomes[status] for status in ("created", "duplicate", "rejected")},
            "rejected_by_code": dict(self.rejected_by_code),
            "receipt": str(self.receipt) if self.receipt else None,
        }


def _file_problem(code: str, imported: int = 0) -> UserError:
    if not imported:
        return UserError(f"import_{code}", bilingual(FILE_PROBLEMS[code]))
    problem = FILE_PROBLEMS[code]
    return UserError(
        f"import_{code}", bilingual_of(lambda lang: f"{text(problem, lang)}; {text(BEFORE_DAMAGE, lang, count=imported)}")
    )


def device_keys(engine: Engine, device_id: str) -> tuple[DeviceAuth, list[bytes], Ed25519PublicKey | None]:
    """The device a file names, the key material of each token that may have sealed it, and
    the public key it signs with (None for a device enrolled before kiosks had one)."""
    with engine.connect() as conn:
        device = conn.execute(
            sa.select(devices.c.id, devices.c.checkpoint_id, devices.c.revoked_at, devices.c.signing_key, checkpoints.c.code)
            .join(checkpoints, devices.c.checkpoint_id == checkpoints.c.id)
            .where(devices.c.id == device_id)
        ).first()
        if device is None:
            raise NotFound("device_not_found", bilingual("no device '{device}'", device=device_id[:64]))
        if device.revoked_at is not None:
            raise UserError(
                "device_revoked",
                bilingual("the device is revoked: its files are not accepted"),
            )
        hashes = (
            conn.execute(
                sa.select(device_tokens.c.token_hash).where(
                    device_tokens.c.device_id == device_id,
                    sa.or_(device_tokens.c.retired_because.is_(None), device_tokens.c.retired_because == "rotated"),
                )
            )
            .scalars()
            .all()
        )
    verifier = Ed25519PublicKey.from_public_bytes(base64.b64decode(device.signing_key)) if device.signing_key else None
    return DeviceAuth(device.id, device.checkpoint_id, device.code), [bytes.fromhex(h) for h in hashes], verifier


def import_sealed(
    engine: Engine,
    path: Path,
    rules: IngestRules,
    actor: str,
    receipt: Path | None = None,
    cards: CardTrustWire | None = None,
) -> ImportSummary:
    """Ingest every visit of the file; write the receipt (default: beside the file) when all went in.
    ``cards``: the district's card key and revocations, carried to the offline kiosk in the receipt."""
    receipt = receipt or path.with_name(path.name.removesuffix(".cpk") + RECEIPT_SUFFIX)
    partial = receipt.with_name(f".{receipt.name}.part")
    with path.open("rb") as fh:
        try:
            header = read_header(fh)
        except SealedFileError as exc:
            raise _file_problem(exc.code) from None
        if header.kind != VISITS:
            raise _file_problem("not_sealed")
        device, materials, verifier = device_keys(engine, str(header.fields.get("device_id", "")))
        summary = ImportSummary(device.device_id, device.checkpoint_code)
        try:
            reader = SealedReader(fh, header, materials, verifier)
            with partial.open("wb") as out:
                _ingest_frames(engine, reader, out, device, path.name, rules, summary, cards)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, receipt)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise UserError(
                "receipt_unwritable",
                bilingual(
                    "imported {count} visits but could not write the receipt {receipt}: {error}; "
                    "import again with --receipt PATH (nothing is stored twice)",
                    count=summary.outcomes.total(),
                    receipt=receipt,
                    error=exc.strerror,
                ),
            ) from None
        except SealedFileError as exc:
            partial.unlink(missing_ok=True)
            raise _file_problem(exc.code, summary.outcomes.total()) from None
    summary.receipt = receipt
    with writing(engine) as conn:
        audit.write(
            conn,
            actor,
            "usb.import",
            params={"device": device.device_id, "file": path.name, **summary.outcomes},
            result_count=summary.outcomes.total(),
        )
    return summary


def _ingest_frames(
    engine: Engine,
    reader: SealedReader,
    out: IO[bytes],
    device: DeviceAuth,
    name: str,
    rules: IngestRules,
    summary: ImportSummary,
    cards: CardTrustWire | None,
) -> None:
    """Each frame as one ingest batch, each answer into the receipt (sealed with the file's own key)."""
    header: dict[str, Any] = {"device_id": device.device_id, "file": name}
    if cards is not None:  # in the header, which every frame's tag authenticates
        header["cards"] = cards.model_dump()
    writer = SealedWriter(out, RECEIPT, header, reader.material or b"")
    for records in reader.batches():
        for result in ingest(engine, device, records, rules, datetime.now(timezone.utc)):
            summary.outcomes[result.status] += 1
            if result.code:
                summary.rejected_by_code[result.code] += 1
            writer.add(result.model_dump(exclude_none=True))
    writer.close()
