"""Provinces > districts > communes > checkpoints: registering them one by one or by CSV.

Names are stored in Unicode NFC with single spaces, so "Xã Đăk Nhau" typed on one
machine and pasted from a spreadsheet on another is the same commune; a name that differs
from a stored one only by case is that one too ("xã đăk nhau"), so lookups, which ignore
case (see ``server.names``), never find two. Stored names keep the case they were first
given.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from kiosk.catalog import bilingual
from server import audit
from server.db import writing
from server.errors import Conflict, NotFound, UserError
from server.names import clean_name, folded, resolve
from server.schema import checkpoints, communes, districts, provinces
from sync.protocol import CheckpointIdentity

CODE_MAX = 64


def sort_key(name: str) -> tuple[str, str]:
    """Vietnamese alphabetical order, the same on every database: tone marks second, đ after d."""
    base = "".join(
        ch for ch in unicodedata.normalize("NFD", name.replace("đ", "d~").replace("Đ", "D~")) if not unicodedata.combining(ch)
    )
    return base.casefold(), name


@dataclass(frozen=True)
class Place:
    province: str
    district: str
    commune: str

    def cleaned(self) -> Place:
        return Place(clean_name(self.province), clean_name(self.district), clean_name(self.commune))


def _get_or_create(conn: Connection, table: sa.Table, name: str, parent: dict[str, int]) -> int:
    """The place named ``name`` (without case) under ``parent``, created when there is none."""
    where = sa.and_(sa.true(), *(table.c[k] == v for k, v in parent.items()))
    same = {
        row.name: row.id
        for row in conn.execute(sa.select(table.c.id, table.c.name).where(where))
        if folded(row.name) == folded(name)
    }
    if same:
        return same.get(name) or same[min(same)]  # the exact name first; two that fold alike predate this rule
    return conn.execute(table.insert().values(name=name, **parent).returning(table.c.id)).scalar_one()


def commune_id(conn: Connection, place: Place) -> int:
    """The commune's id, creating the province, district and commune as needed."""
    place = place.cleaned()
    if not (place.province and place.district and place.commune):
        raise UserError("place_incomplete", bilingual("province, district and commune are required"))
    province = _get_or_create(conn, provinces, place.province, {})
    district = _get_or_create(conn, districts, place.district, {"province_id": province})
    return _get_or_create(conn, communes, place.commune, {"district_id": district})


def add_commune(engine: Engine, place: Place) -> int:
    with writing(engine) as conn:
        return commune_id(conn, place)


PLACE_COLUMNS = (
    provinces.c.name.label("province"),
    districts.c.name.label("district"),
    communes.c.name.label("commune"),
)


def _places_join() -> sa.FromClause:
    return communes.join(districts, communes.c.district_id == districts.c.id).join(
        provinces, districts.c.province_id == provinces.c.id
    )


def district_id(conn: Connection, district: str, province: str | None = None) -> int:
    """One district by the name a person typed (see ``server.names``); several provinces
    have a "Huyện Châu Thành", so ask which."""
    candidates = conn.execute(sa.select(districts.c.id, districts.c.name.label("district"), provinces.c.name).join(provinces)).all()
    if province:
        province_name = resolve("province", province, conn.execute(sa.select(provinces.c.name)).scalars())
        candidates = [row for row in candidates if row.name == province_name]
    name = resolve("district", district, (row.district for row in candidates))
    found = [row for row in candidates if row.district == name]
    district = name
    if len(found) > 1:
        names = ", ".join(sorted(row.name for row in found))
        raise UserError(
            "district_ambiguous",
            bilingual("several districts named '{district}' ({names}): give the province", district=district, names=names),
        )
    return found[0].id


def commune_name(conn: Connection, district: int, commune: str) -> str:
    """The stored name of the commune of ``district`` that ``commune`` stands for."""
    return resolve("commune", commune, conn.execute(sa.select(communes.c.name).where(communes.c.district_id == district)).scalars())


def list_communes(engine: Engine, district: str | None = None, province: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(communes.c.id, *PLACE_COLUMNS).select_from(_places_join())
    with engine.connect() as conn:
        if district:
            query = query.where(communes.c.district_id == district_id(conn, district, province))
        rows = conn.execute(query).mappings().all()
    return sorted((dict(row) for row in rows), key=lambda r: [sort_key(r[k]) for k in ("province", "district", "commune")])


def _check_code(code: str) -> str:
    code = code.strip()
    if not code or len(code) > CODE_MAX or not code.isprintable() or any(ch.isspace() for ch in code):
        raise UserError(
            "checkpoint_code_invalid",
            bilingual("a checkpoint code has 1–{limit} characters and no spaces", limit=CODE_MAX),
        )
    return code


def add_checkpoint(
    engine: Engine, code: str, name: str, place: Place, created_on: date, actor: str | None = None
) -> dict[str, Any]:
    """Register a checkpoint; with ``actor`` (the console: an official) the audit log says who."""
    code = _check_code(code)
    with writing(engine) as conn:
        if conn.execute(sa.select(checkpoints.c.id).where(checkpoints.c.code == code)).first():
            raise Conflict("checkpoint_exists", bilingual("checkpoint '{code}' already exists", code=code))
        conn.execute(
            checkpoints.insert().values(
                code=code, name=clean_name(name) or code, commune_id=commune_id(conn, place), created_on=created_on
            )
        )
        if actor:
            audit.write(conn, actor, "checkpoint.add", params={"checkpoint": code})
    return checkpoint(engine, code)


CHECKPOINT_COLUMNS = (
    checkpoints.c.id,
    checkpoints.c.code,
    checkpoints.c.name,
    *PLACE_COLUMNS,
    checkpoints.c.created_on,
    checkpoints.c.active,
)


def checkpoints_query() -> sa.Select[Any]:
    return sa.select(*CHECKPOINT_COLUMNS).select_from(
        checkpoints.join(communes, checkpoints.c.commune_id == communes.c.id)
        .join(districts, communes.c.district_id == districts.c.id)
        .join(provinces, districts.c.province_id == provinces.c.id)
    )


def checkpoint_row(conn: Connection, code: str) -> dict[str, Any]:
    code = code.strip()
    row = conn.execute(checkpoints_query().where(checkpoints.c.code == code)).mappings().first() if code.isprintable() else None
    if row is None:
        raise NotFound("checkpoint_not_found", bilingual("no checkpoint '{code}'", code=code))
    return dict(row)


def checkpoint(engine: Engine, code: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return checkpoint_row(conn, code)


def identity(row: RowMapping | Mapping[str, Any]) -> CheckpointIdentity:
    return CheckpointIdentity(
        code=row["code"], name=row["name"], commune=row["commune"], district=row["district"], province=row["province"]
    )


def list_checkpoints(engine: Engine, district: str | None = None, province: str | None = None) -> list[dict[str, Any]]:
    query = checkpoints_query()
    with engine.connect() as conn:
        if district:
            query = query.where(communes.c.district_id == district_id(conn, district, province))
        rows = conn.execute(query).mappings().all()
    return sorted((dict(row) for row in rows), key=lambda r: (sort_key(r["commune"]), r["code"]))


def set_active(engine: Engine, code: str, active: bool, actor: str | None = None) -> None:
    """In use or not: a checkpoint not in use is not counted as registered and takes no new kiosk."""
    with writing(engine) as conn:
        row = checkpoint_row(conn, code)
        conn.execute(checkpoints.update().where(checkpoints.c.id == row["id"]).values(active=active))
        if actor:
            audit.write(
                conn, actor, "checkpoint.activate" if active else "checkpoint.deactivate", params={"checkpoint": row["code"]}
            )
