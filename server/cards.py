"""The district's disease-control cards: issue from a residents list, re-print, replace, revoke, list.

A card is signed once, when it is issued, with the district's Ed25519 key (the format is
kiosk/cards.py, shared with every kiosk) and its QR text is kept, so a re-print is the very
same card. A lost card is stopped by number: ``revoke``, or ``replace``/a ``replaces``
column in the residents list, which issues a new number and revokes the old one in the
same transaction, so there is never a moment with two valid cards for one person. Kiosks
learn the revoked numbers and the public key at enrolment and with every sync
(``card_trust``), and by USB receipt. Every change is in the audit log.

The signing key is read by ``load_signing_key`` only: the key itself is made and rotated by
``checkpoint-server keys`` (server/keys.py); this module takes an ``Ed25519PrivateKey`` and
never writes one.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy.engine import Connection, Engine

from kiosk.cards import CardData, CardTrust, key_id, sign_card
from kiosk.catalog import bilingual
from kiosk.messages import render_both
from server import audit
from server.checkpoint_import import CsvError
from server.config import Settings
from server.db import writing
from server.errors import NotFound, UserError
from server.keys import Keyring, KeysMissing
from server.names import clean_name, resolve
from server.places import PLACE_COLUMNS, _places_join, commune_name, district_id
from server.schema import cards, communes
from sync.protocol import CardTrustWire

COLUMNS = ("name", "birth_year")
OPTIONAL = ("replaces",)


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The district's card signing key: the keyring's current signing key (``checkpoint-server
    keys init``, server/keys.py), or the PEM (PKCS#8) Ed25519 file ``[cards] signing_key`` names,
    readable by its owner only, for a district that signs cards with a key kept elsewhere.
    Errors say what to fix, never the key."""
    if not settings.cards.signing_key:
        try:
            return Keyring(settings.keys_dir).signing_key()
        except KeysMissing:
            raise UserError(
                "card_key_missing",
                bilingual("no district signing key yet: run checkpoint-server keys init"),
            ) from None
    path = Path(settings.cards.signing_key).expanduser()
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(
            "card_key_missing",
            bilingual(
                "cannot read the card signing key {path} ({error}): make the district's key first", path=path, error=exc.strerror
            ),
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserError(
            "card_key_mode",
            bilingual("the card signing key {path} is readable by others: run chmod 600 {path}", path=path),
        )
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(
            "card_key_invalid",
            bilingual("{path} is not an Ed25519 private key (PEM)", path=path),
        )
    return key


@dataclass(frozen=True)
class Resident:
    line: int
    name: str
    birth_year: int
    replaces: int | None


@dataclass(frozen=True)
class IssuedCard:
    number: int
    name: str
    birth_year: int
    commune: str
    issued_on: date
    payload: str


@dataclass(frozen=True)
class CardFace:
    """What is printed on one card (server/card_sheet.py)."""

    number: int
    name: str
    birth_year: int
    commune: str
    district: str
    province: str
    issued_on: date
    payload: str
    revoked: bool


def parse_residents(text: str) -> list[Resident]:
    """The residents list (header ``name,birth_year`` and optionally ``replaces``), all of it
    checked before anything is issued; problems by line and column, like ``checkpoint import``."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [clean_name(h).lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CsvError([(1, ", ".join(missing), bilingual("missing column; expected {columns}", columns=",".join(COLUMNS)))])
    reader.fieldnames = header
    residents: list[Resident] = []
    problems: list[tuple[int, str, str]] = []
    for record in reader:
        line = reader.line_num
        if None in record:
            problems.append((line, "-", bilingual("more columns than the header")))
            continue
        values = {c: clean_name(record.get(c) or "") for c in (*COLUMNS, *OPTIONAL)}
        if not any(values.values()):
            continue
        if not values["name"]:
            problems.append((line, "name", bilingual("empty")))
        year = values["birth_year"]
        if not (year.isascii() and year.isdigit() and 1900 <= int(year) <= date.today().year):
            problems.append((line, "birth_year", bilingual("'{value}' is not a year of birth (e.g. 1985)", value=year[:10])))
        replaces = values["replaces"]
        if replaces and not (replaces.isascii() and replaces.isdigit()):
            problems.append((line, "replaces", bilingual("'{value}' is not a card number", value=replaces[:12])))
        if problems and problems[-1][0] == line:
            continue
        residents.append(Resident(line, values["name"], int(year), int(replaces) if replaces else None))
    if problems:
        raise CsvError(problems)
    return residents


def _commune(conn: Connection, commune: str, district: str | None, province: str | None) -> tuple[int, str]:
    """The commune a person typed, resolved like every other command (suggestions, ambiguity)."""
    if district:
        found = commune_name(conn, district_id(conn, district, province), commune)
        row = conn.execute(sa.select(communes.c.id).where(communes.c.name == found)).first()
        assert row is not None
        return row.id, found
    rows = conn.execute(sa.select(communes.c.id, communes.c.name)).all()
    found = resolve("commune", commune, (r.name for r in rows))
    ids = [r.id for r in rows if r.name == found]
    if len(ids) > 1:
        raise UserError(
            "commune_ambiguous",
            bilingual("several communes named '{name}': give --district", name=found),
        )
    return ids[0], found


def _issue_one(
    conn: Connection, key: Ed25519PrivateKey, commune_id: int, commune: str, name: str, birth_year: int, today: date
) -> IssuedCard:
    kid = key_id(key.public_key()).hex()
    now = datetime.now(timezone.utc)
    number = conn.execute(
        cards.insert()
        .values(
            commune_id=commune_id, person_name=name, birth_year=birth_year, issued_on=today, key_id=kid, payload="", created_at=now
        )
        .returning(cards.c.number)
    ).scalar_one()
    payload = sign_card(CardData(number=number, name=name, birth_year=birth_year, commune=commune, issued_on=today), key)
    conn.execute(cards.update().where(cards.c.number == number).values(payload=payload))
    return IssuedCard(number, name, birth_year, commune, today, payload)


def _revoke(conn: Connection, number: int, now: datetime, replaced_by: int | None = None) -> None:
    row = conn.execute(sa.select(cards.c.revoked_at).where(cards.c.number == number)).first()
    if row is None:
        raise NotFound("card_not_found", bilingual("no card number {number}", number=number))
    values: dict[str, Any] = {"revoked_at": row.revoked_at or now}
    if replaced_by is not None:
        values["replaced_by"] = replaced_by
    conn.execute(cards.update().where(cards.c.number == number).values(**values))


def issue(
    engine: Engine,
    key: Ed25519PrivateKey,
    actor: str,
    commune: str,
    residents: list[Resident],
    *,
    district: str | None = None,
    province: str | None = None,
    today: date | None = None,
) -> list[IssuedCard]:
    """Issue one card per resident, all or none; a ``replaces`` number is revoked by the new card."""
    today = today or date.today()
    with writing(engine) as conn:
        commune_id, commune_name_found = _commune(conn, commune, district, province)
        problems: list[tuple[int, str, str]] = []
        for r in residents:
            why = CardData(1, r.name, r.birth_year, commune_name_found, today).problem()
            if why:
                problems.append((r.line, "name", render_both(why)))
        if problems:
            raise CsvError(problems)
        issued = []
        now = datetime.now(timezone.utc)
        for r in residents:
            card = _issue_one(conn, key, commune_id, commune_name_found, r.name, r.birth_year, today)
            if r.replaces is not None:
                _revoke(conn, r.replaces, now, replaced_by=card.number)
            issued.append(card)
        audit.write(
            conn,
            actor,
            "cards.issue",
            params={"commune": commune_name_found, "numbers": [c.number for c in issued]},
            result_count=len(issued),
        )
    return issued


def replace(engine: Engine, key: Ed25519PrivateKey, actor: str, number: int, today: date | None = None) -> IssuedCard:
    """A new card for the holder of card ``number`` (lost, damaged); the old number is revoked."""
    with writing(engine) as conn:
        old = conn.execute(
            sa.select(cards.c.person_name, cards.c.birth_year, cards.c.commune_id, communes.c.name.label("commune"))
            .join(communes)
            .where(cards.c.number == number)
        ).first()
        if old is None:
            raise NotFound("card_not_found", bilingual("no card number {number}", number=number))
        card = _issue_one(conn, key, old.commune_id, old.commune, old.person_name, old.birth_year, today or date.today())
        _revoke(conn, number, datetime.now(timezone.utc), replaced_by=card.number)
        audit.write(conn, actor, "cards.replace", params={"old": number, "new": card.number}, result_count=1)
    return card


def revoke(engine: Engine, actor: str, number: int) -> None:
    with writing(engine) as conn:
        _revoke(conn, number, datetime.now(timezone.utc))
        audit.write(conn, actor, "cards.revoke", params={"number": number}, result_count=1)


def _query() -> sa.Select[Any]:
    return sa.select(
        cards.c.number,
        cards.c.person_name.label("name"),
        cards.c.birth_year,
        *PLACE_COLUMNS,
        cards.c.issued_on,
        cards.c.revoked_at,
        cards.c.replaced_by,
        cards.c.payload,
    ).select_from(cards.join(_places_join(), cards.c.commune_id == communes.c.id))


def list_cards(engine: Engine, commune: str | None = None, numbers: list[int] | None = None) -> list[dict[str, Any]]:
    query = _query().order_by(cards.c.number)
    with engine.connect() as conn:
        if commune:
            query = query.where(cards.c.commune_id == _commune(conn, commune, None, None)[0])
        if numbers:
            query = query.where(cards.c.number.in_(numbers))
        rows = [dict(r) for r in conn.execute(query).mappings()]
    if numbers:
        missing = sorted(set(numbers) - {r["number"] for r in rows})
        if missing:
            raise NotFound("card_not_found", bilingual("no card number {number}", number=missing[0]))
    return rows


def faces(engine: Engine, numbers: list[int]) -> list[CardFace]:
    """The cards to print, in the order asked; a revoked one is printed only if asked for by number."""
    rows = {r["number"]: r for r in list_cards(engine, numbers=numbers)}
    keep = ("number", "name", "birth_year", "commune", "district", "province", "issued_on", "payload")
    return [CardFace(**{k: rows[n][k] for k in keep}, revoked=rows[n]["revoked_at"] is not None) for n in numbers]


def same_holder(conn: Connection, number: int) -> list[int]:
    """``number`` and every card it replaced or was replaced by: one person's cards, for tracing."""
    found, todo = {number}, [number]
    while todo and len(found) < 100:  # a chain of replacements is short; the cap guards a loop
        n = todo.pop()
        linked = conn.execute(
            sa.select(cards.c.number, cards.c.replaced_by).where(sa.or_(cards.c.number == n, cards.c.replaced_by == n))
        ).all()
        for other in {x for row in linked for x in row if x is not None} - found:
            found.add(other)
            todo.append(other)
    return sorted(found)


def card_trust(conn: Connection, key: Ed25519PrivateKey) -> CardTrust:
    """What kiosks need to check cards offline: the public key and every revoked number."""
    revoked = conn.execute(sa.select(cards.c.number).where(cards.c.revoked_at.is_not(None))).scalars()
    public = key.public_key()
    return CardTrust(keys={key_id(public): public}, revoked=frozenset(revoked))


def trust_wire(engine: Engine, key: Ed25519PrivateKey | None) -> CardTrustWire | None:
    """The card trust for a sync or enrolment answer; None when this district signs no cards."""
    if key is None:
        return None
    with engine.connect() as conn:
        return CardTrustWire.model_validate(card_trust(conn, key).to_wire())


def configured_key(settings: Settings) -> Ed25519PrivateKey | None:
    """The signing key when this server has one; None (cards not used) before ``keys init`` or
    while the file ``[cards] signing_key`` names does not exist."""
    if settings.cards.signing_key:
        return load_signing_key(settings) if os.path.lexists(Path(settings.cards.signing_key).expanduser()) else None
    return load_signing_key(settings) if Keyring(settings.keys_dir).exists() else None
