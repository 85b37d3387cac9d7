"""Ingest nothing can poison, on SQLite and PostgreSQL: impossible times, ids from another
device, digits of other scripts, text the database cannot hold, JSON nested too deep.

Each case was a real fault: a year-9999 visit made every later trace over its window
answer 500 on PostgreSQL (and the whole batch 500 on SQLite); another device's id was
answered ``duplicate`` and the visit silently dropped; 1,000 levels of JSON were a 500.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import daily_counts, officials, places
from server.cli import main
from server.db import create_db_engine
from server.enrolment import DeviceAuth
from server.ingest import TIME_FLOOR, IngestRules, count_visits, ingest
from server.migrate import upgrade
from server.schema import visits
from tests.server.conftest import CCCD_FIELDS, add_checkpoint, bearer, enrol, fresh_pg_schema, visit

BATCH = "/api/v1/visits/batch"
WINDOW_ALL = {"start": "2019-01-01T00:00:00+07:00", "end": "2100-01-01T00:00:00+07:00"}


def send(client: TestClient, device: tuple[str, str], items: list) -> list[dict]:
    answer = client.post(BATCH, json={"device_id": device[0], "visits": items}, headers=bearer(device[1]))
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def stored(engine: Engine, visit_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(visits).where(visits.c.id == uuid.UUID(visit_id))).mappings().one())


def test_impossible_times_are_kept_as_unknown_and_every_query_still_answers(
    client: TestClient, engine: Engine, device: tuple[str, str], db_url: str
) -> None:
    now = datetime.now(timezone.utc)
    corrected = (now - timedelta(hours=2)).isoformat()
    year_9999 = visit(scanned_at="9999-12-31T23:59:59-14:00", corrected_at=corrected, clock_synchronised=False)
    year_9999_alone = visit(scanned_at="9999-12-31T23:59:59-14:00", fields={**CCCD_FIELDS, "name": "Điểu Thị Hằng"})
    year_1 = visit(scanned_at="0001-01-01T00:00:00+14:00", corrected_at="0001-01-01T00:00:00+14:00")
    boot_1970 = visit(scanned_at="1970-01-01T00:00:07+00:00", clock_synchronised=False)
    ahead = visit(at=now + timedelta(days=3))
    floor = visit(scanned_at=TIME_FLOOR.isoformat())
    no_zone = visit(scanned_at="2026-11-23T08:00:00")
    garbage = visit(scanned_at="hôm qua")
    results = send(client, device, [year_9999, year_9999_alone, year_1, boot_1970, ahead, floor, no_zone, garbage])
    assert [(r["status"], r.get("code")) for r in results] == [("created", None)] * 6 + [("rejected", "invalid_visit")] * 2

    kept = stored(engine, year_9999["id"])
    assert kept["scanned_at"] is None and kept["scanned_at_text"] == "9999-12-31T23:59:59-14:00"
    assert kept["occurred_at"] == datetime.fromisoformat(corrected) and not kept["time_unknown"]
    for unknown in (year_9999_alone, year_1, boot_1970, ahead):
        row = stored(engine, unknown["id"])
        assert row["time_unknown"] and row["corrected_at"] is None
        assert abs(row["occurred_at"] - row["received_at"]) < timedelta(seconds=1)  # counted the day it came
    assert stored(engine, floor["id"])["occurred_at"] == TIME_FLOOR

    token = officials.add_official(engine, "Trần Văn Bình", "test")
    by_checkpoint = client.post(
        "/api/v1/trace/checkpoint",
        headers=bearer(token),
        json={**WINDOW_ALL, "checkpoint": "BD-001", "reason": "Ổ dịch chợ Đức Phong"},
    )
    assert by_checkpoint.status_code == 200, by_checkpoint.text
    assert by_checkpoint.json()["count"] == 5  # the 2020 visit is past the retention: stored purged
    unknown_names = [v["name"] for v in by_checkpoint.json()["visits"] if v["time_unknown"]]
    assert "Điểu Thị Hằng" in unknown_names and len(unknown_names) == 4
    by_person = client.post(
        "/api/v1/trace/person",
        headers=bearer(token),
        json={**WINDOW_ALL, "id_number": CCCD_FIELDS["id_number"], "reason": "F1 của BN1234"},
    )
    assert by_person.status_code == 200 and by_person.json()["count"] == 5
    today = now.astimezone(timezone(timedelta(hours=7))).date() + timedelta(days=1)
    report = client.get(
        "/api/v1/reports/communes", headers=bearer(token), params={"district": "Huyện Bù Đăng", "week_ending": today.isoformat()}
    )
    assert report.status_code == 200 and report.json()["total"]["visits"] == 5  # all but the floor's 2020 visit
    listed = CliRunner().invoke(main, ["device", "list", "--json", "--db", db_url])
    assert listed.exit_code == 0, listed.output
    assert [(d["id"], d["time_unknown"]) for d in json.loads(listed.stdout)] == [(device[0], 4)]  # whose clock to fix


def test_a_visit_older_than_the_retention_is_counted_without_personal_data(
    client: TestClient, engine: Engine, device: tuple[str, str]
) -> None:
    old = visit(at=datetime.now(timezone.utc) - timedelta(days=40))
    assert send(client, device, [old])[0]["status"] == "created"
    row = stored(engine, old["id"])
    assert row["purged_at"] is not None and row["person_name"] is None and row["id_number"] is None
    assert row["fields"] is None and not row["time_unknown"]


def test_an_id_sent_by_another_device_is_a_conflict_never_a_silent_duplicate(
    client: TestClient, engine: Engine, device: tuple[str, str]
) -> None:
    first = visit()
    second_device = enrol(engine)
    assert send(client, device, [first])[0]["status"] == "created"
    clash = send(client, second_device, [{**first, "fields": {**CCCD_FIELDS, "name": "Bùi Bá Khải"}}])[0]
    assert (clash["status"], clash["code"]) == ("rejected", "conflict") and "Bùi" not in clash["reason"]
    assert send(client, device, [first])[0]["status"] == "duplicate"  # the owner's resend stays safe
    assert stored(engine, first["id"])["person_name"] == CCCD_FIELDS["name"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("id_number", "０７０１８５００４３２１"),  # fullwidth
        ("id_number", "٠٧٠١٨٥٠٠٤٣٢١"),  # Arabic-Indic
        ("old_id_number", "２８５１２３４５６"),
        ("name", "Nguyễn\x00Văn"),
        ("address", "Thôn 3\ud800"),
        ("name", "N" * 101),
        ("address", "Thôn " * 101),
    ],
)
def test_text_the_district_could_not_trace_or_store_is_refused_by_name(
    client: TestClient, device: tuple[str, str], field: str, value: str
) -> None:
    body = json.dumps({"device_id": device[0], "visits": [visit(fields={**CCCD_FIELDS, field: value})]})
    answer = client.post(BATCH, content=body.encode(), headers={**bearer(device[1]), "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    result = answer.json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "invalid_visit")
    assert value not in answer.text


def test_phones_in_other_scripts_refused_landlines_and_long_addresses_kept(
    client: TestClient, engine: Engine, device: tuple[str, str]
) -> None:
    arabic = visit(kind="phone", fields={"phone": "٠٩١٢٣٤٥٦٧٨"})
    landline = visit(kind="phone", fields={"phone": "02838123456", "name": "Trần Thị Thủy"})
    address = "Tổ dân phố 12, Khu phố Tân Lập, Phường Tân Thiện, Thành phố Đồng Xoài, Tỉnh Bình Phước; " * 5
    long_address = visit(fields={**CCCD_FIELDS, "address": address[:500]})
    results = send(client, device, [arabic, landline, long_address])
    assert [(r["status"], r.get("code")) for r in results] == [("rejected", "invalid_visit"), ("created", None), ("created", None)]
    assert stored(engine, landline["id"])["phone"] == "02838123456"
    assert stored(engine, long_address["id"])["fields"]["address"] == address[:500]


def test_json_nested_thousands_deep_is_a_400_everywhere(client: TestClient, device: tuple[str, str]) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    token = device[1]
    batch = client.post(
        BATCH, content=b'{"device_id": "x", "visits": ' + deep + b"}", headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert batch.status_code == 400 and batch.json()["error"] == "json_too_deep"
    enroll = client.post("/api/v1/enroll", content=b'{"code": ' + deep + b"}", headers={"Content-Type": "application/json"})
    assert enroll.status_code in (400, 422) and enroll.status_code < 500
    nested_fields: object = "x"
    for _ in range(50):
        nested_fields = {"a": nested_fields}
    result = send(client, device, [visit(fields={**CCCD_FIELDS, "extra": nested_fields})])[0]
    assert (result["status"], result["code"]) == ("rejected", "invalid_visit")


def test_a_row_the_database_refuses_is_rejected_alone(client: TestClient, engine: Engine, device: tuple[str, str]) -> None:
    refuse_name = "Điểu Bá Khải"
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.person_name = '" + refuse_name + "' THEN "
                "RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'refused ' || NEW.person_name; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION refuse()")
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse BEFORE INSERT ON visits WHEN NEW.person_name = '{refuse_name}' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    good, bad, also_good = visit(), visit(fields={**CCCD_FIELDS, "name": refuse_name}), visit()
    results = send(client, device, [good, bad, also_good])
    assert [(r["status"], r.get("code")) for r in results] == [
        ("created", None),
        ("rejected", "database_refused"),
        ("created", None),
    ]
    assert refuse_name not in json.dumps(results)


def test_a_value_the_staging_copy_refuses_is_rejected_alone(pg_database: str) -> None:
    """PostgreSQL stages a batch with COPY (server/ingest.py): a value the table cannot hold fails
    there, in the driver, and must still be one visit's ``database_refused``, not a 5xx."""
    engine = create_db_engine(fresh_pg_schema(pg_database))
    upgrade(engine)
    add_checkpoint(engine)
    device_id, _ = enrol(engine)
    with engine.begin() as conn:  # a column stricter than the contract, as a hand-altered database can be
        conn.exec_driver_sql("ALTER TABLE visits ALTER COLUMN operator TYPE varchar(5)")
    auth = DeviceAuth(device_id, places.checkpoint(engine, "BD-001")["id"], "BD-001")
    rules = IngestRules(max_future=timedelta(days=1), retention=timedelta(days=30))
    batch = [visit(), visit(operator="Nguyễn Văn An"), visit()]
    results = ingest(engine, auth, batch, rules, datetime.now(timezone.utc))
    assert [(r.status, r.code) for r in results] == [("created", None), ("rejected", "database_refused"), ("created", None)]
    assert count_visits(engine) == 2 and daily_counts.recount(engine) == []
    engine.dispose()
