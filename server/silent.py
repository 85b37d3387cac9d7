"""Silent checkpoints: registered ones with no visit in the last N days, and why, so an
officer knows whom to call.

A checkpoint's kiosk state, from what the server knows, worst first:

- ``never_enrolled``: no kiosk was ever enrolled there;
- ``revoked``: every kiosk it had was revoked (its token no longer works);
- ``never_synced``: a kiosk was enrolled but has never sent anything;
- ``last_sync``: the newest contact from any of its kiosks, N days ago.

With it, what that kiosk last reported of itself (sync/protocol.py ``KioskHealth``, sent
with every batch and heartbeat by kiosks that know it): visits waiting to be sent, and a
clock off from the server's by ``CLOCK_WRONG_S`` or more (the kiosk doctor's warning).

The query reads which checkpoints had a visit in the window (the visits' time index),
then the last visit of the silent ones only, so its cost follows the window, not the
whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.places import sort_key
from server.schema import checkpoints, communes, devices, visits

KioskState = Literal["never_enrolled", "revoked", "never_synced", "last_sync"]
DEFAULT_DAYS = 7
CLOCK_WRONG_S = 60  # the kiosk doctor's warning (sync/doctor.py WARN_OFFSET_S; not imported: kiosk-only)


@dataclass(frozen=True)
class SilentCheckpoint:
    code: str
    name: str
    commune: str
    last_visit_at: datetime | None
    state: KioskState
    last_contact_at: datetime | None
    kiosks: int
    waiting: int | None = None  # visits the kiosk last said it had not sent
    clock_offset_s: float | None = None  # only when it is wrong

    @property
    def clock_minutes(self) -> int:
        return round((self.clock_offset_s or 0) / 60)


def silent_checkpoints(
    engine: Engine, district_id: int, days: int = DEFAULT_DAYS, commune_id: int | None = None, now: datetime | None = None
) -> list[SilentCheckpoint]:
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(days=days)
    where = sa.and_(communes.c.district_id == district_id, checkpoints.c.active)
    if commune_id is not None:
        where = sa.and_(where, communes.c.id == commune_id)
    with engine.connect() as conn:
        places = conn.execute(
            sa.select(checkpoints.c.id, checkpoints.c.code, checkpoints.c.name, communes.c.name.label("commune"))
            .join(communes)
            .where(where)
        ).all()
        ids = [p.id for p in places]
        heard = set(
            conn.execute(
                sa.select(visits.c.checkpoint_id)
                .where(visits.c.occurred_at >= since, visits.c.checkpoint_id.in_(ids))
                .group_by(visits.c.checkpoint_id)
            ).scalars()
        )
        quiet = [p for p in places if p.id not in heard]
        quiet_ids = [p.id for p in quiet]
        last_visit = dict(
            conn.execute(
                sa.select(visits.c.checkpoint_id, sa.func.max(visits.c.occurred_at))
                .where(visits.c.checkpoint_id.in_(quiet_ids))
                .group_by(visits.c.checkpoint_id)
            ).all()
        )
        kiosks: dict[int, list[Any]] = {}
        for row in conn.execute(
            sa.select(devices.c.checkpoint_id, devices.c.last_seen_at, devices.c.revoked_at, devices.c.health).where(
                devices.c.checkpoint_id.in_(quiet_ids)
            )
        ):
            kiosks.setdefault(row.checkpoint_id, []).append(row)
    found = []
    for p in quiet:
        mine = kiosks.get(p.id, [])
        live = [k for k in mine if k.revoked_at is None]
        contacted = sorted((k for k in live if k.last_seen_at is not None), key=lambda k: k.last_seen_at)
        state: KioskState = (
            "never_enrolled" if not mine else "revoked" if not live else "never_synced" if not contacted else "last_sync"
        )
        latest = contacted[-1] if contacted else None
        health = (latest.health if latest else None) or {}
        offset = health.get("clock_offset_s")
        found.append(
            SilentCheckpoint(
                p.code,
                p.name,
                p.commune,
                last_visit.get(p.id),
                state,
                latest.last_seen_at if latest else None,
                len(live),
                waiting=health.get("pending"),
                clock_offset_s=offset if isinstance(offset, int | float) and abs(offset) >= CLOCK_WRONG_S else None,
            )
        )
    return sorted(found, key=lambda s: (sort_key(s.commune), s.code))
