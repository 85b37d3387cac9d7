"""The wire protocol between kiosks and the district server: one definition for both sides.

The server validates requests and documents its OpenAPI spec with these models; the
kiosk's sync client builds its requests and reads the answers with the same ones, so the
two cannot drift apart. Field names here are a contract: add freely, never rename.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

API_PREFIX = "/api/v1"
ENROLL_PATH = f"{API_PREFIX}/enroll"
BATCH_PATH = f"{API_PREFIX}/visits/batch"
HEALTH_PATH = f"{API_PREFIX}/health"
DEVICE_PATH = f"{API_PREFIX}/device"

MAX_BATCH_VISITS = 1000
MAX_BATCH_BYTES = 1024 * 1024  # of the JSON body after any gzip is undone
KINDS = ("cccd", "dcc", "phone", "opaque")
ENROLL_QR_PREFIX = "cpk-enroll:1"

Direction = Literal["in", "out"]
Kind = Literal["cccd", "dcc", "phone", "opaque"]
Status = Literal["created", "duplicate", "rejected"]


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
    nonce: str | None = Field(None, pattern=ENROLL_NONCE_PATTERN, description=(
        "Random, chosen by the kiosk per code (16-128 of A-Z a-z 0-9 _ -): resending the same code with the same "
        "nonce while the code is valid returns the same device with a new token."))


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


class EnrollResponse(_Wire):
    device_id: str
    token: str = Field(description="Bearer token for this device; shown once, stored hashed on the server.")
    checkpoint: CheckpointIdentity
    server_time: datetime


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

_DIGITS12 = r"^\d{12}$"
_ID_NUMBER = r"^(\d{9}|\d{12})$"
_PHONE = r"^0\d{9}$"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL


class _Fields(BaseModel):
    model_config = ConfigDict(extra="allow")


class CccdFields(_Fields):
    id_number: str = Field(pattern=_DIGITS12)
    old_id_number: str | None = Field(None, pattern=r"^\d{9}$")
    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    date_of_birth: date
    sex: Literal["Nam", "Nữ"]
    address: str | None = Field(None, max_length=300)
    issue_date: date | None = None


class PhoneFields(_Fields):
    phone: str = Field(pattern=_PHONE)
    renumbered_from: str | None = Field(None, max_length=16)
    name: str | None = Field(None, max_length=100, pattern=NO_NUL)
    id_number: str | None = Field(None, pattern=_ID_NUMBER)


class DccFields(_Fields):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    date_of_birth: str = Field(max_length=10)
    signature: str = Field(max_length=32)


class OpaqueFields(_Fields):
    text: str = Field(max_length=65536)
    length: int = Field(ge=0)


FIELD_MODELS: dict[str, type[_Fields]] = {
    "cccd": CccdFields, "phone": PhoneFields, "dcc": DccFields, "opaque": OpaqueFields,
}


class VisitIn(_Wire):
    """One visit as the kiosk stored it; ``id`` is the UUID made at scan time, forever."""

    id: str = Field(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    checkpoint: str = Field(min_length=1, max_length=64)
    direction: Direction
    source: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Kind
    scanned_at: AwareDatetime = Field(description="The kiosk's wall clock at scan time (ISO 8601, UTC).")
    fields: dict[str, Any] = Field(description="The credential fields of this kind (see the kiosk's parse output).")
    clock_synchronised: bool = True
    monotonic_ns: int | None = Field(None, ge=0, le=2**63 - 1)
    boot_id: str | None = Field(None, max_length=64, pattern=NO_NUL)
    corrected_at: AwareDatetime | None = Field(
        None, description="Scan time corrected from the server clock when the kiosk clock was not synchronised.")
    reader: str | None = Field(None, max_length=200)
    operator: str | None = Field(None, max_length=100, pattern=NO_NUL)

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> VisitIn:
        try:
            FIELD_MODELS[self.kind].model_validate(self.fields)
        except ValidationError as exc:  # name the fields, never their values
            wrong = ", ".join(f"fields.{_loc(e['loc'])} ({e['type']})" for e in exc.errors())
            raise ValueError(f"credential fields do not fit kind {self.kind}: {wrong}") from None
        return self


class BatchRequest(_Wire):
    device_id: str = Field(max_length=64)
    visits: list[VisitIn] = Field(max_length=MAX_BATCH_VISITS)


class VisitResult(_Wire):
    id: str
    status: Status
    code: str | None = Field(None, description="Why a visit was rejected (stable, for scripts).")
    reason: str | None = Field(None, description="The same in words; never contains personal data.")


class BatchResponse(_Wire):
    server_time: datetime
    results: list[VisitResult]


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
