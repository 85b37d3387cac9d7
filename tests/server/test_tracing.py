"""Tracing needs a reason and leaves an audit record; purge keeps counts, drops personal data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import audit, reports, retention
from server.cli import main
from server.errors import UserError
from server.tracing import person
from tests.server.conftest import CCCD_FIELDS, add_checkpoint, bearer, enrol, official_token, visit

NOW = datetime.now(timezone.utc)
START, END = NOW - timedelta(days=20), NOW + timedelta(hours=1)


@pytest.fixture
def seen(client: TestClient, engine: Engine) -> Engine:
    """The same person at two checkpoints (ID card, then phone with ID typed), another person once, one old visit."""
    add_checkpoint(engine, "BD-001")
    add_checkpoint(engine, "BD-002")
    sent = {
        "BD-001": [
            visit("BD-001", at=NOW - timedelta(days=2)),
            visit("BD-001", at=NOW - timedelta(days=1), kind="phone", fields={"phone": "0987654321"}),
            visit("BD-001", at=NOW - timedelta(days=25)),
        ],
        "BD-002": [
            visit(
                "BD-002",
                at=NOW - timedelta(hours=3),
                kind="phone",
                direction="out",
                fields={"phone": "0912345678", "name": "Nguyễn Thị Ánh Tuyết", "id_number": "070185004321"},
            )
        ],
    }
    for code, batch in sent.items():
        device_id, token = enrol(engine, code)
        answer = client.post("/api/v1/visits/batch", json={"device_id": device_id, "visits": batch}, headers=bearer(token))
        assert {r["status"] for r in answer.json()["results"]} == {"created"}
    return engine


def test_person_by_id_number_and_phone_over_api_is_audited(seen: Engine, client: TestClient) -> None:
    token = official_token(seen, "Trần Văn Bình")
    window = {"start": START.isoformat(), "end": END.isoformat()}
    by_id = client.post(
        "/api/v1/trace/person",
        headers=bearer(token),
        json={**window, "id_number": "070185004321", "reason": "F1 của ca bệnh BN1234"},
    )
    assert by_id.status_code == 200, by_id.text
    found = by_id.json()
    assert found["count"] == 2 and [v["checkpoint"] for v in found["visits"]] == ["BD-001", "BD-002"]
    assert found["visits"][0]["name"] == CCCD_FIELDS["name"] and found["visits"][1]["phone"] == "0912345678"
    by_phone = client.post(
        "/api/v1/trace/person",
        headers=bearer(token),
        json={**window, "phone": "+84 912 345 678", "reason": "F1 của ca bệnh BN1234"},
    )
    assert by_phone.json()["count"] == 1 and by_phone.json()["visits"][0]["direction"] == "out"
    entries = audit.entries(seen, 2)
    assert [e["action"] for e in entries] == ["trace.person", "trace.person"]
    assert entries[0]["actor"] == "official:Trần Văn Bình" and entries[0]["reason"] == "F1 của ca bệnh BN1234"
    assert entries[0]["params"]["phone"] == "***5678" and entries[1]["result_count"] == 2
    assert "070185004321" not in json.dumps(entries, default=str)  # the audit keeps a masked key
    no_reason = client.post("/api/v1/trace/person", headers=bearer(token), json={**window, "phone": "0912345678"})
    assert no_reason.status_code == 422
    both = client.post(
        "/api/v1/trace/person",
        headers=bearer(token),
        json={**window, "phone": "0912345678", "id_number": "070185004321", "reason": "kiểm tra"},
    )
    assert both.status_code == 400 and both.json()["error"] == "person_key"
    device_token = enrol(seen, "BD-001")[1]
    assert (
        client.post(
            "/api/v1/trace/person", headers=bearer(device_token), json={**window, "phone": "0912345678", "reason": "kiểm tra"}
        ).status_code
        == 401
    )


def test_checkpoint_trace_over_cli_requires_a_reason(seen: Engine, db_url: str) -> None:
    runner = CliRunner()
    base = [
        "trace",
        "checkpoint",
        "BD-001",
        "--from",
        START.isoformat(),
        "--to",
        END.isoformat(),
        "--db",
        db_url,
        "--as",
        "Trần Văn Bình",
    ]
    missing = runner.invoke(main, base)
    assert missing.exit_code == 2 and "--reason" in missing.output
    short = runner.invoke(main, [*base, "--reason", "ok"])
    assert short.exit_code == 1 and "lý do" in short.stderr
    done = runner.invoke(main, [*base, "--reason", "Truy vết ổ dịch chợ", "--format", "json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["count"] == 2 and {v["kind"] for v in result["visits"]} == {"cccd", "phone"}
    table = runner.invoke(main, [*base, "--reason", "Truy vết ổ dịch chợ"])
    assert "Nguyễn Thị Ánh Tuyết" in table.stdout and "0987654321" in table.stdout
    assert "số điện thoại" in table.stdout and "CCCD" in table.stdout  # kinds in words, not "phone"/"cccd"
    local = runner.invoke(
        main,
        [
            "trace",
            "person",
            "--phone",
            "0987654321",
            "--from",
            "2020-01-01",
            "--to",
            "2099-01-01T00:00",
            "--reason",
            "Truy vết ổ dịch chợ",
            "--format",
            "json",
            "--db",
            db_url,
            "--as",
            "Trần Văn Bình",
        ],
    )
    assert json.loads(local.stdout)["count"] == 1
    entry = audit.entries(seen, 1)[0]
    assert entry["action"] == "trace.person" and entry["actor"].startswith("cli:")
    assert runner.invoke(main, ["audit", "--json", "--db", db_url]).exit_code == 0


def test_purge_clears_personal_data_but_keeps_counts(seen: Engine, db_url: str) -> None:
    before = reports.year_report(seen, "Huyện Bù Đăng", reports.today_local())
    done = CliRunner().invoke(main, ["purge", "--days", "1", "--json", "--db", db_url])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"purged": 3, "older_than_days": 1}
    assert reports.year_report(seen, "Huyện Bù Đăng", reports.today_local()) == before
    assert person(seen, "test", "kiểm tra lại", START, END, id_number="070185004321").count == 1  # only the recent one
    assert retention.purge(seen, 1, "test") == 0
    assert [e["action"] for e in audit.entries(seen, 3)] == ["visits.purge", "trace.person", "visits.purge"]


def test_bad_trace_inputs_are_user_errors(seen: Engine) -> None:
    with pytest.raises(UserError, match="12"):
        person(seen, "t", "kiểm tra", START, END, id_number="12345")
    with pytest.raises(UserError, match="phone"):
        person(seen, "t", "kiểm tra", START, END, phone="12")
    with pytest.raises(UserError, match="window"):
        person(seen, "t", "kiểm tra", END, START, phone="0912345678")


def test_nul_characters_are_refused_before_the_database(seen: Engine, client: TestClient) -> None:
    # PostgreSQL text cannot hold NUL: schemathesis found a 500 there (an audit row with it).
    token = official_token(seen)
    window = {"start": START.isoformat(), "end": END.isoformat()}
    before = audit.entries(seen)
    for path, body in (
        ("/api/v1/trace/checkpoint", {**window, "checkpoint": "BD-001", "reason": "ca bệnh\x00 BN1"}),
        ("/api/v1/trace/checkpoint", {**window, "checkpoint": "BD\x00001", "reason": "ca bệnh BN1"}),
        ("/api/v1/trace/person", {**window, "phone": "0912\x00", "reason": "ca bệnh BN1"}),
    ):
        answer = client.post(path, headers=bearer(token), json=body)
        assert answer.status_code == 422, answer.text
    report = client.get("/api/v1/reports/communes", headers=bearer(token), params={"district": "Huyện\x00 Bù Đăng"})
    assert report.status_code == 422, report.text
    assert audit.entries(seen) == before  # nothing was looked up, so nothing audited
