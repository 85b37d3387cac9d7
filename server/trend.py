"""The overview's chart: visits per day and the active ratio per week, over the last weeks.

Both come from two grouped queries over the window (no per-day round trips): visits per
local day, and which checkpoints had a visit in each 7-day week. Days and weeks are
Vietnam days turned into UTC bounds, as in server/reports.py, and the bucket of a visit
is a CASE over those bounds, which reads the same on SQLite and PostgreSQL. A week's
active ratio follows the district table's rule (server.reports.ratio): active registered
checkpoints over registered ones on the week's last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.reports import WINDOW_DAYS, Window, ratio
from server.schema import checkpoints, communes, visits

WEEKS = 4


@dataclass(frozen=True)
class Trend:
    days: list[tuple[date, int]]  # visits per day, oldest first
    weeks: list[tuple[date, float]]  # (last day, active ratio %) per week, oldest first


def _bucket(bounds: list[Any]) -> sa.ColumnElement[int]:
    return sa.case(*((visits.c.occurred_at < bound, i) for i, bound in enumerate(bounds[1:])), else_=len(bounds) - 1)


def trend(engine: Engine, district_id: int, last_day: date, commune_id: int | None = None, weeks: int = WEEKS) -> Trend:
    """Per day and per week up to ``last_day``, for a district or only one of its communes."""
    days = [last_day - timedelta(days=n) for n in range(weeks * WINDOW_DAYS - 1, -1, -1)]
    day_bounds = [Window.days_ending(d, 1).start for d in days] + [Window.days_ending(last_day, 1).end]
    week_ends = days[WINDOW_DAYS - 1 :: WINDOW_DAYS]
    week_bounds = [Window.days_ending(w).start for w in week_ends] + [day_bounds[-1]]
    places = sa.select(checkpoints.c.id).join(communes).where(communes.c.district_id == district_id)
    if commune_id is not None:
        places = places.where(communes.c.id == commune_id)
    in_window = sa.and_(
        visits.c.occurred_at >= day_bounds[0], visits.c.occurred_at < day_bounds[-1], visits.c.checkpoint_id.in_(places)
    )
    with engine.connect() as conn:
        day = _bucket(day_bounds).label("day")
        per_day = dict(conn.execute(sa.select(day, sa.func.count()).where(in_window).group_by(day)).all())
        week = _bucket(week_bounds).label("week")
        seen = conn.execute(sa.select(week, visits.c.checkpoint_id).where(in_window).group_by(week, visits.c.checkpoint_id)).all()
        registered = conn.execute(
            sa.select(checkpoints.c.id, checkpoints.c.created_on).where(checkpoints.c.active, checkpoints.c.id.in_(places))
        ).all()
    active_in: dict[int, set[int]] = {}
    for w, checkpoint in seen:
        active_in.setdefault(w, set()).add(checkpoint)
    week_ratios = []
    for i, end in enumerate(week_ends):
        counted = {cp.id for cp in registered if cp.created_on <= end}
        week_ratios.append((end, ratio(len(counted & active_in.get(i, set())), len(counted))))
    return Trend(days=[(d, per_day.get(i, 0)) for i, d in enumerate(days)], weeks=week_ratios)
