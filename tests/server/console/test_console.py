"""An official's tasks in the console, in a real browser (see conftest.py)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from kiosk.clock import LOCAL_TZ
from server import enrolment
from server.schema import audit_log, checkpoints
from server.sessions import MAX_FAILURES
from tests.server.console.conftest import (
    COMMUNE_OFFICIAL,
    DISTRICT_OFFICIAL,
    PASSWORD,
    TRACER,
    Console,
    click,
    downloaded,
    navigate,
    sign_in,
)

REPORTS = "/api/v1/reports/communes?district=Huy%E1%BB%87n%20B%C3%B9%20%C4%90%C4%83ng"


def text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def table_rows(driver: WebDriver) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, "table.report tbody tr, table.report tfoot tr")
    return [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")] for row in rows]


def audit_actions(console: Console) -> list[tuple[str, str, str | None]]:
    with console.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.reason))]


def test_a_page_needs_a_signed_in_official_and_a_wrong_password_is_refused(console: Console, browser: WebDriver) -> None:
    browser.get(console.url + "/silent")
    assert browser.current_url == console.url + "/login"
    sign_in(browser, console, DISTRICT_OFFICIAL, "not the password")
    assert "Sai tên hoặc mật khẩu" in text(browser)
    assert browser.get_cookie("cps_session") is None


def test_the_overview_is_the_api_table_and_downloads_read_back(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, "trần văn bình")  # case does not matter
    assert browser.current_url == console.url + "/"
    cookie = browser.get_cookie("cps_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    api = console.api(REPORTS)
    expected = [
        [
            r["commune"],
            str(r["registered"]),
            str(r["new"]),
            str(r["visits"]),
            str(r["active"]),
            f"{r['active_ratio']:.2f}".replace(".", ","),
        ]
        for r in [*api["rows"], api["total"]]
    ]
    assert table_rows(browser) == expected
    assert expected[0][0] == "Xã Đăk Nhau" and expected[-1][0] == "Tổng cộng"
    assert browser.find_element(By.CSS_SELECTOR, "figure.chart svg")
    # the week picker: a week with no visits yet
    picker = browser.find_element(By.NAME, "week_ending")
    browser.execute_script("arguments[0].value = '2026-11-07'", picker)
    click(browser, By.CSS_SELECTOR, "form.bar button")
    assert "week_ending=2026-11-07" in browser.current_url
    assert [row[3] for row in table_rows(browser)] == ["0", "0", "0"]
    navigate(browser, browser.back)
    browser.find_element(By.PARTIAL_LINK_TEXT, "XLSX").click()
    sheet = openpyxl.load_workbook(downloaded(console, ".xlsx")).active
    assert sheet is not None
    values = [[c for c in row] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert [str(v[0]) for v in values] == [row[0] for row in expected]
    assert [v[3] for v in values] == [int(row[3]) for row in expected]
    browser.find_element(By.PARTIAL_LINK_TEXT, "CSV").click()
    raw = downloaded(console, ".csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [row[0] for row in expected]


def test_silent_checkpoints_say_why(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, DISTRICT_OFFICIAL)
    browser.get(console.url + "/silent")
    items = {
        li.find_element(By.CSS_SELECTOR, ".what strong").text: li.text
        for li in browser.find_elements(By.CSS_SELECTOR, "ul.silent li")
    }
    assert set(items) == {"BD-002", "MH-002", "MH-003"}  # BD-001 and MH-001 scanned in the last 7 days
    assert "Chưa đăng ký máy kiosk nào" in items["BD-002"]
    assert "chưa gửi dữ liệu lần nào" in items["MH-002"]
    assert "thu hồi" in items["MH-003"]
    browser.get(console.url + "/silent?days=1")  # MH-001's last visit was 2 days ago; its kiosk synced today
    item = next(li.text for li in browser.find_elements(By.CSS_SELECTOR, "ul.silent li") if "MH-001" in li.text)
    assert "Gửi dữ liệu lần cuối" in item and "(hôm nay)" in item
    assert "7 lượt đang chờ gửi trên máy kiosk" in item and "Đồng hồ máy kiosk lệch 13 phút (chạy nhanh)" in item
    browser.get(console.url + "/silent?days=seven")  # a hand-edited address: a page in words, not JSON
    assert "Địa chỉ trang có giá trị không hợp lệ" in text(browser)
    browser.get(console.url + "/?week_ending=31/02/2026")
    assert "không phải ngày hợp lệ" in text(browser) and "Về trang tổng quan" in text(browser)


def test_tracing_needs_a_reason_is_audited_first_and_downloads(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, TRACER)
    browser.get(console.url + "/trace")
    browser.find_element(By.NAME, "key").send_keys("070185000001")
    # the browser would refuse an empty reason itself: take that away, the server must refuse too
    browser.execute_script(
        "document.querySelector('[name=reason]').removeAttribute('required');"
        "document.querySelector('[name=reason]').removeAttribute('minlength')"
    )
    click(browser, By.CSS_SELECTOR, "button[value=page]")
    assert "Cần nêu lý do tra cứu" in text(browser)
    assert not [a for a in audit_actions(console) if a[1].startswith("trace.")]
    assert browser.find_element(By.NAME, "key").get_attribute("value") == "070185000001"  # kept, to fix and send again
    reason = "Ca F0 ngày 30/11, truy vết tiếp xúc"
    browser.find_element(By.NAME, "reason").send_keys(reason)
    click(browser, By.CSS_SELECTOR, "button[value=page]")
    assert "070185000001" not in browser.current_url and browser.current_url == console.url + "/trace"
    assert table_rows(browser)[0][4] == "Nguyễn Thị Ánh Tuyết"
    assert ("official:" + TRACER, "trace.person", reason) in audit_actions(console)
    browser.find_element(By.CSS_SELECTOR, "button[value=xlsx]").click()
    sheet = openpyxl.load_workbook(downloaded(console, ".xlsx")).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert rows[0][5] == "Nguyễn Thị Ánh Tuyết" and rows[0][6] == "070185000001"
    # a tracer reads no audit log
    browser.get(console.url + "/audit")
    assert "Chỉ cán bộ cấp huyện" in text(browser)


def test_trace_by_checkpoint_and_the_audit_log(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, DISTRICT_OFFICIAL)
    browser.get(console.url + "/trace")
    browser.find_element(By.CSS_SELECTOR, "input[value=checkpoint]").click()
    browser.find_element(By.NAME, "checkpoint").send_keys("BD-001")
    start = (datetime.now(LOCAL_TZ) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    browser.execute_script("document.querySelector('[name=start]').value = arguments[0]", start)
    browser.find_element(By.NAME, "reason").send_keys("Kiểm tra chốt BD-001 trong ngày")
    click(browser, By.CSS_SELECTOR, "button[value=page]")
    assert len(table_rows(browser)) == 3  # 1, 2 and 3 hours ago; not 30 or 50
    browser.get(console.url + "/audit")
    first = table_rows(browser)[0]
    assert first[1] == "official:" + DISTRICT_OFFICIAL and first[2] == "trace.checkpoint" and first[5] == "3"


def test_a_commune_officer_sees_their_commune_only_and_cannot_trace(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, COMMUNE_OFFICIAL)
    rows = table_rows(browser)
    assert [r[0] for r in rows] == ["Xã Minh Hưng", "Tổng cộng"]
    browser.get(console.url + "/silent")
    assert {e.text for e in browser.find_elements(By.CSS_SELECTOR, "ul.silent .what strong")} == {"MH-002", "MH-003"}
    browser.get(console.url + "/silent?commune=X%C3%A3%20%C4%90%C4%83k%20Nhau")
    assert "Đây không phải xã của bạn" in text(browser)
    assert "BD-002" not in text(browser)
    browser.get(console.url + "/trace")
    assert "Vai trò của bạn không được tra cứu" in text(browser)
    assert not browser.find_elements(By.LINK_TEXT, "Truy vết")


def test_a_post_without_the_csrf_token_is_refused(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, DISTRICT_OFFICIAL)
    status = browser.execute_async_script(
        "const done = arguments[0];"
        "fetch('/logout', {method: 'POST', body: new URLSearchParams({csrf: 'forged'})}).then(r => done(r.status));"
    )
    assert status == 403
    navigate(
        browser,
        lambda: browser.execute_script(
            "const f = document.createElement('form'); f.method = 'post'; f.action = '/trace';"
            "for (const [k, v] of [['by', 'phone'], ['key', '0912345678'], ['reason', 'không có mã CSRF'],"
            " ['start', '2026-11-01T00:00'], ['end', '2026-12-01T00:00']]) {"
            " const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }"
            "document.body.appendChild(f); f.submit();"
        ),
    )
    assert "Biểu mẫu đã cũ" in text(browser)
    assert not [a for a in audit_actions(console) if a[1].startswith("trace.")]
    browser.get(console.url + "/")
    assert browser.current_url == console.url + "/"  # still signed in: the refused posts did nothing


def test_lockout_after_repeated_failures(console: Console, browser: WebDriver) -> None:
    for _ in range(MAX_FAILURES):
        sign_in(browser, console, TRACER, "wrong password")
    sign_in(browser, console, TRACER)  # the right one, too late
    assert "bị khoá" in text(browser)
    assert browser.current_url == console.url + "/login"
    sign_in(browser, console, DISTRICT_OFFICIAL)  # another name is not locked
    assert browser.current_url == console.url + "/"


def test_password_change_sign_out_and_english(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, DISTRICT_OFFICIAL)
    click(browser, By.LINK_TEXT, "English")
    assert browser.find_element(By.LINK_TEXT, "Overview")
    click(browser, By.LINK_TEXT, "Password")
    browser.find_element(By.NAME, "current").send_keys(PASSWORD)
    browser.find_element(By.NAME, "new").send_keys("một mật khẩu mới")
    browser.find_element(By.NAME, "again").send_keys("một mật khẩu mới")
    click(browser, By.CSS_SELECTOR, "form[action='/password'] button")
    assert "Password changed" in text(browser)
    sign_in(browser, console, DISTRICT_OFFICIAL)
    assert browser.current_url == console.url + "/login"  # the old password no longer works
    sign_in(browser, console, DISTRICT_OFFICIAL, "một mật khẩu mới")
    assert browser.current_url == console.url + "/"
    click(browser, By.CSS_SELECTOR, "form[action='/logout'] button")
    assert browser.current_url == console.url + "/login"
    browser.get(console.url + "/")
    assert browser.current_url == console.url + "/login"


def test_checkpoints_search_import_enrol_and_kiosks(console: Console, browser: WebDriver, tmp_path: Path) -> None:
    sign_in(browser, console, DISTRICT_OFFICIAL)
    browser.get(console.url + "/checkpoints?q=NGA+ba+%C4%91ak")  # "NGA ba đak": no tone marks, no case
    assert [r[0] for r in table_rows(browser)] == ["BD-001"]
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    heading = "code,name,commune,district,province,created_at\n"
    bad.write_text(heading + "BD-003,,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,31/02/2026\n", encoding="utf-8")
    good.write_text(heading + "BD-003,Chốt Cầu Đăk Nhau,Xã Đăk Nhau,Huyện Bù Đăng,Tỉnh Bình Phước,23/11/2026\n", encoding="utf-8")
    browser.get(console.url + "/checkpoints")
    browser.find_element(By.NAME, "file").send_keys(str(bad))
    click(browser, By.CSS_SELECTOR, "form[action='/checkpoints/import'] button")
    problems = [
        [c.text for c in r.find_elements(By.TAG_NAME, "td")]
        for r in browser.find_elements(By.CSS_SELECTOR, "table.problems tbody tr")
    ]
    assert [p[:2] for p in problems] == [["2", "name"], ["2", "created_at"]]
    assert "BD-003" not in {r[0] for r in table_rows(browser)}
    browser.find_element(By.NAME, "file").send_keys(str(good))
    click(browser, By.CSS_SELECTOR, "form[action='/checkpoints/import'] button")
    assert "Đã nhập: 1 mới" in text(browser) and "Chốt Cầu Đăk Nhau" in text(browser)
    # a checkpoint's page: its kiosk, a new enrolment code that a kiosk can redeem
    click(browser, By.LINK_TEXT, "BD-001")
    assert "Chốt Ngã ba Đăk Nhau" in text(browser) and len(browser.find_elements(By.CSS_SELECTOR, "table.kiosks tbody tr")) == 1
    click(browser, By.CSS_SELECTOR, "form[action$='/enroll-code'] button")
    code = browser.find_element(By.CSS_SELECTOR, "h1 code").text
    assert browser.find_element(By.CSS_SELECTOR, "img.sheet").get_attribute("src").startswith("data:image/png;base64,")
    assert "giờ Việt Nam" in text(browser)
    redeemed = enrolment.redeem(console.engine, code)
    assert redeemed.checkpoint.code == "BD-001"
    browser.get(console.url + "/checkpoints/BD-001")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.kiosks tbody tr")) == 2
    # a new token for the new kiosk, then revoke it: its token stops working
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "table.kiosks tbody tr") if redeemed.device_id[:8] in r.text)
    navigate(browser, row.find_element(By.CSS_SELECTOR, "form[action$='/rotate'] button").click)
    token = browser.find_element(By.CSS_SELECTOR, "code.secret").text
    assert token.startswith("dev_") and console.whoami(token) == 200 and console.whoami(redeemed.token) == 401
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "table.kiosks tbody tr") if redeemed.device_id[:8] in r.text)
    navigate(browser, row.find_element(By.CSS_SELECTOR, "form[action$='/revoke'] button").click)
    assert "Đã thu hồi máy kiosk" in text(browser) and console.whoami(token) == 401
    assert ("official:" + DISTRICT_OFFICIAL, "device.revoke", None) in audit_actions(console)


def test_a_commune_officer_reads_their_checkpoints_only(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, COMMUNE_OFFICIAL)
    browser.get(console.url + "/checkpoints")
    assert {r[0] for r in table_rows(browser)} == {"MH-001", "MH-002", "MH-003"}
    assert not browser.find_elements(By.NAME, "file")
    browser.get(console.url + "/checkpoints/MH-001")
    assert "Trạm Y tế Minh Hưng" in text(browser) and not browser.find_elements(By.CSS_SELECTOR, "form[action$='/enroll-code']")
    browser.get(console.url + "/checkpoints/BD-001")
    assert "Đây không phải xã của bạn" in text(browser) and "Chốt Ngã ba" not in text(browser)


def test_one_checkpoint_added_and_taken_out_of_use(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, DISTRICT_OFFICIAL)
    browser.get(console.url + "/checkpoints")
    browser.find_element(By.NAME, "code").send_keys("BD-010")
    browser.find_element(By.NAME, "name").send_keys("Chốt Cầu Sắt")
    browser.execute_script("document.querySelector('form[action=\"/checkpoints/add\"] select').removeAttribute('required')")
    click(browser, By.CSS_SELECTOR, "form[action='/checkpoints/add'] button")
    assert "hãy chọn xã của điểm kiểm soát" in text(browser)
    assert browser.find_element(By.NAME, "code").get_attribute("value") == "BD-010"  # kept, to fix and send again
    Select(browser.find_element(By.NAME, "commune")).select_by_visible_text("Xã Đăk Nhau")
    click(browser, By.CSS_SELECTOR, "form[action='/checkpoints/add'] button")
    assert "Đã thêm điểm kiểm soát." in text(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "BD-010 · Chốt Cầu Sắt"
    # the CLI's rule: a code is taken once
    browser.get(console.url + "/checkpoints")
    browser.find_element(By.NAME, "code").send_keys("BD-001")
    browser.find_element(By.NAME, "name").send_keys("Trùng mã")
    Select(browser.find_element(By.NAME, "commune")).select_by_visible_text("Xã Đăk Nhau")
    click(browser, By.CSS_SELECTOR, "form[action='/checkpoints/add'] button")
    assert "BD-001" in browser.find_element(By.CSS_SELECTOR, "p.error").text
    # out of use: not counted as registered, no enrolment code; then in use again
    registered = {r["commune"]: r["registered"] for r in console.api(REPORTS)["rows"]}
    browser.get(console.url + "/checkpoints/BD-010")
    click(browser, By.CSS_SELECTOR, "form[action$='/active'] button")
    assert "Đã ngừng sử dụng" in text(browser) and "Tỉnh Bình Phước · ngừng sử dụng" in text(browser)
    assert {r["commune"]: r["registered"] for r in console.api(REPORTS)["rows"]}["Xã Đăk Nhau"] == registered["Xã Đăk Nhau"] - 1
    click(browser, By.CSS_SELECTOR, "form[action$='/enroll-code'] button")
    assert browser.find_elements(By.CSS_SELECTOR, "p.error") and not browser.find_elements(By.CSS_SELECTOR, "img.sheet")
    browser.get(console.url + "/checkpoints/BD-010")
    click(browser, By.CSS_SELECTOR, "form[action$='/active'] button")
    assert "Đã sử dụng lại" in text(browser)
    actions = [(actor, action) for actor, action, _ in audit_actions(console) if action.startswith("checkpoint.")]
    assert actions == [
        ("official:" + DISTRICT_OFFICIAL, "checkpoint.add"),
        ("official:" + DISTRICT_OFFICIAL, "checkpoint.deactivate"),
        ("official:" + DISTRICT_OFFICIAL, "checkpoint.activate"),
    ]


def test_a_commune_officer_cannot_add_or_stop_a_checkpoint(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, COMMUNE_OFFICIAL)
    browser.get(console.url + "/checkpoints/MH-001")
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/active'], form[action='/checkpoints/add']")
    csrf = browser.find_element(By.NAME, "csrf").get_attribute("value")
    post = (
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', body: new URLSearchParams(arguments[1])}).then(r => done(r.status));"
    )
    assert browser.execute_async_script(post, "/checkpoints/MH-001/active", {"csrf": csrf, "active": "no"}) == 403
    fields = {"csrf": csrf, "code": "MH-010", "name": "Chốt mới", "commune": "Xã Minh Hưng"}
    assert browser.execute_async_script(post, "/checkpoints/add", fields) == 403
    with console.engine.connect() as conn:
        assert conn.execute(sa.select(checkpoints.c.active).where(checkpoints.c.code == "MH-001")).scalar() is True
        assert conn.execute(sa.select(checkpoints.c.id).where(checkpoints.c.code == "MH-010")).first() is None
