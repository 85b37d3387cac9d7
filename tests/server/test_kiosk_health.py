"""Kiosk health on the batch endpoint (sync/protocol.py KioskHealth): stored with the batch,
sent alone as an empty heartbeat, and optional, so kiosks already in the field go on as before."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server.schema import devices, visits
from tests.server.conftest import bearer, visit

BATCH = "/api/v1/visits/batch"
Device = tuple[str, str]  # id, token
HEALTH = {"pending": 12, "oldest_pending_s": 3600, "rejected": 1, "app_version": "0.1.0", "clock_offset_s": -754.2}


def stored(engine: Engine, device_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(devices.c.health, devices.c.health_at, devices.c.last_seen_at).where(devices.c.id == device_id)
        ).one()


def visit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(visits)).scalar_one()


def test_an_old_kiosks_batch_without_health_is_served_as_before(
    client: TestClient, engine: Engine, device: tuple[str, str]
) -> None:
    device_id, token = device
    answer = client.post(BATCH, json={"device_id": device_id, "visits": [visit()]}, headers=bearer(token))
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "created"
    row = stored(engine, device_id)
    assert row.health is None and row.health_at is None and row.last_seen_at is not None


def test_health_is_kept_with_the_batch_and_an_empty_heartbeat(client: TestClient, engine: Engine, device: Device) -> None:
    device_id, token = device
    answer = client.post(BATCH, json={"device_id": device_id, "visits": [visit()], "health": HEALTH}, headers=bearer(token))
    assert answer.status_code == 200
    assert stored(engine, device_id).health == HEALTH
    beat = {"device_id": device_id, "visits": [], "health": {**HEALTH, "pending": 0, "doctor": {"ok": 9, "warn": 1, "fail": 0}}}
    answer = client.post(BATCH, json=beat, headers=bearer(token))
    assert answer.status_code == 200 and answer.json()["results"] == []
    row = stored(engine, device_id)
    assert row.health["pending"] == 0 and row.health["doctor"] == {"ok": 9, "warn": 1, "fail": 0}
    assert row.health_at == row.last_seen_at


def test_a_health_the_server_cannot_read_never_costs_the_visits(
    client: TestClient, engine: Engine, device: tuple[str, str]
) -> None:
    device_id, token = device
    for odd in ({"pending": -1}, "not an object", {"app_version": "x" * 500}, {"clock_offset_s": 1e300}):
        answer = client.post(BATCH, json={"device_id": device_id, "visits": [visit()], "health": odd}, headers=bearer(token))
        assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "created"
    assert visit_count(engine) == 4 and stored(engine, device_id).health is None
