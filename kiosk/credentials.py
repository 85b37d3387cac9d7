"""What a scan can turn out to be: one credential type per kind, or a rejection.

These are plain frozen values so recognition stays pure and results can be compared in
tests; ``to_dict`` gives the JSON shape the CLI prints and the store keeps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from kiosk.contract import CardCheck, Kind
from kiosk.messages import render

# Signature states of a vaccine certificate (contract for scripts: keep these names).
SIGNATURE_STATES = ("valid", "bad_signature", "unknown_signer", "expired", "not_yet_valid", "not_checked")
# The states that say the certificate must not be trusted. Such a visit is still recorded
# (tracing needs every traveller), but a guard must see that it is not "fine".
UNTRUSTED_SIGNATURES = frozenset({"bad_signature", "unknown_signer", "expired", "not_yet_valid"})
# A district card's check (kiosk/cards.py); the untrusted ones are recorded but never green.
UNTRUSTED_CARDS: frozenset[str] = frozenset({"bad_signature", "unknown_signer", "revoked"})


def _jsonable(value: Any) -> Any:
    if value is None or type(value) is str:  # most fields of every scan: answered first
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A credential type's field names, looked up once (``dataclasses.fields`` is a third of
    ``to_dict``, which every scan calls)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class _Credential:
    kind: ClassVar[Kind]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.fields()}

    def fields(self) -> dict[str, Any]:
        """The credential's own fields in their JSON form, without its kind: what a visit keeps."""
        return {name: _jsonable(getattr(self, name)) for name in _field_names(type(self))}


@dataclass(frozen=True)
class Cccd(_Credential):
    """Chip-based citizen ID card QR."""

    kind: ClassVar[Kind] = "cccd"
    id_number: str
    old_id_number: str | None
    name: str
    date_of_birth: date
    sex: str
    address: str | None
    issue_date: date | None


@dataclass(frozen=True)
class Dcc(_Credential):
    """EU Digital COVID Certificate (Vietnam's vaccine passport format)."""

    kind: ClassVar[Kind] = "dcc"
    name: str
    family_name: str | None
    given_name: str | None
    date_of_birth: str  # the DCC allows partial dates ("1964", "1964-08")
    issuer_country: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    certificates: tuple[dict[str, Any], ...]
    signature: str
    key_id: str | None = None
    schema_version: str | None = None


@dataclass(frozen=True)
class Phone(_Credential):
    """A Vietnamese phone number, normalised to the 10-digit national form."""

    kind: ClassVar[Kind] = "phone"
    phone: str
    renumbered_from: str | None = None  # the pre-2018 11-digit number it replaced


@dataclass(frozen=True)
class Card(_Credential):
    """A disease-control card printed and signed by the district (kiosk/cards.py)."""

    kind: ClassVar[Kind] = "card"
    number: int
    name: str
    birth_year: int
    commune: str
    issued_on: date
    key_id: str  # hex; which district key signed it
    check: CardCheck


@dataclass(frozen=True)
class Opaque(_Credential):
    """Anything else, kept raw so the scan is never lost."""

    kind: ClassVar[Kind] = "opaque"
    text: str
    length: int  # of the original payload, in bytes
    truncated: bool = False
    hint: str = "text"  # "url", "pc-covid", "text" or "binary"


@dataclass(frozen=True)
class Rejection:
    """A payload that looked like a known kind but is broken; says why in plain words."""

    kind: ClassVar[None] = None
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "vi") -> str:
        return render(self.code, lang, **self.params)

    def to_dict(self, lang: str = "vi") -> dict[str, Any]:
        return {"kind": None, "error": self.message(lang), "error_code": self.code}


Credential = Cccd | Dcc | Card | Phone | Opaque
Recognised = Cccd | Dcc | Card | Phone | Opaque | Rejection


KINDS: dict[str, type[_Credential]] = {c.kind: c for c in (Cccd, Dcc, Card, Phone, Opaque)}


def credential_from_fields(kind: str, fields: dict[str, Any]) -> Credential:
    """Rebuild a stored credential for display; dates stay in their ISO text form."""
    cls = KINDS[kind]
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in fields.items() if k in names}
    if cls is Dcc:
        values["certificates"] = tuple(values.get("certificates") or ())
    return cls(**values)  # type: ignore[return-value]
