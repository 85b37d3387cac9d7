"""The wire protocol between kiosks and the district server: one definition for both sides.

The server validates requests and documents its OpenAPI spec with these models; the
kiosk's sync client builds its requests and reads the answers with the same ones, so the
two cannot drift apart. Field names here are a contract: add freely, never rename. The
visit itself is defined in the core (``kiosk.contract``), because the kiosk checks every
visit against it before it shows green; it is re-exported here as part of the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.contract import (  # re-exported: the wire models of a visit are the core's contract
    FIELD_MODELS as FIELD_MODELS,
)
from kiosk.contract import (
    KINDS as KINDS,
)
from kiosk.contract import (
    NO_NUL as NO_NUL,
)
from kiosk.contract import (
    CccdFields as CccdFields,
)
from kiosk.contract import (
    DccFields as DccFields,
)
from kiosk.contract import (
    Direction as Direction,
)
from kiosk.contract import (
    Kind as Kind,
)
from kiosk.contract import (
    OpaqueFields as OpaqueFields,
)
from kiosk.contract import (
    PhoneFields as PhoneFields,
)
from kiosk.contract import (
    VisitIn as VisitIn,
)

API_PREFIX = "/api/v1"
ENROLL_PATH = f"{API_PREFIX}/enroll"
BATCH_PATH = f"{API_PREFIX}/visits/batch"
HEALTH_PATH = f"{API_PREFIX}/health"
DEVICE_PATH = f"{API_PREFIX}/device"

MAX_BATCH_VISITS = 1000
MAX_BATCH_BYTES = 1024 * 1024  # of the JSON body after any gzip is undone
ENROLL_QR_PREFIX = "cpk-enroll:1"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- health --------------------------------------------------------------------------


class Health(_Wire):
    """The cheap probe's answer; kiosks also take the server's clock from it."""

    status: str
    server_time: datetime


class DeviceInfo(_Wire):
    """Who the server takes this device token for: what ``doctor`` checks without changing anything."""

    device_id: str
    checkpoint: str = Field(description="The code of the checkpoint the device is enrolled for.")
    server_time: datetime


# --- enrolment -----------------------------------------------------------------------


ENROLL_NONCE_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"


class EnrollRequest(_Wire):
    """A code to redeem; with a nonce, a retry after a lost answer gets the same device back.

    The same code with the same nonce, while the code is valid, answers again with the
    device it made and a fresh token (the previous one retired); without a nonce (older
    kiosks) a second try is refused as before.
    """

    code: str = Field(min_length=1, max_length=64, description="The one-time enrolment code, e.g. 7KQ2-MX4P-9TJD.")
    nonce: str | None = Field(
        None,
        pattern=ENROLL_NONCE_PATTERN,
        description=(
            "Random, chosen by the kiosk per code (16-128 of A-Z a-z 0-9 _ -): resending the same code with the same "
            "nonce while the code is valid returns the same device with a new token."
        ),
    )

    signing_key: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9+/]{43}=$",
        description="The kiosk's Ed25519 public key (base64 of 32 bytes): the server accepts its USB exports only signed with it.",
    )


def normalise_enroll_code(code: str) -> str:
    """What the admin typed, scanned or pasted, in one form: no spaces or dashes, upper case,
    O/I/L read as 0/1/1 (Crockford's base32 has none of them)."""
    return "".join(ch for ch in code.upper() if ch.isalnum()).replace("O", "0").replace("I", "1").replace("L", "1")


class CheckpointIdentity(_Wire):
    """Where a kiosk stands; the kiosk writes these into its [checkpoint] config."""

    code: str
    name: str
    commune: str
    district: str
    province: str


class CardTrustWire(_Wire):
    """The district's card signing keys and revoked card numbers (kiosk/cards.py): what a kiosk
    needs to check disease-control cards offline. Absent when the district issues no cards."""

    public_keys: list[str] = Field(max_length=16, description="Raw Ed25519 public keys, hex (64 characters each).")
    revoked: list[int] = Field(description="Numbers of revoked cards (lost, stolen or replaced).")


class DistrictKeyInfo(_Wire):
    """The district's current public key: kiosks seal personal data to it (kiosk/seal.py)."""

    public_key: str = Field(description="X25519 public key, base64 of its 32 raw bytes.")
    fingerprint: str = Field(description="First 20 bytes of SHA-256 of the raw key, hex: what `keys list` prints.")


class EnrollResponse(_Wire):
    device_id: str
    token: str = Field(description="Bearer token for this device; shown once, stored hashed on the server.")
    checkpoint: CheckpointIdentity
    server_time: datetime
    cards: CardTrustWire | None = None
    district_key: DistrictKeyInfo | None = Field(None, description="Absent while the server has no keys (keys init).")


class EnrollPayload(_Wire):
    """What an enrolment QR code holds: the server to talk to and the code to redeem."""

    server: str
    code: str

    def to_qr_text(self) -> str:
        return f"{ENROLL_QR_PREFIX}?{urlencode({'server': self.server, 'code': self.code})}"

    @classmethod
    def from_qr_text(cls, text: str) -> EnrollPayload:
        """Parse a scanned enrolment QR; ValueError when it is not one."""
        head, sep, query = text.strip().partition("?")
        if head != ENROLL_QR_PREFIX or not sep:
            raise ValueError("not an enrolment code")
        values = {k: v[0] for k, v in parse_qs(query).items()}
        if not values.get("code") or urlsplit(values.get("server", "")).scheme not in ("http", "https"):
            raise ValueError("enrolment code without server URL or code")
        return cls(server=values["server"], code=values["code"])


# --- visits --------------------------------------------------------------------------
# One definition of a valid visit, in the core (kiosk/contract.py): the kiosk checks each
# visit against it before it shows green, the server checks each uploaded visit.

Status = Literal["created", "duplicate", "rejected"]


class KioskHealth(_Wire):
    """How the kiosk is doing, sent with every batch, and alone in an empty batch (a heartbeat)
    when a sync pass has nothing to send: the district's console tells from it why a
    checkpoint is silent. Every field is optional and the whole is optional, so a kiosk
    already in the field, which sends none, is served as before; a server that cannot read
    it ignores it rather than refuse the visits it came with."""

    pending: int | None = Field(None, ge=0, le=10**9, description="Visits waiting to be sent.")
    oldest_pending_s: int | None = Field(None, ge=0, le=10**10, description="Age of the oldest waiting visit, seconds.")
    rejected: int | None = Field(None, ge=0, le=10**9, description="Visits the server refused, kept for an admin.")
    app_version: str | None = Field(None, max_length=40, pattern=NO_NUL)
    clock_offset_s: float | None = Field(
        None, ge=-(10**10), le=10**10, description="Kiosk clock minus server clock, seconds (positive: ahead)."
    )
    doctor: dict[Literal["ok", "warn", "fail"], int] | None = Field(None, description="The last check-up's findings per level.")


class BatchRequest(_Wire):
    device_id: str = Field(max_length=64)
    visits: list[VisitIn] = Field(max_length=MAX_BATCH_VISITS)
    health: KioskHealth | None = None


class VisitResult(_Wire):
    id: str
    status: Status
    code: str | None = Field(None, description="Why a visit was rejected (stable, for scripts).")
    reason: str | None = Field(None, description="The same in words; never contains personal data.")


class BatchResponse(_Wire):
    server_time: datetime
    results: list[VisitResult]
    cards: CardTrustWire | None = Field(None, description="The district's card keys and revocations, as of this answer.")
    district_key: DistrictKeyInfo | None = Field(None, description="The current key, so kiosks learn of a rotation.")


# --- errors --------------------------------------------------------------------------


class FieldProblem(_Wire):
    loc: list[str | int]
    type: str


class ErrorBody(_Wire):
    """Every error answer; ``error`` is a stable code, ``message`` Vietnamese then English."""

    error: str
    message: str
    fields: list[FieldProblem] | None = None


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def describe_problems(exc: ValidationError) -> str:
    """One line naming what is wrong where, safe to log and to send back (no values)."""
    parts = []
    for e in exc.errors():
        what = e["msg"].removeprefix("Value error, ") if e["type"] == "value_error" else e["type"]
        parts.append(f"{_loc(e['loc'])}: {what}" if e["loc"] else what)
    return "; ".join(parts)


def field_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """Where validation failed and how (pydantic's ``errors()``), without the rejected values."""
    return [FieldProblem(loc=[p if isinstance(p, int) else str(p) for p in e["loc"]], type=e["type"]) for e in errors]
