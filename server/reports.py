"""The district table that district letters attach, and its per-checkpoint and year-to-date views.

A window is 7 local days (Asia/Ho_Chi_Minh) ending on a date, turned into UTC bounds once,
so SQLite and PostgreSQL count the same visits. Visits count by ``occurred_at`` (the
corrected time when a kiosk clock was wrong), read from the daily counts ingest keeps
(``server/daily_counts.py``), so a report costs the same however many weeks are stored,
and a purge changes no figure. Rules, per commune:

- registered: checkpoints with the active flag, created on or before the last day;
- new: registered ones created inside the window;
- visits: every visit in the window at the commune's checkpoints (a deactivated
  checkpoint's visits still happened);
- active: registered checkpoints with at least one visit in the window;
- active ratio: active / registered in percent, two decimals, half up (0 with none).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine

from kiosk.catalog import N_, bilingual, text
from kiosk.clock import LOCAL_TZ
from server import daily_counts
from server.errors import UserError
from server.export import Cell, Table
from server.places import commune_name, district_id, sort_key
from server.schema import checkpoints, communes, devices, districts, provinces, visits

WINDOW_DAYS = 7
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
# The district's report forms are in Vietnamese: their words come from the catalogue in "vi".
TOTAL = N_("Total, all communes")
COMMUNE_HEADINGS = [
    N_("Commune, ward, township"),
    N_("Checkpoints set up"),
    N_("Checkpoints set up in the last 7 days"),
    N_("Entries and exits at the checkpoints in 7 days"),
    N_("Checkpoints active in 7 days"),
    N_("Active checkpoints / all (%)"),
]
CHECKPOINT_HEADINGS = [
    N_("Checkpoint code"),
    N_("Checkpoint name"),
    N_("Commune, ward, township"),
    N_("Set up on"),
    N_("In use"),
    N_("Entries and exits in 7 days"),
    N_("Last visit"),
    N_("Last sending device"),
]
YTD_HEADINGS = [N_("Commune, ward, township"), N_("Entries and exits since the start of the year")]


def _vietnamese(msgids: list[str]) -> list[str]:
    return [text(msgid, "vi") for msgid in msgids]


@dataclass(frozen=True)
class Window:
    first_day: date
    last_day: date
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive

    @classmethod
    def days_ending(cls, last_day: date, days: int = WINDOW_DAYS) -> Window:
        if not FIRST_DAY <= last_day <= LAST_DAY:
            raise UserError(
                "date_out_of_range",
                bilingual("the date must be between {first} and {last}", first=FIRST_DAY, last=LAST_DAY),
            )
        first = last_day - timedelta(days=days - 1)
        return cls(
            first,
            last_day,
            datetime.combine(first, time(0), LOCAL_TZ),
            datetime.combine(last_day + timedelta(days=1), time(0), LOCAL_TZ),
        )

    @classmethod
    def year_to(cls, last_day: date) -> Window:
        return cls.days_ending(last_day, (last_day - date(last_day.year, 1, 1)).days + 1)


def today_local() -> date:
    return datetime.now(LOCAL_TZ).date()


def ratio(active: int, registered: int) -> float:
    if not registered:
        return 0.0
    return float((Decimal(active * 100) / Decimal(registered)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


class CommuneRow(BaseModel):
    commune: str
    registered: int
    new: int
    visits: int
    active: int
    active_ratio: float


class CommuneReport(BaseModel):
    district: str
    province: str
    week_ending: date
    window_start: datetime
    window_end: datetime
    rows: list[CommuneRow]
    total: CommuneRow

    def table(self) -> Table:
        rows: list[list[Cell]] = [
            [r.commune, r.registered, r.new, r.visits, r.active, Decimal(str(r.active_ratio))] for r in [*self.rows, self.total]
        ]
        return Table(
            _vietnamese(COMMUNE_HEADINGS),
            rows,
            _title(self.district, self.province, Window.days_ending(self.week_ending)),
            total_rows=1,
            percent_columns=frozenset({5}),
        )


class CheckpointRow(BaseModel):
    code: str
    name: str
    commune: str
    created_at: date
    active: bool
    visits: int
    last_visit_at: datetime | None
    last_device_seen_at: datetime | None


class CheckpointReport(BaseModel):
    district: str
    province: str
    week_ending: date
    rows: list[CheckpointRow]

    def table(self) -> Table:
        rows = [
            [r.code, r.name, r.commune, r.created_at, r.active, r.visits, _local(r.last_visit_at), _local(r.last_device_seen_at)]
            for r in self.rows
        ]
        return Table(
            _vietnamese(CHECKPOINT_HEADINGS), rows, _title(self.district, self.province, Window.days_ending(self.week_ending))
        )


class YearRow(BaseModel):
    commune: str
    visits: int


class YearReport(BaseModel):
    district: str
    province: str
    through: date
    rows: list[YearRow]
    total: YearRow

    def table(self) -> Table:
        rows: list[list[Cell]] = [[r.commune, r.visits] for r in [*self.rows, self.total]]
        return Table(
            _vietnamese(YTD_HEADINGS), rows, _title(self.district, self.province, Window.year_to(self.through)), total_rows=1
        )


def _local(moment: datetime | None) -> str | None:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else None


def _title(district: str, province: str, window: Window) -> str:
    period = text(
        "from {first} to {last} (Vietnam time)", "vi", first=f"{window.first_day:%d/%m/%Y}", last=f"{window.last_day:%d/%m/%Y}"
    )
    return f"{district}, {province} · {period}"


@dataclass(frozen=True)
class _District:
    id: int
    name: str
    province: str
    communes: list[tuple[int, str]]


def _district(conn: Connection, name: str, province: str | None) -> _District:
    did = district_id(conn, name, province)
    row = conn.execute(
        sa.select(districts.c.name, provinces.c.name.label("province")).join(provinces).where(districts.c.id == did)
    ).one()
    found = conn.execute(sa.select(communes.c.id, communes.c.name).where(communes.c.district_id == did)).all()
    return _District(did, row.name, row.province, sorted(((c.id, c.name) for c in found), key=lambda c: sort_key(c[1])))


def _district_checkpoints(d: _District) -> sa.Select[Any]:
    return sa.select(checkpoints.c.id).join(communes).where(communes.c.district_id == d.id)


def _visit_counts(conn: Connection, d: _District, window: Window) -> dict[int, int]:
    return daily_counts.per_checkpoint(conn, _district_checkpoints(d), window.first_day, window.last_day)


def _checkpoints_of(conn: Connection, d: _District, *more: sa.ColumnElement[Any]) -> list[Any]:
    """The district's checkpoints with their commune's name (and ``more`` columns), in report order."""
    rows = conn.execute(
        sa.select(checkpoints, communes.c.name.label("commune"), *more).join(communes).where(communes.c.district_id == d.id)
    ).all()
    order = {cid: i for i, (cid, _) in enumerate(d.communes)}  # d.communes are in sort_key order: one key per commune, not per row
    return sorted(rows, key=lambda cp: (order[cp.commune_id], cp.code))


def _counted(engine: Engine, district: str, province: str | None, window: Window) -> tuple[_District, dict[int, int], list[Any]]:
    """The district, visits per checkpoint in the window, and its checkpoints: read in one transaction."""
    with engine.connect() as conn:
        d = _district(conn, district, province)
        return d, _visit_counts(conn, d, window), _checkpoints_of(conn, d)


def commune_report(engine: Engine, district: str, week_ending: date, province: str | None = None) -> CommuneReport:
    window = Window.days_ending(week_ending)
    d, counts, cps = _counted(engine, district, province, window)
    tally: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # registered, new, visits, active
    for cp in cps:
        t = tally[cp.commune_id]
        t[2] += counts.get(cp.id, 0)
        if cp.active and cp.created_on <= window.last_day:
            t[0] += 1
            t[1] += cp.created_on >= window.first_day
            t[3] += cp.id in counts
    rows = []
    for cid, name in d.communes:
        registered, new, seen, active = tally[cid]
        rows.append(
            CommuneRow(
                commune=name, registered=registered, new=new, visits=seen, active=active, active_ratio=ratio(active, registered)
            )
        )
    sums = [sum(getattr(r, k) for r in rows) for k in ("registered", "new", "visits", "active")]
    total = CommuneRow(
        commune=text(TOTAL, "vi"),
        registered=sums[0],
        new=sums[1],
        visits=sums[2],
        active=sums[3],
        active_ratio=ratio(sums[3], sums[0]),
    )
    return CommuneReport(
        district=d.name,
        province=d.province,
        week_ending=week_ending,
        window_start=window.start,
        window_end=window.end,
        rows=rows,
        total=total,
    )


def checkpoint_report(
    engine: Engine, district: str, week_ending: date, province: str | None = None, commune: str | None = None
) -> CheckpointReport:
    window = Window.days_ending(week_ending)
    # One row per checkpoint with everything the view shows, each figure a correlated probe
    # of an index: the week's counts (covering keys), the last visit (one backward step of
    # the (checkpoint_id, occurred_at) index, not a GROUP BY over every visit the district
    # ever had) and its devices' last contact. The cost stays with the district's checkpoints
    # however many weeks are stored (bench/server_report.py).
    last_visit = (
        sa.select(sa.func.max(visits.c.occurred_at))
        .where(visits.c.checkpoint_id == checkpoints.c.id, visits.c.occurred_at < window.end)
        .scalar_subquery()
    )
    last_seen = sa.select(sa.func.max(devices.c.last_seen_at)).where(devices.c.checkpoint_id == checkpoints.c.id).scalar_subquery()
    with engine.connect() as conn:
        d = _district(conn, district, province)
        cps = _checkpoints_of(
            conn,
            d,
            daily_counts.visits_between(checkpoints.c.id, window.first_day, window.last_day).label("visits"),
            last_visit.label("last_visit_at"),
            last_seen.label("last_device_seen_at"),
        )
        only = commune_name(conn, d.id, commune) if commune is not None else None
    # Built without validation: every field comes typed from the database (the count made an
    # int), and validating a city district's 21,253 rows took 0.2 s (bench/server_report.py).
    rows = [
        CheckpointRow.model_construct(
            code=cp.code,
            name=cp.name,
            commune=cp.commune,
            created_at=cp.created_on,
            active=cp.active,
            visits=int(cp.visits),
            last_visit_at=cp.last_visit_at,
            last_device_seen_at=cp.last_device_seen_at,
        )
        for cp in cps
        if only is None or cp.commune == only
    ]
    return CheckpointReport(district=d.name, province=d.province, week_ending=week_ending, rows=rows)


def year_report(engine: Engine, district: str, through: date, province: str | None = None) -> YearReport:
    d, counts, cps = _counted(engine, district, province, Window.year_to(through))
    per_commune: dict[int, int] = defaultdict(int)
    for cp in cps:
        per_commune[cp.commune_id] += counts.get(cp.id, 0)
    rows = [YearRow(commune=name, visits=per_commune[cid]) for cid, name in d.communes]
    return YearReport(
        district=d.name,
        province=d.province,
        through=through,
        rows=rows,
        total=YearRow(commune=text(TOTAL, "vi"), visits=sum(r.visits for r in rows)),
    )
