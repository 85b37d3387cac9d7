"""The overview's chart: visits per day and the active ratio per week, over the last weeks.

Both come from the daily counts ingest keeps (server/daily_counts.py), summed by the
database: one grouped query gives the visits per day; one statement gives, per week, the
checkpoints registered by its last day and how many of them have a visit in it (a
scalar subquery per week with EXISTS, one probe of the daily counts' primary key per
checkpoint; one query grouping the window by a CASE on the day took three times as long
on SQLite, COUNT(DISTINCT) per week twice as long on PostgreSQL). So
the chart moves days + 2 × weeks values out of the database, however many checkpoints
the district has. The version before fetched every checkpoint × day row and summed
them in Python (bench/console_overview.py: on SQLite the chart took 112 ms beside a 70 ms
report query; now see bench/README.md). A week's active ratio follows the
district table's rule (server.reports.ratio): active registered checkpoints over
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
    place = [communes.c.district_id == district_id]
    if commune_id is not None:
        place.append(communes.c.id == commune_id)
    if checkpoint_id is not None:
        place.append(checkpoints.c.id == checkpoint_id)
    counted = daily_visits.join(checkpoints).join(communes)
    listed = [checkpoints.c.active, *place]

    def active_in(end: date) -> sa.ScalarSelect[int]:
        """Registered checkpoints with a visit in the week ending ``end``: one index probe each."""
        visited = sa.exists().where(
            daily_visits.c.checkpoint_id == checkpoints.c.id,
            daily_visits.c.day >= end - timedelta(days=WINDOW_DAYS - 1),
            daily_visits.c.day <= end,
        )
        return registered_on(end, visited)

    def registered_on(end: date, *also: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
        where = [*listed, checkpoints.c.created_on <= end, *also]
        return sa.select(sa.func.count()).select_from(checkpoints.join(communes)).where(*where).scalar_subquery()

    with engine.connect() as conn:
        per_day: dict[date, int] = dict(
            conn.execute(
                sa.select(daily_visits.c.day, sa.func.sum(daily_visits.c.visits))
                .select_from(counted)
                .where(daily_visits.c.day >= days[0], daily_visits.c.day <= last_day, *place)
                .group_by(daily_visits.c.day)
            ).all()
        )
        counts = conn.execute(sa.select(*(q(end) for end in week_ends for q in (active_in, registered_on)))).one()
    return Trend(
        days=[(d, int(per_day.get(d, 0))) for d in days],
        weeks=[(end, ratio(int(counts[2 * i]), int(counts[2 * i + 1]))) for i, end in enumerate(week_ends)],
    )
