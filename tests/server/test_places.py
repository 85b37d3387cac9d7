"""Communes and checkpoints from the command line and by CSV, with Vietnamese names intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import places
from server.checkpoint_import import CsvError, import_checkpoints
from server.cli import main
from tests.server.conftest import bearer, official_token

HEADER = "code,name,commune,district,province,created_at\n"
ROWS = (
    "BD-001,Chốt Ngã ba Đăk Nhau,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,2026-11-01\n"
    "BD-002,Chợ Đức Phong,Thị trấn Đức Phong,Huyện Bù Đăng,Tỉnh Bình Phước,2026-11-20\n"
    "CT-001,Cổng UBND,Xã Tân Thành,Huyện Châu Thành,Tỉnh Tiền Giang,2026-10-01\n"
)


def cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_commune_and_checkpoint_add_and_list(engine: Engine, db_url: str) -> None:
    added = cli("commune", "add", "Xã  Đăk Nhau", "--district", "Huyện Bù Đăng", "--province", "Tỉnh Bình Phước", "--db", db_url)
    assert added.exit_code == 0, added.output
    # NFD input (as some keyboards produce) lands on the same NFC commune
    decomposed = "Xã Đăk Nhau".replace("ã", "a\u0303")
    made = cli(
        "checkpoint",
        "add",
        "BD-001",
        "--name",
        "Chốt Ngã ba",
        "--commune",
        decomposed,
        "--district",
        "Huyện Bù Đăng",
        "--province",
        "Tỉnh Bình Phước",
        "--created-on",
        "2026-11-01",
        "--json",
        "--db",
        db_url,
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)[0]["commune"] == "Xã Đăk Nhau"
    listed = json.loads(cli("commune", "list", "--json", "--db", db_url).stdout)
    assert listed == [{"commune": "Xã Đăk Nhau", "district": "Huyện Bù Đăng", "province": "Tỉnh Bình Phước"}]
    again = cli(
        "checkpoint", "add", "BD-001", "--name", "x", "--commune", "a", "--district", "b", "--province", "c", "--db", db_url
    )
    assert again.exit_code == 1 and "đã có" in again.stderr and "Traceback" not in again.output
    bad_date = cli(
        "checkpoint",
        "add",
        "BD-009",
        "--name",
        "x",
        "--commune",
        "a",
        "--district",
        "b",
        "--province",
        "c",
        "--created-on",
        "31/02/2026",
        "--db",
        db_url,
    )
    assert bad_date.exit_code == 2 and "--created-on" in bad_date.output
    assert "YYYY-MM-DD" in bad_date.output and "dd/mm/yyyy" in bad_date.output
    excel_date = cli(
        "checkpoint",
        "add",
        "BD-009",
        "--name",
        "x",
        "--commune",
        "a",
        "--district",
        "b",
        "--province",
        "c",
        "--created-on",
        "01/11/2026",
        "--json",
        "--db",
        db_url,
    )  # day first, as Excel writes in Vietnam
    assert excel_date.exit_code == 0, excel_date.output
    assert json.loads(excel_date.stdout)[0]["created_on"] == "2026-11-01"


def test_csv_import_creates_places_and_is_idempotent(engine: Engine, db_url: str, tmp_path: Path) -> None:
    file = tmp_path / "diem.csv"
    file.write_bytes(b"\xef\xbb\xbf" + (HEADER + ROWS).encode())  # as Excel saves "CSV UTF-8"
    first = cli("checkpoint", "import", str(file), "--json", "--db", db_url)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"created": 3, "updated": 0, "unchanged": 0}
    assert json.loads(cli("checkpoint", "import", str(file), "--json", "--db", db_url).stdout) == {
        "created": 0,
        "updated": 0,
        "unchanged": 3,
    }
    file.write_text(HEADER + ROWS.replace("Chợ Đức Phong", "Chợ Đức Phong mới"))
    assert json.loads(cli("checkpoint", "import", str(file), "--json", "--db", db_url).stdout)["updated"] == 1
    codes = {row["code"]: row for row in places.list_checkpoints(engine, "Huyện Bù Đăng")}
    assert set(codes) == {"BD-001", "BD-002"}
    assert codes["BD-002"]["commune"] == "Thị trấn Đức Phong"


def test_bad_csv_says_line_and_column_and_imports_nothing(engine: Engine, db_url: str, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(
        HEADER + ROWS + "BD-003,Chốt 3,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,2026-13-01\n"
        "BD-001,Trùng,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,2026-11-01\n"
        "BD-004,,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,2026-11-01\n"
    )
    result = cli("checkpoint", "import", str(file), "--db", db_url)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "dòng (line) 5, cột (column) created_at" in result.stderr
    assert "dòng (line) 6, cột (column) code" in result.stderr and "line 2" in result.stderr
    assert "dòng (line) 7, cột (column) name" in result.stderr
    assert places.list_checkpoints(engine) == []


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"code,name\nA,B\n", "missing column"),
        (b"code,name,commune,district,province,created_at\nA,X\xe3 A,B,C,D,2026-01-01\n", "not UTF-8"),  # Windows-1258
        (b"code,name,commune,district,province,created_at\nA,B,C,D,E,2026-01-01,extra\n", "more columns"),
    ],
)
def test_csv_problems_are_named(engine: Engine, content: bytes, expected: str, tmp_path: Path, db_url: str) -> None:
    file = tmp_path / "x.csv"
    file.write_bytes(content)
    result = cli("checkpoint", "import", str(file), "--db", db_url)
    assert result.exit_code == 1 and expected in result.stderr, result.output


def test_import_over_the_api_for_officials(client: TestClient, engine: Engine) -> None:
    token = official_token(engine)
    answer = client.post(
        "/api/v1/checkpoints/import", content=(HEADER + ROWS).encode(), headers={**bearer(token), "Content-Type": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": 3, "updated": 0, "unchanged": 0}
    listed = client.get("/api/v1/checkpoints", params={"district": "Huyện Châu Thành"}, headers=bearer(token)).json()
    assert [c["code"] for c in listed] == ["CT-001"] and listed[0]["created_at"] == "2026-10-01"
    bad = client.post("/api/v1/checkpoints/import", content=b"code\nX\n", headers=bearer(token))
    assert bad.status_code == 400 and bad.json()["error"] == "csv_invalid"
    assert client.post("/api/v1/checkpoints/import", content=b"", headers=bearer("nope")).status_code == 401


def test_same_district_name_in_two_provinces_needs_the_province(engine: Engine) -> None:
    import_checkpoints(
        engine, HEADER + "A,a,Xã A,Huyện Châu Thành,Tỉnh Tiền Giang,2026-01-01\nB,b,Xã B,Huyện Châu Thành,Tỉnh Long An,2026-01-01\n"
    )
    with pytest.raises(Exception, match="Tỉnh Long An, Tỉnh Tiền Giang"):
        places.list_checkpoints(engine, "Huyện Châu Thành")
    assert [c["code"] for c in places.list_checkpoints(engine, "Huyện Châu Thành", "Tỉnh Long An")] == ["B"]
    with pytest.raises(CsvError):
        import_checkpoints(engine, "nonsense")
