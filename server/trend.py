"""The overview's chart: visits per day and the active ratio per week, over the last weeks.

Both come from one grouped query over the window (no per-day round trips): visits per
checkpoint and local day, summed per day and turned into each week's active checkpoints. The window is Vietnam
days turned into UTC bounds, as in server/reports.py; a visit's day is its whole days
since the window's first local midnight (Vietnam has no daylight saving, so every day is
86,400 s). A week's
active ratio follows the district table's rule (server.reports.ratio): active registered
checkpoints over registered ones on the week's last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.reports import WINDOW_DAYS, Window, ratio
from server.schema import checkpoints, communes, visits

WEEKS = 4


@dataclass(frozen=True)
class Trend:
    days: list[tuple[date, int]]  # visits per day, oldest first
    weeks: list[tuple[date, float]]  # (last day, active ratio %) per week, oldest first


def _day_index(dialect: str, start: datetime) -> sa.ColumnElement[int]:
    """Whole days from ``start`` (a local midnight, as UTC) to the visit: arithmetic on the
    stored time, one step per row instead of a CASE over 28 bounds. SQLite keeps UTC text,
    PostgreSQL a timestamptz."""
    if dialect == "sqlite":
        origin = start.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        days = sa.func.julianday(visits.c.occurred_at) - sa.func.julianday(origin)
    else:
        days = sa.extract("epoch", visits.c.occurred_at - start) / 86400
    return sa.cast(sa.func.floor(days) if dialect != "sqlite" else days, sa.Integer)


def trend(
    engine: Engine,
    district_id: int,
    last_day: date,
    commune_id: int | None = None,
    weeks: int = WEEKS,
    checkpoint_id: int | None = None,
) -> Trend:
    """Per day and per week up to ``last_day``, for a district, one of its communes or one checkpoint."""
    days = [last_day - timedelta(days=n) for n in range(weeks * WINDOW_DAYS - 1, -1, -1)]
    window = Window.days_ending(last_day, len(days))
    week_ends = days[WINDOW_DAYS - 1 :: WINDOW_DAYS]
    places = sa.select(checkpoints.c.id).join(communes).where(communes.c.district_id == district_id)
    if commune_id is not None:
        places = places.where(communes.c.id == commune_id)
    if checkpoint_id is not None:
        places = places.where(checkpoints.c.id == checkpoint_id)
    in_window = sa.and_(visits.c.occurred_at >= window.start, visits.c.occurred_at < window.end, visits.c.checkpoint_id.in_(places))
    with engine.connect() as conn:
        index = _day_index(engine.dialect.name, window.start)
        day = index.label("day")
        # one pass: visits per checkpoint and day give both the daily totals and the weekly actives
        counted = conn.execute(
            sa.select(day, visits.c.checkpoint_id, sa.func.count()).where(in_window).group_by(day, visits.c.checkpoint_id)
        ).all()
        registered = conn.execute(
            sa.select(checkpoints.c.id, checkpoints.c.created_on).where(checkpoints.c.active, checkpoints.c.id.in_(places))
        ).all()
    per_day: dict[int, int] = {}
    active_in: dict[int, set[int]] = {}
    for d, checkpoint, count in counted:
        per_day[d] = per_day.get(d, 0) + count
        active_in.setdefault(d // WINDOW_DAYS, set()).add(checkpoint)
    week_ratios = []
    for i, end in enumerate(week_ends):
        listed = {cp.id for cp in registered if cp.created_on <= end}
        week_ratios.append((end, ratio(len(listed & active_in.get(i, set())), len(listed))))
    return Trend(days=[(d, per_day.get(i, 0)) for i, d in enumerate(days)], weeks=week_ratios)
