"""Places found by the names people type: without case, without "Huyện"/"Xã", with a suggestion when wrong."""

from __future__ import annotations

import json
import unicodedata
from datetime import date

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import names, places, reports
from server.cli import main
from server.errors import NotFound, UserError
from tests.server.conftest import bearer, official_token

PROVINCE, DISTRICT = "Tỉnh Bình Phước", "Huyện Bù Đăng"
STORED = [DISTRICT, "Huyện Bù Gia Mập", "Thị xã Phước Long", "Thành phố Đồng Xoài"]


@pytest.mark.parametrize(
    "typed",
    [
        "Huyện Bù Đăng",
        "huyện bù đăng",
        "HUYỆN BÙ ĐĂNG",
        "  Huyện   Bù Đăng ",
        "Bù Đăng",
        "bù đăng",
        "BÙ ĐĂNG",
        unicodedata.normalize("NFD", "huyện bù đăng"),
        unicodedata.normalize("NFD", "Bù Đăng"),
    ],
)
def test_case_spacing_normal_form_and_prefix_do_not_matter(typed: str) -> None:
    assert names.matches(typed, STORED) == [DISTRICT]


def test_every_prefix_is_optional_but_tone_marks_are_not() -> None:
    assert names.matches("phước long", STORED) == ["Thị xã Phước Long"]
    assert names.matches("TP. Đồng Xoài", STORED) == ["Thành phố Đồng Xoài"]
    assert names.matches("đồng xoài", STORED) == ["Thành phố Đồng Xoài"]
    assert names.matches("Tỉnh Bình Phước", ["Bình Phước"]) == ["Bình Phước"]  # a prefix typed, none stored
    assert names.matches("Bu Dang", STORED) == []  # without tone marks it could be another name: only suggested
    assert names.matches("Bù Đăng Mới", STORED) == []


def test_the_exact_name_wins_over_a_looser_match() -> None:
    assert names.matches("Thị xã Bù Đăng", [DISTRICT, "Thị xã Bù Đăng"]) == ["Thị xã Bù Đăng"]
    assert names.matches("Bù Đăng", [DISTRICT, "Thị xã Bù Đăng"]) == [DISTRICT, "Thị xã Bù Đăng"]
    with pytest.raises(UserError, match="Huyện Bù Đăng.*Thị xã Bù Đăng") as raised:
        names.resolve("district", "Bù Đăng", [DISTRICT, "Thị xã Bù Đăng"])
    assert raised.value.code == "district_ambiguous" and raised.value.status == 400


def test_no_match_suggests_the_closest_names() -> None:
    with pytest.raises(NotFound) as raised:
        names.resolve("district", "Bu Dang", STORED)
    assert raised.value.code == "district_not_found"
    assert "có phải 'Huyện Bù Đăng'" in raised.value.message and "did you mean 'Huyện Bù Đăng'" in raised.value.message
    with pytest.raises(NotFound) as typo:
        names.resolve("commune", "Xã Đăk Nhua", ["Xã Đăk Nhau", "Xã Bình Minh"])
    assert "'Xã Đăk Nhau'" in typo.value.message and "Bình Minh" not in typo.value.message
    with pytest.raises(NotFound) as nothing_close:
        names.resolve("district", "Quận 1", STORED)
    assert "did you mean" not in nothing_close.value.message


@pytest.fixture
def district(engine: Engine) -> Engine:
    places.add_checkpoint(engine, "A1", "Chốt Ngã ba", places.Place(PROVINCE, DISTRICT, "Xã Đăk Nhau"), date(2026, 10, 1))
    places.add_checkpoint(engine, "B1", "Chợ", places.Place(PROVINCE, DISTRICT, "Xã Bình Minh"), date(2026, 10, 1))
    places.add_checkpoint(
        engine, "C1", "Cổng", places.Place("Tỉnh Tiền Giang", "Huyện Châu Thành", "Xã Tân Thành"), date(2026, 10, 1)
    )
    places.add_checkpoint(engine, "C2", "Cổng", places.Place("Tỉnh Long An", "Huyện Châu Thành", "Xã Tân Thành"), date(2026, 10, 1))
    return engine


def cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_cli_report_and_list_take_the_names_as_typed(district: Engine, db_url: str) -> None:
    for typed in ("bù đăng", "HUYỆN BÙ ĐĂNG"):
        done = cli("report", "--district", typed, "--week-ending", "2026-11-23", "--format", "json", "--db", db_url)
        assert done.exit_code == 0, done.output
        made = json.loads(done.stdout)
        assert made["district"] == DISTRICT and [r["commune"] for r in made["rows"]] == ["Xã Bình Minh", "Xã Đăk Nhau"]
    listed = cli("checkpoint", "list", "--district", "châu thành", "--province", "long an", "--json", "--db", db_url)
    assert listed.exit_code == 0, listed.output
    assert [c["code"] for c in json.loads(listed.stdout)] == ["C2"]
    communes = cli("commune", "list", "--district", "bù đăng", "--json", "--db", db_url)
    assert [c["commune"] for c in json.loads(communes.stdout)] == ["Xã Bình Minh", "Xã Đăk Nhau"]
    only = cli(
        "report",
        "--district",
        "Bù Đăng",
        "--view",
        "checkpoints",
        "--commune",
        "đăk nhau",
        "--week-ending",
        "2026-11-23",
        "--format",
        "json",
        "--db",
        db_url,
    )
    assert [r["code"] for r in json.loads(only.stdout)["rows"]] == ["A1"]


def test_cli_says_what_was_meant_when_nothing_matches(district: Engine, db_url: str) -> None:
    wrong = cli("report", "--district", "Bu Dang", "--db", db_url)
    assert wrong.exit_code == 1 and "Traceback" not in wrong.output
    assert "did you mean 'Huyện Bù Đăng'" in wrong.stderr
    same_name = cli("checkpoint", "list", "--district", "châu thành", "--db", db_url)
    assert same_name.exit_code == 1 and "Tỉnh Long An, Tỉnh Tiền Giang" in same_name.stderr
    province = cli("checkpoint", "list", "--district", "châu thành", "--province", "Long Am", "--db", db_url)
    assert province.exit_code == 1 and "did you mean 'Tỉnh Long An'" in province.stderr
    commune = cli("report", "--district", "bù đăng", "--view", "checkpoints", "--commune", "Đăk Nhua", "--db", db_url)
    assert commune.exit_code == 1 and "did you mean 'Xã Đăk Nhau'" in commune.stderr


def test_api_takes_the_names_as_typed(district: Engine, client: TestClient) -> None:
    token = official_token(district)
    typed = client.get(
        "/api/v1/reports/communes", params={"district": "huyện bù đăng", "week_ending": "2026-11-23"}, headers=bearer(token)
    )
    exact = client.get(
        "/api/v1/reports/communes", params={"district": DISTRICT, "week_ending": "2026-11-23"}, headers=bearer(token)
    )
    assert typed.status_code == 200 and typed.json() == exact.json() and typed.json()["district"] == DISTRICT
    listed = client.get("/api/v1/checkpoints", params={"district": "CHÂU THÀNH", "province": "tiền giang"}, headers=bearer(token))
    assert [c["code"] for c in listed.json()] == ["C1"]
    per_cp = client.get(
        "/api/v1/reports/checkpoints", params={"district": "Bù Đăng", "commune": "bình minh"}, headers=bearer(token)
    )
    assert [r["code"] for r in per_cp.json()["rows"]] == ["B1"]
    ytd = client.get("/api/v1/reports/year-to-date", params={"district": "bù đăng"}, headers=bearer(token))
    assert ytd.status_code == 200 and ytd.json()["district"] == DISTRICT
    wrong = client.get("/api/v1/reports/communes", params={"district": "Bu Dang"}, headers=bearer(token))
    assert wrong.status_code == 404 and wrong.json()["error"] == "district_not_found"
    assert "'Huyện Bù Đăng'" in wrong.json()["message"]
    commune = client.get(
        "/api/v1/reports/checkpoints", params={"district": "Bù Đăng", "commune": "Xã Không Có"}, headers=bearer(token)
    )
    assert commune.status_code == 404 and commune.json()["error"] == "commune_not_found"
    several = client.get("/api/v1/checkpoints", params={"district": "châu thành"}, headers=bearer(token))
    assert several.status_code == 400 and several.json()["error"] == "district_ambiguous"


def test_a_name_typed_in_another_case_registers_into_the_same_place(district: Engine, db_url: str) -> None:
    added = cli(
        "checkpoint",
        "add",
        "A2",
        "--name",
        "Chốt 2",
        "--commune",
        "XÃ ĐĂK NHAU",
        "--district",
        "huyện bù đăng",
        "--province",
        "tỉnh bình phước",
        "--created-on",
        "2026-10-01",
        "--json",
        "--db",
        db_url,
    )
    assert added.exit_code == 0, added.output
    row = json.loads(added.stdout)[0]
    assert (row["commune"], row["district"], row["province"]) == ("Xã Đăk Nhau", DISTRICT, PROVINCE)
    assert len(places.list_communes(district, DISTRICT)) == 2  # stored names unchanged, no second commune
    made = reports.commune_report(district, "bù đăng", date(2026, 11, 23))
    assert [r.registered for r in made.rows] == [1, 2]
