"""The nonce this kiosk redeems an enrolment code with, kept on disk until the code is redeemed.

Guarantee: every try of the same code from this kiosk sends the same nonce — the client's
own retry after a timeout, the admin running ``checkpoint-kiosk enroll`` again, a try
after the kiosk process died or the power was cut mid-request — so the server hands back
the device it already made for it instead of refusing the spent code (409) and leaving an
orphan device behind. Hence the nonce is on disk (fsync'd, replaced atomically) *before*
the request leaves, and forgotten only once the enrolment is stored or the server refused
the code for good. The file is 0600 like ``enrolment.json``: with the code, the nonce is
worth a device token until the code expires. It names the code only by its hash.

One code at a time: a different code gets a new nonce, which replaces the old one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from kiosk.enrolment import write_private_json
from sync.protocol import normalise_enroll_code

PENDING_FILE = "enrolment-pending.json"


@dataclass(frozen=True)
class PendingEnrolment:
    code_hash: str  # SHA-256 of the code as the server normalises it: typed or scanned, one key
    nonce: str


def pending_path(data_dir: Path) -> Path:
    return Path(data_dir) / PENDING_FILE


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_enroll_code(code).encode()).hexdigest()


def read_pending(data_dir: Path) -> PendingEnrolment | None:
    """The nonce kept for a code, or None (none kept, or the file is unusable: a new nonce then)."""
    try:
        data = json.loads(pending_path(data_dir).read_text(encoding="utf-8"))
        return PendingEnrolment(code_hash=str(data["code_hash"]), nonce=str(data["nonce"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def nonce_for(data_dir: Path, code: str) -> str:
    """The nonce to send with ``code``: the kept one for the same code, else a new one, kept first.

    Raises OSError when it cannot be kept (a full or read-only disk): better no request
    than one whose retry could not find its nonce again.
    """
    wanted = code_hash(code)
    kept = read_pending(data_dir)
    if kept is not None and kept.code_hash == wanted:
        return kept.nonce
    pending = PendingEnrolment(code_hash=wanted, nonce=secrets.token_urlsafe(32))  # 43 characters, 256 bits
    _write(data_dir, pending)
    return pending.nonce


def forget(data_dir: Path) -> None:
    """Done with the code (enrolled, or refused for good): the next code gets a new nonce."""
    pending_path(data_dir).unlink(missing_ok=True)


def _write(data_dir: Path, pending: PendingEnrolment) -> None:
    write_private_json(pending_path(data_dir), {"code_hash": pending.code_hash, "nonce": pending.nonce})
