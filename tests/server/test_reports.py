"""The district table: window edges in Vietnam time, the counting rules, every output format."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from kiosk.catalog import gettext
from server import enrolment, places, reports
from server.cli import main
from server.export import Table, to_csv, to_xlsx
from server.ingest import IngestRules, ingest
from tests.server.conftest import bearer, official_token, visit

DISTRICT, PROVINCE = "Huyện Bù Đăng", "Tỉnh Bình Phước"
WEEK_ENDING = date(2026, 11, 23)  # window: 17–23 Nov local = 16 Nov 17:00Z … 23 Nov 17:00Z
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
EDGE_IN_FIRST = datetime(2026, 11, 16, 17, 0, tzinfo=timezone.utc)
EDGE_OUT_BEFORE = EDGE_IN_FIRST - timedelta(seconds=1)
EDGE_OUT_AFTER = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)
EDGE_IN_LAST = EDGE_OUT_AFTER - timedelta(seconds=1)


def place(commune: str) -> places.Place:
    return places.Place(PROVINCE, DISTRICT, commune)


def record(engine: Engine, code: str, *moments: datetime) -> None:
    """Visits at checkpoint ``code`` through the real ingest path, from a kiosk enrolled there."""
    made = enrolment.create_enroll_code(engine, code, timedelta(hours=1), "https://x", "test")
    device = enrolment.redeem(engine, made.code)
    auth = enrolment.DeviceAuth(device.device_id, places.checkpoint(engine, code)["id"], code)
    rules = IngestRules(max_future=timedelta(days=1), retention=timedelta(days=3650))
    results = ingest(engine, auth, [visit(code, at=m) for m in moments], rules, NOW)
    assert {r.status for r in results} == {"created"}


@pytest.fixture
def district(engine: Engine) -> Engine:
    oct1, nov20 = date(2026, 10, 1), date(2026, 11, 20)
    places.add_checkpoint(engine, "A1", "Chốt Ngã ba", place("Xã Đăk Nhau"), oct1)
    places.add_checkpoint(engine, "A2", "+84912345678", place("Xã Đăk Nhau"), nov20)  # new in the window
    places.add_checkpoint(engine, "A3", '=HYPERLINK("http://x")', place("Xã Đăk Nhau"), oct1)
    places.add_checkpoint(engine, "A4", "Chốt mới sau tuần", place("Xã Đăk Nhau"), date(2026, 11, 25))
    places.add_checkpoint(engine, "B1", "0912345678", place("Xã Bình Minh"), oct1)
    places.add_commune(engine, place("Xã Thống Nhất"))
    places.add_checkpoint(engine, "Z1", "Huyện khác", places.Place(PROVINCE, "Huyện Bù Gia Mập", "Xã Phú Nghĩa"), oct1)
    record(engine, "A1", EDGE_IN_FIRST, EDGE_IN_LAST, datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
    record(engine, "A2", datetime(2026, 11, 21, 1, 0, tzinfo=timezone.utc))
    record(engine, "A3", EDGE_OUT_BEFORE, EDGE_OUT_AFTER)
    record(
        engine,
        "B1",
        datetime(2026, 11, 18, tzinfo=timezone.utc),
        datetime(2026, 11, 19, tzinfo=timezone.utc),
        datetime(2026, 1, 2, tzinfo=timezone.utc),
    )
    record(engine, "Z1", datetime(2026, 11, 18, tzinfo=timezone.utc))
    places.set_active(engine, "B1", False)  # deactivated: not registered, its visits still count
    return engine


EXPECTED = {
    "rows": [
        {"commune": "Xã Bình Minh", "registered": 0, "new": 0, "visits": 2, "active": 0, "active_ratio": 0.0},
        {"commune": "Xã Đăk Nhau", "registered": 3, "new": 1, "visits": 4, "active": 2, "active_ratio": 66.67},
        {"commune": "Xã Thống Nhất", "registered": 0, "new": 0, "visits": 0, "active": 0, "active_ratio": 0.0},
    ],
    "total": {"commune": "Tổng cộng", "registered": 3, "new": 1, "visits": 6, "active": 2, "active_ratio": 66.67},
}


def test_commune_table_counts_by_the_rules(district: Engine) -> None:
    made = reports.commune_report(district, DISTRICT, WEEK_ENDING)
    assert made.model_dump(mode="json", include={"rows", "total"}) == EXPECTED
    assert made.window_start == EDGE_IN_FIRST and made.window_end == EDGE_OUT_AFTER


def test_ratio_rounds_half_up_to_two_decimals() -> None:
    assert reports.ratio(5, 37) == 13.51 and reports.ratio(1, 8) == 12.5 and reports.ratio(1, 3) == 33.33
    assert reports.ratio(2, 3) == 66.67 and reports.ratio(0, 0) == 0.0 and reports.ratio(7, 7) == 100.0


def test_cli_json_matches_the_api(district: Engine, db_url: str, client: TestClient) -> None:
    out = CliRunner().invoke(
        main, ["report", "--district", DISTRICT, "--week-ending", "2026-11-23", "--format", "json", "--db", db_url]
    )
    assert out.exit_code == 0, out.output
    cli_json = json.loads(out.stdout)
    assert {k: cli_json[k] for k in ("rows", "total")} == EXPECTED
    token = official_token(district)
    api = client.get("/api/v1/reports/communes", params={"district": DISTRICT, "week_ending": "2026-11-23"}, headers=bearer(token))
    assert api.status_code == 200 and api.json() == cli_json
    missing = client.get("/api/v1/reports/communes", params={"district": "Huyện Không Có"}, headers=bearer(token))
    assert missing.status_code == 404 and missing.json()["error"] == "district_not_found"
    assert client.get("/api/v1/reports/communes", params={"district": DISTRICT}).status_code == 401


def test_table_has_vietnamese_headings_and_total(district: Engine, db_url: str) -> None:
    out = CliRunner().invoke(main, ["report", "--district", DISTRICT, "--week-ending", "2026-11-23", "--db", db_url])
    assert out.exit_code == 0
    for heading in (
        "Số điểm kiểm soát đã tạo",
        "Số điểm kiểm soát tạo mới trong 7 ngày",
        "Số lượt vào/ra tại các điểm kiểm soát trong 7 ngày",
        "Số điểm kiểm soát hoạt động trong 7 ngày",
        "Tỷ lệ điểm kiểm soát hoạt động/tổng số",
        "Tổng cộng",
        "66.67",
        "từ 17/11/2026 đến 23/11/2026",
    ):
        assert heading in out.stdout


def test_csv_and_xlsx_read_back_exactly_and_safely(district: Engine, db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in ("csv", "xlsx"):
        done = runner.invoke(
            main,
            [
                "report",
                "--district",
                DISTRICT,
                "--week-ending",
                "2026-11-23",
                "--view",
                "checkpoints",
                "--format",
                fmt,
                "-o",
                str(tmp_path / f"r.{fmt}"),
                "--db",
                db_url,
            ],
        )
        assert done.exit_code == 0, done.output
    raw = (tmp_path / "r.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [gettext(h, "vi") for h in reports.CHECKPOINT_HEADINGS] and rows[0][0] == "Mã điểm"
    names = {r[0]: r[1] for r in rows[1:]}
    assert names["A2"] == "'+84912345678" and names["A3"].startswith("'=HYPERLINK")
    assert names["B1"] == "0912345678"
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["A1"][5] == "3" and by_code["A1"][6] == "2026-11-23 23:59" and by_code["B1"][4] == "không"
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=3)}
    for code, text in (("A2", "+84912345678"), ("A3", '=HYPERLINK("http://x")'), ("B1", "0912345678")):
        assert cells[code][1].value == text and cells[code][1].data_type == "s"
    assert cells["A1"][5].value == 3 and cells["A1"][5].data_type == "n"
    assert [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))] == [gettext(h, "vi") for h in reports.CHECKPOINT_HEADINGS]


def test_every_formula_start_is_neutralised_in_csv_and_text_in_xlsx(tmp_path: Path) -> None:
    risky = ["=1+1", "+84912345678", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "0084912345678", "Xã Đăk Nhau"]
    table = Table(["giá trị", "số"], [[text, 7] for text in risky])
    back = list(csv.reader(io.StringIO(to_csv(table).decode("utf-8-sig"), newline="")))
    assert [r[0] for r in back[1:]] == ["'" + t if t[0] in "=+-@\t\r" else t for t in risky]
    assert all(not r[0].startswith(("=", "+", "-", "@", "\t", "\r")) for r in back[1:])
    (tmp_path / "t.xlsx").write_bytes(to_xlsx(table))
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    values = [(unescape(row[0].value), row[0].data_type) for row in sheet.iter_rows(min_row=2)]
    assert values == [(t, "s") for t in risky]


def unescape(text: str) -> str:
    """openpyxl leaves OOXML's _xHHHH_ escapes of control characters as they are; Excel reads them."""
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_checkpoint_view_and_year_to_date(district: Engine, client: TestClient) -> None:
    made = reports.checkpoint_report(district, DISTRICT, WEEK_ENDING)
    rows = {r.code: r for r in made.rows}
    assert [r.code for r in made.rows] == ["B1", "A1", "A2", "A3", "A4"]
    assert rows["A1"].visits == 3 and rows["A1"].last_visit_at == EDGE_IN_LAST
    assert rows["A3"].visits == 0 and rows["A3"].last_visit_at == EDGE_OUT_BEFORE  # as of the window's end
    assert rows["A4"].last_visit_at is None and rows["A1"].last_device_seen_at is not None
    ytd = reports.year_report(district, DISTRICT, WEEK_ENDING)
    assert [(r.commune, r.visits) for r in ytd.rows] == [("Xã Bình Minh", 3), ("Xã Đăk Nhau", 5), ("Xã Thống Nhất", 0)]
    assert ytd.total.visits == 8
    token = official_token(district)
    api = client.get("/api/v1/reports/year-to-date", params={"district": DISTRICT, "through": "2026-11-23"}, headers=bearer(token))
    assert api.status_code == 200 and api.json()["total"]["visits"] == 8
    per_cp = client.get(
        "/api/v1/reports/checkpoints",
        params={"district": DISTRICT, "week_ending": "2026-11-23", "commune": "Xã Bình Minh"},
        headers=bearer(token),
    )
    assert [r["code"] for r in per_cp.json()["rows"]] == ["B1"]


def test_xlsx_looks_like_the_district_letters_table(district: Engine, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "tuan.xlsx"
    done = CliRunner().invoke(
        main, ["report", "--district", DISTRICT, "--week-ending", "23/11/2026", "--format", "xlsx", "-o", str(out), "--db", db_url]
    )
    assert done.exit_code == 0, done.output
    sheet = openpyxl.load_workbook(out).active
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:F1"]  # the title across the table
    assert sheet["A1"].value.startswith(f"{DISTRICT}, {PROVINCE}") and sheet["A1"].font.b
    headings = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert [c.value for c in headings] == [gettext(h, "vi") for h in reports.COMMUNE_HEADINGS]
    assert headings[0].value == "Xã, phường, thị trấn"
    assert all(c.alignment.wrap_text and c.font.b for c in headings)
    assert sheet.freeze_panes == "A3"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (None, 1)  # one page wide (1 is the OOXML default, left out)
    assert sheet.page_setup.fitToHeight == 0  # as many pages tall as it takes
    body = [list(row) for row in sheet.iter_rows(min_row=3)]
    assert [row[0].value for row in body] == [r["commune"] for r in EXPECTED["rows"]] + ["Tổng cộng"]
    for row, expected in zip(body, [*EXPECTED["rows"], EXPECTED["total"]], strict=True):
        assert row[0].data_type == "s"
        for cell, key in zip(row[1:5], ("registered", "new", "visits", "active"), strict=True):
            assert (cell.value, cell.data_type, cell.number_format) == (expected[key], "n", "#,##0")
        ratio = row[5]
        assert ratio.data_type == "n" and ratio.number_format == "0.00 %"
        assert ratio.value == pytest.approx(expected["active_ratio"] / 100)  # a fraction: 0.6667 shows as 66.67 %
    assert [row[0].font.b for row in body] == [False, False, False, True]  # only the total row is bold
    assert sum(row[3].value for row in body[:-1]) == body[-1][3].value  # counts add up as numbers
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEF"]
    assert all(10 <= w <= 47 for w in widths), widths  # headings wrap on about three lines, not one per word
    assert sheet.row_dimensions[2].height >= 45  # tall enough for the wrapped headings


def test_xlsx_checkpoint_view_keeps_dates_as_dates_and_text_as_text(district: Engine, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "diem.xlsx"
    done = CliRunner().invoke(
        main,
        [
            "report",
            "--district",
            DISTRICT,
            "--week-ending",
            "2026-11-23",
            "--view",
            "checkpoints",
            "--format",
            "xlsx",
            "-o",
            str(out),
            "--db",
            db_url,
        ],
    )
    assert done.exit_code == 0, done.output
    sheet = openpyxl.load_workbook(out).active
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=3)}
    assert cells["A1"][3].value == datetime(2026, 10, 1) and cells["A1"][3].number_format == "dd/mm/yyyy"
    assert cells["A3"][1].value == '=HYPERLINK("http://x")' and cells["A3"][1].data_type == "s"
    assert cells["A1"][5].number_format == "#,##0" and not any(c.font.b for c in cells["B1"])  # no total row here
