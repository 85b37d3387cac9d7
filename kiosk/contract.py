"""What a valid visit is: one definition, checked by the kiosk before green and by the server at ingest.

A green panel is a promise that the district will have the visit, so the kiosk must never
accept what the server would refuse. Both sides therefore validate with these models:
the scan service before it commits a visit (``visit_problems``), the district server for
every visit of every batch (``sync.protocol`` re-exports them as the wire models). They
live in the core because ``kiosk/`` imports nothing outside itself; the property test in
tests/test_contract.py generates what every recogniser and manual entry can accept and
checks the server's ingest accepts exactly that.

Digits are ASCII digits everywhere (``[0-9]``: pydantic's ``\\d`` matches every script's
digits, and tracing matches ASCII only). Text must be storable in PostgreSQL: no NUL, no
lone UTF-16 surrogate, anywhere in the fields.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

KINDS = ("cccd", "dcc", "card", "phone", "opaque")
Direction = Literal["in", "out"]
Kind = Literal["cccd", "dcc", "card", "phone", "opaque"]
# A district card's check (kiosk/cards.py): which district key signed it, and is it revoked.
CardCheck = Literal["valid", "bad_signature", "unknown_signer", "revoked", "not_checked"]

ID_NUMBER_12 = r"^[0-9]{12}$"
ID_NUMBER_9 = r"^[0-9]{9}$"
ID_NUMBER = r"^([0-9]{9}|[0-9]{12})$"
# Vietnamese numbers in national form: mobiles have 10 digits, landlines 11 (02x + 8 digits).
PHONE = r"^0[0-9]{9,10}$"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

CCCD_NAME_MAX = 100
ADDRESS_MAX = 500  # long real addresses exist (thôn, xã, huyện, tỉnh spelled out); a QR code holds ~2,900 bytes
DCC_NAME_MAX = 200  # the DCC schema caps family and given name at 80 characters each
PHONE_NAME_MAX = 100
CARD_NAME_MAX = 117  # kiosk/cards.py: name and commune share 117 UTF-8 bytes in a version-10 QR code
OPAQUE_TEXT_MAX = 65536
FIELDS_DEPTH_MAX = 6  # a certificate's fields are 3 levels deep; more is an attack, not a visit
SEALED_MAX = 1_400_000  # base64 of a seal: more than a whole batch (1 MiB) could carry
FREE_TEXT = ("reader", "operator", "boot_id", "checkpoint")  # envelope text a device chooses freely


class _Fields(BaseModel):
    model_config = ConfigDict(extra="allow")


class CccdFields(_Fields):
    id_number: str = Field(pattern=ID_NUMBER_12)
    old_id_number: str | None = Field(None, pattern=ID_NUMBER_9)
    name: str = Field(min_length=1, max_length=CCCD_NAME_MAX, pattern=NO_NUL)
    date_of_birth: date
    sex: Literal["Nam", "Nữ"]
    address: str | None = Field(None, max_length=ADDRESS_MAX, pattern=NO_NUL)
    issue_date: date | None = None


class PhoneFields(_Fields):
    phone: str = Field(pattern=PHONE)
    renumbered_from: str | None = Field(None, max_length=16, pattern=r"^[0-9]*$")
    name: str | None = Field(None, max_length=PHONE_NAME_MAX, pattern=NO_NUL)
    id_number: str | None = Field(None, pattern=ID_NUMBER)


class DccFields(_Fields):
    name: str = Field(min_length=1, max_length=DCC_NAME_MAX, pattern=NO_NUL)
    date_of_birth: str = Field(max_length=10)
    signature: str = Field(max_length=32)


class CardFields(_Fields):
    number: int = Field(ge=1, le=2**32 - 1)
    name: str = Field(min_length=1, max_length=CARD_NAME_MAX, pattern=NO_NUL)
    check: CardCheck


class OpaqueFields(_Fields):
    text: str = Field(max_length=OPAQUE_TEXT_MAX)
    length: int = Field(ge=0)


FIELD_MODELS: dict[str, type[_Fields]] = {
    "cccd": CccdFields,
    "phone": PhoneFields,
    "dcc": DccFields,
    "card": CardFields,
    "opaque": OpaqueFields,
}


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(text: str) -> bool:
    """NUL (PostgreSQL text cannot hold it) or a lone surrogate (not UTF-8): text no database keeps.

    Asked of every text of every scan, so the common answer comes first and in C: neither
    is printable, so printable text (names and addresses) needs no search. Counted with
    callgrind for a CCCD's seven fields: 41,000 instructions with the search alone, 18,000
    with this (bench/README.md).
    """
    return not text.isprintable() and _UNSTORABLE.search(text) is not None


_CONTAINERS = (dict, list, tuple)  # a tuple: isinstance with one is quicker than with ``dict | list``


def _unstorable(value: Any, depth: int = 0) -> str | None:
    """Why a JSON value cannot be kept as is (too deep, NUL, a lone surrogate), or None."""
    if depth > FIELDS_DEPTH_MAX:
        return "nested too deeply"
    if isinstance(value, str):
        return "contains NUL or a lone surrogate" if unstorable_text(value) else None
    items: Sequence[Any] = ()
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple)):
        items = value
    if items and depth >= FIELDS_DEPTH_MAX:
        return "nested too deeply"
    for item in items:  # texts checked here, inline, not one call deeper: every scan's fields pass this way
        if isinstance(item, str):
            if not item.isprintable() and _UNSTORABLE.search(item):  # unstorable_text, inlined
                return "contains NUL or a lone surrogate"
        elif isinstance(item, _CONTAINERS):
            why = _unstorable(item, depth + 1)
            if why:
                return why
    return None


class VisitIn(BaseModel):
    """One visit as the kiosk stored it; ``id`` is the UUID made at scan time, forever."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=UUID)
    checkpoint: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    direction: Direction
    source: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: Kind
    scanned_at: AwareDatetime = Field(
        description="The kiosk's wall clock at scan time (ISO 8601 with a zone). A time the server finds "
        "impossible (before 2020, or ahead of its clock) is kept as unknown, never refused."
    )
    fields: dict[str, Any] = Field(description="The credential fields of this kind (see the kiosk's parse output).")
    clock_synchronised: bool = True
    monotonic_ns: int | None = Field(None, ge=0, le=2**63 - 1)
    boot_id: str | None = Field(None, max_length=64, pattern=NO_NUL)
    corrected_at: AwareDatetime | None = Field(
        None, description="Scan time corrected from the server clock when the kiosk clock was not synchronised."
    )
    reader: str | None = Field(None, max_length=200, pattern=NO_NUL)
    operator: str | None = Field(None, max_length=100, pattern=NO_NUL)
    sealed: str | None = Field(
        None,
        max_length=SEALED_MAX,
        description="The fields and raw payload sealed on the kiosk to the district key (HPKE, base64; kiosk/seal.py). "
        "The server opens it and checks the opened fields; ``fields`` is then sent empty.",
    )
    sealed_key: str | None = Field(None, pattern=r"^[0-9a-f]{40}$", description="The fingerprint of the key it was sealed to.")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> VisitIn:
        why = _unstorable(self.fields)
        if why:
            raise ValueError(f"credential fields cannot be stored: {why}")
        for name in FREE_TEXT:  # each a text or None (the fields above say so)
            value = getattr(self, name)
            if value is not None and unstorable_text(value):
                raise ValueError(f"{name} cannot be stored")
        try:
            FIELD_MODELS[self.kind].model_validate(self.fields)
        except ValidationError as exc:  # name the fields, never their values
            wrong = ", ".join(f"fields.{_loc(e['loc'])} ({e['type']})" for e in exc.errors())
            raise ValueError(f"credential fields do not fit kind {self.kind}: {wrong}") from None
        return self


def wire_visit(
    *,
    id: str,
    checkpoint: str,
    direction: str,
    source: str,
    kind: str,
    scanned_at: str,
    fields: dict[str, Any],
    clock_synchronised: bool,
    monotonic_ns: int | None,
    boot_id: str | None,
    corrected_at: str | None = None,
    reader: str | None = None,
    operator: str | None = None,
) -> dict[str, Any]:
    """A visit in the JSON form ``VisitIn`` reads: what the kiosk checks at the scan and sends later."""
    data: dict[str, Any] = {
        "id": id,
        "checkpoint": checkpoint,
        "direction": direction,
        "source": source,
        "kind": kind,
        "scanned_at": scanned_at,
        "fields": fields,
        "clock_synchronised": clock_synchronised,
        "monotonic_ns": monotonic_ns,
        "boot_id": boot_id,
    }
    for key, value in (("corrected_at", corrected_at), ("reader", reader), ("operator", operator)):
        if value is not None:
            data[key] = value
    return data


def visit_problems(data: dict[str, Any]) -> list[str]:
    """The names of the parts of a wire visit the server would refuse (empty: it is valid).

    Names only, never values: ``fields.name``, ``fields.address``, ``operator``…
    """
    try:
        VisitIn.model_validate(data)
    except ValidationError as exc:
        names = [_loc(e["loc"]) for e in exc.errors() if e["loc"]]
        fields, kind = data.get("fields"), data.get("kind")
        if isinstance(fields, dict) and kind in FIELD_MODELS:  # the kind's check, with its own locations
            try:
                FIELD_MODELS[kind].model_validate(fields)
            except ValidationError as inner:
                names += [f"fields.{_loc(e['loc'])}" for e in inner.errors()]
            if _unstorable(fields):
                names.append("fields")
        names += [name for name in FREE_TEXT if _unstorable(data.get(name))]
        return list(dict.fromkeys(names)) or ["visit"]
    return []


def _loc(loc: tuple[Any, ...] | Sequence[Any]) -> str:
    return ".".join(str(p) for p in loc)
