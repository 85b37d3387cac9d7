"""Dates as people type them: ISO, or dd/mm/yyyy as Excel writes on a Vietnamese PC; a wrong one is named."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import places
from server.checkpoint_import import CsvError, import_checkpoints
from server.cli import main
from server.dates import DateError, parse_day, parse_moment
from server.enrolment import DeviceAuth
from server.ingest import IngestRules, ingest
from tests.server.conftest import add_checkpoint, bearer, enrol, official_token, visit

HEADER = "code,name,commune,district,province,created_at\n"


@pytest.mark.parametrize(
    "typed, day",
    [
        ("2026-11-23", date(2026, 11, 23)),
        ("23/11/2026", date(2026, 11, 23)),
        ("3/1/2026", date(2026, 1, 3)),
        (" 01/11/2026 ", date(2026, 11, 1)),
        ("29/02/2028", date(2028, 2, 29)),
    ],
)
def test_iso_and_day_first_dates(typed: str, day: date) -> None:
    assert parse_day(typed, "created_at") == day


@pytest.mark.parametrize(
    "typed",
    [
        "23/11/26",  # two-digit year: ambiguous
        "11/23/2026",  # month first
        "31/02/2026",
        "29/02/2027",
        "2026-13-01",
        "2026/11/23",
        "23-11-2026",
        "23.11.2026",
        "20261123",
        "",
        "hôm nay",
        "23/11/2026 08:00",  # a date is asked for, not a time
    ],
)
def test_anything_else_names_the_field_and_both_forms(typed: str) -> None:
    with pytest.raises(DateError) as raised:
        parse_day(typed, "week_ending")
    message = raised.value.message
    assert message.startswith("week_ending:") and "YYYY-MM-DD" in message and "dd/mm/yyyy" in message
    assert raised.value.code == "date_invalid" and raised.value.status == 422


def test_moments_with_or_without_a_time() -> None:
    assert parse_moment("20/11/2026", "from") == datetime(2026, 11, 20)
    assert parse_moment("20/11/2026 6:30", "from") == datetime(2026, 11, 20, 6, 30)
    assert parse_moment("20/11/2026T18:00:05", "from") == datetime(2026, 11, 20, 18, 0, 5)
    assert parse_moment("2026-11-20T06:00+07:00", "from") == datetime(2026, 11, 20, tzinfo=timezone.utc) - timedelta(hours=1)
    assert parse_moment("2026-11-20", "from") == datetime(2026, 11, 20)
    for wrong in ("20/11/2026 25:00", "20/11/2026 8h", "11/20/2026", "20/11/26 08:00", "2026-11-20T99", "8:00"):
        with pytest.raises(DateError, match="dd/mm/yyyy"):
            parse_moment(wrong, "--from")


def test_report_week_ending_either_way_on_the_cli(engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    base = ["report", "--district", "Huyện Bù Đăng", "--format", "json", "--db", db_url]
    iso = CliRunner().invoke(main, [*base, "--week-ending", "2026-11-23"])
    excel = CliRunner().invoke(main, [*base, "--week-ending", "23/11/2026"])
    assert iso.exit_code == 0 and excel.exit_code == 0, excel.output
    assert json.loads(iso.stdout) == json.loads(excel.stdout)
    wrong = CliRunner().invoke(main, [*base, "--week-ending", "11/23/2026"])
    assert wrong.exit_code == 2 and "--week-ending" in wrong.output and "Traceback" not in wrong.output
    assert "YYYY-MM-DD" in wrong.output and "dd/mm/yyyy" in wrong.output


def test_trace_from_and_to_either_way_on_the_cli(engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    device_id, _token = enrol(engine)
    auth = DeviceAuth(device_id, places.checkpoint(engine, "BD-001")["id"], "BD-001")
    at = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)  # 10:00 in Vietnam
    ingest(
        engine,
        auth,
        [visit(at=at)],
        IngestRules(max_future=timedelta(days=1), retention=timedelta(days=3650)),
        at + timedelta(hours=1),
    )
    base = [
        "trace",
        "checkpoint",
        "BD-001",
        "--reason",
        "Truy vết ổ dịch chợ",
        "--format",
        "json",
        "--as",
        "Trần Văn Bình",
        "--db",
        db_url,
    ]
    for start, end, count in (
        ("20/11/2026", "21/11/2026", 1),
        ("20/11/2026 09:00", "20/11/2026 10:00", 0),
        ("20/11/2026 10:00", "2026-11-20T10:01", 1),
    ):
        found = CliRunner().invoke(main, [*base, "--from", start, "--to", end])
        assert found.exit_code == 0, found.output
        assert json.loads(found.stdout)["count"] == count, (start, end)
    wrong = CliRunner().invoke(main, [*base, "--from", "20/11/26", "--to", "21/11/2026"])
    assert wrong.exit_code == 2 and "--from" in wrong.output and "dd/mm/yyyy" in wrong.output


def test_csv_created_at_either_way(engine: Engine, db_url: str, tmp_path: Path) -> None:
    file = tmp_path / "excel.csv"
    file.write_bytes(
        b"\xef\xbb\xbf"
        + (
            HEADER + "BD-001,Chốt 1,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,01/11/2026\n"
            "BD-002,Chốt 2,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,2026-11-02\n"
        ).encode()
    )
    done = CliRunner().invoke(main, ["checkpoint", "import", str(file), "--json", "--db", db_url])
    assert done.exit_code == 0, done.output
    assert {c["code"]: c["created_on"] for c in places.list_checkpoints(engine)} == {
        "BD-001": date(2026, 11, 1),
        "BD-002": date(2026, 11, 2),
    }
    file.write_text(HEADER + "BD-003,Chốt 3,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,11/23/2026\n")
    wrong = CliRunner().invoke(main, ["checkpoint", "import", str(file), "--db", db_url])
    assert wrong.exit_code == 1 and "dòng (line) 2, cột (column) created_at" in wrong.stderr
    assert "YYYY-MM-DD" in wrong.stderr and "dd/mm/yyyy" in wrong.stderr
    with pytest.raises(CsvError, match="dd/mm/yyyy"):
        import_checkpoints(engine, HEADER + "X,x,Xã A,Huyện B,Tỉnh C,23/11/26\n")


def test_api_date_parameters_either_way(engine: Engine, client: TestClient) -> None:
    add_checkpoint(engine)
    token = official_token(engine)
    for path, param in (
        ("/api/v1/reports/communes", "week_ending"),
        ("/api/v1/reports/checkpoints", "week_ending"),
        ("/api/v1/reports/year-to-date", "through"),
    ):
        iso = client.get(path, params={"district": "Huyện Bù Đăng", param: "2026-11-23"}, headers=bearer(token))
        excel = client.get(path, params={"district": "Huyện Bù Đăng", param: "23/11/2026"}, headers=bearer(token))
        assert iso.status_code == 200 and excel.json() == iso.json(), excel.text
        wrong = client.get(path, params={"district": "Huyện Bù Đăng", param: "11/23/2026"}, headers=bearer(token))
        assert wrong.status_code == 422 and wrong.json()["error"] == "date_invalid"
        message = wrong.json()["message"]
        assert message.startswith(f"{param}:") and "YYYY-MM-DD" in message and "dd/mm/yyyy" in message
        assert "11/23/2026" not in message  # errors never echo the input
    csv = HEADER + "BD-009,Chốt 9,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,09/11/2026\n"
    imported = client.post(
        "/api/v1/checkpoints/import", content=csv.encode(), headers={**bearer(token), "Content-Type": "text/csv"}
    )
    assert imported.status_code == 200 and imported.json()["created"] == 1
    listed = client.get("/api/v1/checkpoints", headers=bearer(token)).json()
    assert {c["code"]: c["created_at"] for c in listed}["BD-009"] == "2026-11-09"
