"""The overview's chart figures: visits per Vietnam day and the weekly active ratio, with
visits on the edges of local days (midnight in Vietnam is 17:00 UTC)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server import chart, places, trend
from server.schema import communes, districts
from tests.server.test_reports import EDGE_IN_FIRST, EDGE_IN_LAST, EDGE_OUT_AFTER, WEEK_ENDING, place, record


def test_days_and_weeks_count_in_vietnam_time(engine: Engine) -> None:
    places.add_checkpoint(engine, "A1", "Chốt Ngã ba", place("Xã Đăk Nhau"), date(2026, 10, 1))
    places.add_checkpoint(engine, "A2", "Chợ", place("Xã Đăk Nhau"), date(2026, 10, 1))
    places.add_checkpoint(engine, "B1", "Trạm", place("Xã Minh Hưng"), date(2026, 11, 20))  # registered in the last week only
    record(engine, "A1", EDGE_IN_FIRST, EDGE_IN_LAST, EDGE_IN_LAST - timedelta(minutes=1), EDGE_OUT_AFTER)
    record(engine, "A2", EDGE_IN_FIRST - timedelta(days=8))  # 9 Nov local: the third week
    record(engine, "B1", datetime(2026, 11, 21, 16, 59, 59, tzinfo=timezone.utc))  # 21 Nov 23:59:59 local
    with engine.connect() as conn:
        district = conn.execute(sa.select(districts.c.id)).scalar_one()
        minh_hung = conn.execute(sa.select(communes.c.id).where(communes.c.name == "Xã Minh Hưng")).scalar_one()
    found = trend.trend(engine, district, WEEK_ENDING)
    per_day = dict(found.days)
    assert found.days[0][0] == date(2026, 10, 27) and found.days[-1][0] == WEEK_ENDING and len(found.days) == 28
    assert per_day[date(2026, 11, 17)] == 1 and per_day[date(2026, 11, 23)] == 2  # not the one at 24 Nov 00:00
    assert per_day[date(2026, 11, 9)] == 1 and per_day[date(2026, 11, 21)] == 1
    assert sum(per_day.values()) == 5
    assert found.weeks == [
        (date(2026, 11, 2), 0.0),
        (date(2026, 11, 9), 50.0),  # A2 of A1, A2 (B1 did not exist yet)
        (date(2026, 11, 16), 0.0),
        (date(2026, 11, 23), 66.67),  # A1 and B1 of three
    ]
    only_b = trend.trend(engine, district, WEEK_ENDING, commune_id=minh_hung)
    assert sum(n for _, n in only_b.days) == 1 and only_b.weeks[-1] == (WEEK_ENDING, 100.0)
    drawn = chart.render(found, "Lượt vào/ra mỗi ngày", "Tỷ lệ hoạt động")
    assert drawn.startswith("<svg") and drawn.count("<rect") == 28 + 1 and "66.67 %" in drawn
