"""The overview's chart: visits per day and the active ratio per week, over the last weeks.

Both come from the daily counts ingest keeps (server/daily_counts.py), in one grouped
query over the window: visits per checkpoint and Vietnam day, summed per day and turned
into each week's active checkpoints. So the chart costs checkpoints × days rows, however
many visits the weeks hold (bench/console_overview.py: the page had read four weeks of
visits and took two to three times the report query alone). A week's active ratio follows
the district table's rule (server.reports.ratio): active registered checkpoints over
registered ones on the week's last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.reports import WINDOW_DAYS, ratio
from server.schema import checkpoints, communes, daily_visits

WEEKS = 4


@dataclass(frozen=True)
class Trend:
    days: list[tuple[date, int]]  # visits per day, oldest first
    weeks: list[tuple[date, float]]  # (last day, active ratio %) per week, oldest first


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
    week_ends = days[WINDOW_DAYS - 1 :: WINDOW_DAYS]
    places = sa.select(checkpoints.c.id).join(communes).where(communes.c.district_id == district_id)
    if commune_id is not None:
        places = places.where(communes.c.id == commune_id)
    if checkpoint_id is not None:
        places = places.where(checkpoints.c.id == checkpoint_id)
    in_window = sa.and_(daily_visits.c.day >= days[0], daily_visits.c.day <= last_day, daily_visits.c.checkpoint_id.in_(places))
    with engine.connect() as conn:
        counted = [
            ((day - days[0]).days, checkpoint, int(count))
            for day, checkpoint, count in conn.execute(
                sa.select(daily_visits.c.day, daily_visits.c.checkpoint_id, sa.func.sum(daily_visits.c.visits))
                .where(in_window)
                .group_by(daily_visits.c.day, daily_visits.c.checkpoint_id)
            )
        ]
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
