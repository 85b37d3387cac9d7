"""The running district server purges by itself: a real ``checkpoint-server serve`` process,
and the app's lifespan, on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient

from server import audit, retention
from server.app import create_app
from server.config import RetentionSection, Settings
from server.retention import TIMER_ACTOR
from tests.server.conftest import CCCD_FIELDS, bearer, enrol, visit
from tests.sync.conftest import CHECKPOINT, Server
from tests.waiting import wait_for

NOW = datetime.now(timezone.utc)


def send(server: Server, ages_days: list[float]) -> list[str]:
    """Visits as a kiosk sends them, this many days old; their ids."""
    device_id, token = enrol(server.engine, CHECKPOINT)
    batch = [visit(CHECKPOINT, at=NOW - timedelta(days=age)) for age in ages_days]
    answer = requests.post(
        f"{server.url}/api/v1/visits/batch", json={"device_id": device_id, "visits": batch}, headers=bearer(token), timeout=30
    )
    assert {r["status"] for r in answer.json()["results"]} == {"created"}, answer.text
    return [v["id"] for v in batch]


def personal(server: Server) -> dict[str, Any]:
    """Each visit's name, None once purged."""
    return {visit_id: row["person_name"] for visit_id, row in server.visits().items()}


def test_a_restarted_server_purges_on_its_timer_without_a_command(any_server: Server) -> None:
    old, recent = send(any_server, [10, 0.1])
    assert personal(any_server) == {old: "Nguyễn Thị Ánh Tuyết", recent: "Nguyễn Thị Ánh Tuyết"}
    any_server.stop()
    any_server.config.write_text(any_server.config.read_text() + "[retention]\ndays = 7\n")
    any_server.start()
    wait_for(lambda: personal(any_server)[old] is None, "the server's retention timer")
    assert personal(any_server)[recent] == "Nguyễn Thị Ánh Tuyết"
    assert any_server.count() == 2  # the rows stay: reports do not change
    purges = [e for e in audit.entries(any_server.engine) if e["action"] == "visits.purge"]
    assert [(e["actor"], e["result_count"]) for e in purges] == [(TIMER_ACTOR, 1)]


def test_on_sqlite_the_cleared_personal_data_leaves_no_bytes_in_the_files(server: Server) -> None:
    device_id, token = enrol(server.engine, CHECKPOINT)
    fields = {**CCCD_FIELDS, "id_number": "052301009876", "name": "Đinh Thị Ngọc Hường"}
    batch = [visit(CHECKPOINT, at=NOW - timedelta(days=10 + n), fields=fields) for n in range(3)]
    sent = requests.post(
        f"{server.url}/api/v1/visits/batch", json={"device_id": device_id, "visits": batch}, headers=bearer(token), timeout=30
    )
    assert {r["status"] for r in sent.json()["results"]} == {"created"}, sent.text
    secrets = [s.encode() for s in ("Đinh Thị Ngọc Hường", "052301009876")]

    def found() -> list[bytes]:
        files = b"".join(p.read_bytes() for p in server.db_path.parent.glob(server.db_path.name + "*"))
        return [s for s in secrets if s in files]

    assert found() == secrets  # where the search looks, they are, while kept
    assert retention.purge(server.engine, 5, "test") == 3
    assert found() == []


def test_the_apps_lifespan_runs_the_timer_and_an_empty_pass_leaves_no_audit_entry(
    any_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="server.retention")
    old = send(any_server, [3])[0]
    base = Settings().with_overrides(db=any_server.url_db)
    with TestClient(create_app(base, any_server.engine)):  # 30 days: nothing to clear
        wait_for(lambda: "cleared the personal data of 0 visits" in caplog.text, "the first pass")
    assert personal(any_server)[old] is not None
    assert not [e for e in audit.entries(any_server.engine) if e["action"] == "visits.purge"]
    short = base.model_copy(update={"retention": RetentionSection(days=2)})
    with TestClient(create_app(short, any_server.engine)):
        wait_for(lambda: personal(any_server)[old] is None, "the lifespan's retention timer")
