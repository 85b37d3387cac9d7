"""What an official's role lets them see of a report: their district only (when they have
one), and of a commune officer's district only their commune's row. The API and the
console both call these, so the two doors show the same thing to the same person."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kiosk.catalog import bilingual
from server import reports
from server.places import commune_name, district_id
from server.roles import Forbidden, Official
from server.schema import communes


def _commune(engine: Engine, official: Official, district: str, province: str | None) -> str | None:
    """Checks the district is theirs; the name of their commune when they have one."""
    with engine.connect() as conn:
        official.require_district(district_id(conn, district, province))
        if official.commune_id is None:
            return None
        return conn.execute(sa.select(communes.c.name).where(communes.c.id == official.commune_id)).scalar_one()


R = TypeVar("R", reports.CommuneReport, reports.YearReport)


def _only(report: R, commune: str | None) -> R:
    """The report as a commune official sees it: their commune's row, which is also the total."""
    if commune is None:
        return report
    rows = [row for row in report.rows if row.commune == commune]
    return report.model_copy(update={"rows": rows, "total": rows[0].model_copy(update={"commune": reports.TOTAL})})


def commune_report(
    engine: Engine, official: Official, district: str, week_ending: date, province: str | None = None
) -> reports.CommuneReport:
    mine = _commune(engine, official, district, province)
    report = reports.commune_report(engine, district, week_ending, province)
    return _only(report, mine)


def checkpoint_report(
    engine: Engine, official: Official, district: str, week_ending: date, province: str | None = None, commune: str | None = None
) -> reports.CheckpointReport:
    mine = _commune(engine, official, district, province)
    if mine is not None and commune is not None:
        with engine.connect() as conn:
            if commune_name(conn, district_id(conn, district, province), commune) != mine:
                raise Forbidden("other_commune", bilingual("this is not your commune"))
    return reports.checkpoint_report(engine, district, week_ending, province, mine or commune)


def year_report(
    engine: Engine, official: Official, district: str, through: date, province: str | None = None
) -> reports.YearReport:
    mine = _commune(engine, official, district, province)
    report = reports.year_report(engine, district, through, province)
    return _only(report, mine)
