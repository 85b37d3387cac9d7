"""Batch ingest: per-visit answers, replay safety, limits, and no personal data in errors."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from kiosk.seal import seal
from server.app import create_app
from server.config import LimitsSection, Settings
from server.ingest import count_visits
from server.keys import Keyring
from server.schema import devices, visits
from sync.protocol import BatchResponse
from tests.server.conftest import CCCD_FIELDS, add_checkpoint, bearer, enrol, visit

BATCH = "/api/v1/visits/batch"
PERSONAL = ("070185004321", "Nguyễn", "0912345678", "Tuyết")


def send(client: TestClient, device: tuple[str, str], visits_: list, **kwargs: object) -> object:
    device_id, token = device
    return client.post(BATCH, json={"device_id": device_id, "visits": visits_}, headers=bearer(token), **kwargs)


def statuses(answer: object) -> list[str]:
    return [r["status"] for r in answer.json()["results"]]


def test_created_then_all_duplicate_on_replay(client: TestClient, engine: Engine, device: tuple[str, str]) -> None:
    sent = [visit() for _ in range(50)] + [visit(kind="phone", fields={"phone": "0912345678", "name": "Lê Văn Tám"})]
    first = send(client, device, sent)
    assert first.status_code == 200
    body = BatchResponse.model_validate(first.json())
    assert [r.id for r in body.results] == [v["id"] for v in sent]
    assert statuses(first) == ["created"] * 51
    assert abs(body.server_time - datetime.now(timezone.utc)) < timedelta(seconds=5)
    replay = send(client, device, sent)
    assert statuses(replay) == ["duplicate"] * 51
    assert count_visits(engine) == 51
    with engine.connect() as conn:
        row = conn.execute(sa.select(visits).where(visits.c.id == __import__("uuid").UUID(sent[-1]["id"]))).mappings().one()
        seen = conn.execute(sa.select(devices.c.last_seen_at)).scalar_one()
    assert row["phone"] == "0912345678" and row["person_name"] == "Lê Văn Tám" and row["kind"] == "phone"
    assert row["occurred_at"] == datetime.fromisoformat(sent[-1]["scanned_at"])
    assert abs(seen - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_each_bad_visit_is_rejected_alone_with_code_and_reason(client: TestClient, engine: Engine, device: tuple[str, str]) -> None:
    now = datetime.now(timezone.utc)
    good = visit()
    twice = visit()
    bad_fields = visit(fields={**CCCD_FIELDS, "id_number": "07018500432X"})
    other_checkpoint = visit("BD-999")
    future = visit(at=now + timedelta(days=3))
    too_old = visit(at=now - timedelta(days=40))
    corrected = visit(
        at=datetime(1970, 1, 1, tzinfo=timezone.utc), clock_synchronised=False, corrected_at=(now - timedelta(hours=1)).isoformat()
    )
    no_zone = visit(scanned_at="2026-11-23T08:00:00")
    not_a_dict = "070185004321|Nguyễn Thị Ánh Tuyết"
    answer = send(
        client, device, [good, bad_fields, other_checkpoint, future, too_old, corrected, no_zone, not_a_dict, twice, twice]
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("created", None),
        ("rejected", "invalid_visit"),
        ("rejected", "wrong_checkpoint"),
        ("created", None),
        ("created", None),
        ("created", None),
        ("rejected", "invalid_visit"),
        ("rejected", "invalid_visit"),
        ("created", None),
        ("duplicate", None),
    ]
    assert "fields.id_number" in results[1]["reason"] and "scanned_at" in results[6]["reason"]
    assert results[7]["id"] == "#7"
    assert not any(p in answer.text for p in PERSONAL)
    assert count_visits(engine) == 5  # a time in the future or past the retention is no reason to lose a visit


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"{not json", 400, "invalid_json"),
        (
            json.dumps({"visits": [{"fields": {"name": "Nguyễn Thị Ánh Tuyết", "id_number": "070185004321"}}]}).encode(),
            422,
            "invalid_request",
        ),
        (json.dumps({"device_id": "x", "visits": "Nguyễn Thị Ánh Tuyết 070185004321"}).encode(), 422, "invalid_request"),
    ],
)
def test_bad_bodies_never_echo_personal_data(
    client: TestClient, device: tuple[str, str], body: bytes, status: int, code: str
) -> None:
    answer = client.post(BATCH, content=body, headers={**bearer(device[1]), "Content-Type": "application/json"})
    assert answer.status_code == status and answer.json()["error"] == code
    assert not any(p in answer.text for p in PERSONAL), answer.text


def test_validation_errors_elsewhere_do_not_echo_input(client: TestClient) -> None:
    answer = client.post("/api/v1/enroll", json={"code": "Nguyễn Thị Ánh Tuyết 070185004321" * 5})
    assert answer.status_code == 422 and answer.json()["fields"][0]["loc"] == ["body", "code"]
    assert "070185004321" not in answer.text


def test_gzip_accepted_and_decompressed_size_capped(client: TestClient, engine: Engine, device: tuple[str, str]) -> None:
    device_id, token = device
    sent = [visit() for _ in range(20)]
    body = gzip.compress(json.dumps({"device_id": device_id, "visits": sent}).encode())
    ok = client.post(BATCH, content=body, headers={**bearer(token), "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert ok.status_code == 200 and statuses(ok) == ["created"] * 20
    bomb = gzip.compress(b'{"device_id": "' + b" " * (50 * 1024 * 1024) + b'"}')  # 50 MiB from ~50 kB
    assert len(bomb) < 100_000
    refused = client.post(BATCH, content=bomb, headers={**bearer(token), "Content-Encoding": "gzip"})
    assert refused.status_code == 413 and refused.json()["error"] == "batch_too_large"
    broken = client.post(BATCH, content=body[:-20], headers={**bearer(token), "Content-Encoding": "gzip"})
    assert broken.status_code == 400 and broken.json()["error"] == "bad_gzip"
    assert client.post(BATCH, content=body, headers={**bearer(token), "Content-Encoding": "br"}).status_code == 415


def test_more_than_1000_visits_or_1_mib_is_413(client: TestClient, engine: Engine, device: tuple[str, str]) -> None:
    many = send(client, device, [visit() for _ in range(1001)])
    assert many.status_code == 413 and many.json()["error"] == "too_many_visits"
    big = send(client, device, [visit(fields={**CCCD_FIELDS, "address": "x" * 300, "pad": "y" * 2000}) for _ in range(500)])
    assert big.status_code == 413 and big.json()["error"] == "batch_too_large"
    assert statuses(send(client, device, [visit() for _ in range(1000)])) == ["created"] * 1000


def test_auth_problems(client: TestClient, engine: Engine, device: tuple[str, str]) -> None:
    missing = client.post(BATCH, json={"device_id": device[0], "visits": []})
    assert missing.status_code == 401 and missing.json()["error"] == "token_missing"
    assert send(client, (device[0], "dev_nonsense"), []).json()["error"] == "token_unknown"
    add_checkpoint(engine, "BD-002")
    other_id, _ = enrol(engine, "BD-002")
    mismatch = send(client, (other_id, device[1]), [visit()])
    assert mismatch.status_code == 403 and mismatch.json()["error"] == "device_mismatch"


def test_rate_limit_answers_429_with_retry_after(settings: Settings, engine: Engine, device: tuple[str, str]) -> None:
    tight = settings.model_copy(update={"limits": LimitsSection(device_batches_per_s=0.5, device_burst=2)})
    with TestClient(create_app(tight, engine)) as client:
        assert send(client, device, [visit()]).status_code == 200
        assert send(client, device, [visit()]).status_code == 200
        limited = send(client, device, [visit()])
        assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 2
        add_checkpoint(engine, "BD-002")
        other = enrol(engine, "BD-002")
        assert send(client, other, [visit("BD-002")]).status_code == 200  # per device


def test_health_carries_server_time(client: TestClient) -> None:
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200 and answer.json()["status"] == "ok" and "server_time" in answer.json()


def test_sealed_visits_are_opened_at_ingest_and_what_does_not_open_is_rejected_alone(
    settings: Settings, client: TestClient, engine: Engine, device: tuple[str, str]
) -> None:
    ring = Keyring(settings.keys_dir)
    ring.init()
    key = ring.district_key()

    def sealed(plain: dict, sealed_for: str | None = None, key_id: str = key.fingerprint) -> dict:
        box = seal(key, sealed_for or plain["id"], {"fields": plain["fields"], "raw": None})
        return {**plain, "fields": {}, "sealed": base64.b64encode(box).decode(), "sealed_key": key_id}

    person = visit(kind="phone", fields={"phone": "0912345678", "name": "Lê Văn Tám"})
    other = visit()
    sent = [sealed(person), sealed(other, sealed_for=person["id"]), sealed(visit(), key_id="0" * 40), visit()]
    answer = send(client, device, sent)
    body = BatchResponse.model_validate(answer.json())
    assert [(r.status, r.code) for r in body.results] == [
        ("created", None),
        ("rejected", "unsealable"),  # a seal moved onto another visit does not open
        ("rejected", "unsealable"),  # a key this server does not have
        ("created", None),  # a kiosk from before sealing, in clear, as ever
    ]
    assert body.district_key is not None and body.district_key.fingerprint == key.fingerprint
    with engine.connect() as conn:
        row = conn.execute(sa.select(visits).where(visits.c.id == uuid.UUID(person["id"]))).mappings().one()
    assert (row["phone"], row["person_name"]) == ("0912345678", "Lê Văn Tám")
