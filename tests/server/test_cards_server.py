"""The district's card register (server/cards.py) on SQLite and PostgreSQL: issue, replace,
revoke, the signing key's checks, the card trust in enrolment and sync answers, card visits
in reports and tracing by card number."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from kiosk.cards import CardTrust, read_card
from kiosk.credentials import Card
from server import audit, cards, enrolment, reports
from server.checkpoint_import import CsvError
from server.config import CardsSection, Settings
from server.errors import NotFound, UserError
from server.tracing import person
from tests.cardfixtures import DISTRICT_KEY, OTHER_DISTRICT_KEY, pem, worst_case_name
from tests.server.conftest import PLACE, add_checkpoint, bearer, enrol, visit

RESIDENTS = "name,birth_year,replaces\nNguyễn Văn An,1980,\nTôn Nữ Thị Hoàng Phượng Huyền Trang,1992,\n"


@pytest.fixture
def keyed(settings: Settings, tmp_path: Path) -> Settings:
    """The settings of a district that has its card signing key."""
    key = tmp_path / "keys" / "card.pem"
    key.parent.mkdir()
    key.write_bytes(pem(DISTRICT_KEY))
    key.chmod(0o600)
    return settings.model_copy(update={"cards": CardsSection(signing_key=str(key))})


@pytest.fixture
def keyed_client(keyed: Settings, engine: Engine) -> TestClient:
    from server.app import create_app

    with TestClient(create_app(keyed, engine)) as client:
        yield client


def issued(engine: Engine, text: str = RESIDENTS) -> list[cards.IssuedCard]:
    add_checkpoint(engine)
    return cards.issue(engine, DISTRICT_KEY, "cli:test", "đăk nhau", cards.parse_residents(text))


def district_trust(engine: Engine) -> CardTrust:
    with engine.connect() as conn:
        return cards.card_trust(conn, DISTRICT_KEY)


def test_issued_cards_carry_the_exact_name_and_verify(engine: Engine) -> None:
    made = issued(engine)
    assert [(c.number, c.name, c.commune) for c in made] == [
        (1, "Nguyễn Văn An", PLACE.commune),
        (2, "Tôn Nữ Thị Hoàng Phượng Huyền Trang", PLACE.commune),
    ]
    read = [read_card(c.payload, district_trust(engine)) for c in made]
    assert [(r.name, r.check) for r in read if isinstance(r, Card)] == [(c.name, "valid") for c in made]
    listed = cards.list_cards(engine, "Xã Đăk Nhau")
    assert [(r["number"], r["name"], r["district"], r["revoked_at"]) for r in listed] == [
        (1, "Nguyễn Văn An", PLACE.district, None),
        (2, "Tôn Nữ Thị Hoàng Phượng Huyền Trang", PLACE.district, None),
    ]
    assert audit.entries(engine, 1)[0]["action"] == "cards.issue"


def test_a_replacement_revokes_the_old_number_and_a_reprint_is_the_same_card(engine: Engine) -> None:
    first = issued(engine)
    new = cards.replace(engine, DISTRICT_KEY, "cli:test", 1)
    assert new.number == 3 and new.name == "Nguyễn Văn An"
    from_list = cards.issue(
        engine,
        DISTRICT_KEY,
        "cli:test",
        "Xã Đăk Nhau",
        cards.parse_residents("name,birth_year,replaces\nTôn Nữ Thị Hoàng Phượng Huyền Trang,1992,2\n"),
    )
    trust = district_trust(engine)
    assert trust.revoked == {1, 2}
    assert [read_card(c.payload, trust).check for c in (*first, new, *from_list)] == ["revoked", "revoked", "valid", "valid"]  # type: ignore[union-attr]
    rows = {r["number"]: r for r in cards.list_cards(engine)}
    assert rows[1]["replaced_by"] == 3 and rows[2]["replaced_by"] == 4
    face = cards.faces(engine, [3])[0]
    assert face.payload == new.payload and not face.revoked  # printed again, byte for byte
    cards.revoke(engine, "cli:test", 3)
    assert district_trust(engine).revoked == {1, 2, 3}
    with pytest.raises(NotFound):
        cards.revoke(engine, "cli:test", 99)


def test_residents_list_problems_by_line_and_column_and_nothing_issued(engine: Engine) -> None:
    with pytest.raises(CsvError) as bad:
        cards.parse_residents("name,birth_year\nLê Anh Sơn,1985\n,1990\nTrần Bình,85\nVõ Văn Kiệt,1922,x\n")
    assert bad.value.problems[:2] == [(3, "name", "trống (empty)"), (4, "birth_year", bad.value.problems[1][2])]
    assert bad.value.problems[2] == (5, "-", "thừa cột (more columns than the header)")
    with pytest.raises(CsvError) as missing:
        cards.parse_residents("ten,nam\nLê Anh Sơn,1985\n")
    assert missing.value.problems[0][:2] == (1, "name, birth_year")
    add_checkpoint(engine)
    too_long = f"name,birth_year\nLê Anh Sơn,1985\n{worst_case_name()}ờờờ,1985\n"
    with pytest.raises(CsvError) as long:
        cards.issue(engine, DISTRICT_KEY, "cli:test", "Xã Đăk Nhau", cards.parse_residents(too_long))
    assert long.value.problems[0][:2] == (3, "name") and "117" in long.value.problems[0][2]
    assert cards.list_cards(engine) == []  # all or nothing


def test_the_signing_key_must_exist_be_private_and_be_ed25519(keyed: Settings, tmp_path: Path) -> None:
    assert cards.load_signing_key(keyed).public_key() == DISTRICT_KEY.public_key()
    path = Path(keyed.cards.signing_key)
    path.chmod(0o640)
    with pytest.raises(UserError, match="chmod 600"):
        cards.load_signing_key(keyed)
    path.write_text("not a key")
    path.chmod(0o600)
    with pytest.raises(UserError, match="Ed25519"):
        cards.load_signing_key(keyed)
    path.unlink()
    with pytest.raises(UserError) as missing:
        cards.load_signing_key(keyed)
    assert missing.value.code == "card_key_missing"
    assert cards.configured_key(keyed) is None  # no key file: this district issues no cards


def test_enrolment_and_every_sync_answer_bring_the_key_and_the_revocations(keyed_client: TestClient, engine: Engine) -> None:
    made = issued(engine)
    cards.revoke(engine, "cli:test", made[0].number)
    code = enrolment.create_enroll_code(engine, "BD-001", timedelta(hours=1), "https://x.example", "test").code
    enrolled = keyed_client.post("/api/v1/enroll", json={"code": code})
    assert enrolled.status_code == 200, enrolled.text
    trust = CardTrust.from_wire(enrolled.json()["cards"]["public_keys"], enrolled.json()["cards"]["revoked"])
    assert trust.to_wire() == district_trust(engine).to_wire()
    device_id, token = enrolled.json()["device_id"], enrolled.json()["token"]
    empty = keyed_client.post("/api/v1/visits/batch", json={"device_id": device_id, "visits": []}, headers=bearer(token))
    assert empty.status_code == 200 and empty.json()["cards"]["revoked"] == [made[0].number]


def test_card_visits_count_in_reports_and_tracing_finds_them_by_card_number(client: TestClient, engine: Engine) -> None:
    made = issued(engine)
    device_id, token = enrol(engine)
    now = datetime.now(timezone.utc)
    fields = {
        "number": made[1].number,
        "name": made[1].name,
        "birth_year": 1992,
        "commune": PLACE.commune,
        "issued_on": "2026-12-01",
        "key_id": "00000000",
        "check": "valid",
    }
    sent = [visit(kind="card", source="camera", fields=fields, at=now - timedelta(hours=h)) for h in (1, 2)]
    sent.append(visit(at=now - timedelta(hours=3)))
    answer = client.post("/api/v1/visits/batch", json={"device_id": device_id, "visits": sent}, headers=bearer(token))
    assert [r["status"] for r in answer.json()["results"]] == ["created"] * 3
    assert "cards" not in answer.json()  # this district has no signing key: nothing about cards
    table = reports.checkpoint_report(engine, PLACE.district, now.date() + timedelta(days=1))
    assert table.rows[0].visits == 3
    found = person(engine, "official:test", "F1 của ca bệnh BN1234", now - timedelta(days=1), now, card_number=made[1].number)
    assert [(v.kind, v.card_number, v.name) for v in found.visits] == [("card", made[1].number, made[1].name)] * 2
    assert audit.entries(engine, 1)[0]["params"]["card_number"] == str(made[1].number)
    with pytest.raises(UserError):
        person(engine, "official:test", "F1 của ca bệnh BN1234", now - timedelta(days=1), now, card_number=0)
    new = cards.replace(engine, DISTRICT_KEY, "cli:test", made[1].number)  # lost: the holder gets card 3
    later = visit(kind="card", source="serial", fields={**fields, "number": new.number}, at=now - timedelta(minutes=30))
    answer = client.post("/api/v1/visits/batch", json={"device_id": device_id, "visits": [later]}, headers=bearer(token))
    assert answer.json()["results"][0]["status"] == "created"
    for asked in (made[1].number, new.number):  # either card finds the person's visits under both
        found = person(engine, "official:test", "F1 của ca bệnh BN1234", now - timedelta(days=1), now, card_number=asked)
        assert [v.card_number for v in found.visits] == [made[1].number, made[1].number, new.number]
    alone = person(engine, "official:test", "F1 của ca bệnh BN1234", now - timedelta(days=1), now, card_number=made[0].number)
    assert alone.count == 0


def test_a_card_from_another_district_is_unknown_to_this_one(engine: Engine) -> None:
    made = issued(engine)
    assert (
        read_card(made[0].payload, CardTrust.from_wire([OTHER_DISTRICT_KEY.public_key().public_bytes_raw().hex()], [])).check
        == "unknown_signer"
    )  # type: ignore[union-attr]
