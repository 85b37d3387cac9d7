"""The officials pages and the phone's menu, in a real browser (see conftest.py): a district
official manages the officials of their district through every form; commune officials,
tracers, forged posts and changes to one's own account are refused."""

from __future__ import annotations

import http.client

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from server import sessions
from server.schema import audit_log, login_failures, officials
from server.sessions import MAX_FAILURES
from tests.server.console.conftest import (
    COMMUNE_OFFICIAL,
    DISTRICT_OFFICIAL,
    PASSWORD,
    PHONE,
    TRACER,
    Console,
    click,
    navigate,
    sign_in,
)
from tests.server.console.test_console import REPORTS, table_rows, text

NEW_OFFICIAL = "Nguyễn Thị Lan"


def api_status(console: Console, token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", int(console.url.rsplit(":", 1)[1]), timeout=30)
    conn.request("GET", REPORTS, headers={"Authorization": f"Bearer {token}"})
    return conn.getresponse().status


def audited(console: Console, action: str) -> list[tuple[str, object]]:
    with console.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log.c.actor, audit_log.c.params).where(audit_log.c.action == action))
        return [(actor, params) for actor, params in rows]


def stored(console: Console, name: str) -> sa.Row[tuple[object, ...]]:
    with console.engine.connect() as conn:
        return conn.execute(sa.select(officials).where(officials.c.name == name)).one()


def official_page(browser: WebDriver, console: Console, name: str) -> None:
    browser.get(console.url + "/officials")
    click(browser, By.LINK_TEXT, name)


def secret(browser: WebDriver, index: int = 0) -> str:
    return browser.find_elements(By.CSS_SELECTOR, "code.secret")[index].text


def test_a_district_official_adds_an_official_who_then_chooses_their_password(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, DISTRICT_OFFICIAL)
    click(browser, By.LINK_TEXT, "Cán bộ")  # the nav entry
    listed = {row[0]: row for row in table_rows(browser)}
    assert set(listed) == {DISTRICT_OFFICIAL + " (bạn)", COMMUNE_OFFICIAL, TRACER}
    assert listed[COMMUNE_OFFICIAL][1:3] == ["Cán bộ xã", "Xã Minh Hưng"]
    assert listed[TRACER][3] == "chưa có" and "đăng nhập được" in listed[TRACER][4]
    assert "Đến lúc" not in listed[TRACER][5] and listed[TRACER][5] == "không hết hạn"
    # a commune official without a commune: refused in words, the form kept
    browser.find_element(By.NAME, "name").send_keys(NEW_OFFICIAL)
    Select(browser.find_element(By.NAME, "role")).select_by_value("commune")
    browser.find_element(By.NAME, "token").click()
    browser.find_element(By.NAME, "token_days").send_keys("30")
    click(browser, By.CSS_SELECTOR, "form[action='/officials'] button")
    assert "hãy chọn xã của cán bộ xã" in text(browser)
    assert browser.find_element(By.NAME, "name").get_attribute("value") == NEW_OFFICIAL
    assert ("official:" + DISTRICT_OFFICIAL) not in {actor for actor, _ in audited(console, "official.add")}
    Select(browser.find_element(By.NAME, "commune")).select_by_visible_text("Xã Đăk Nhau")
    click(browser, By.CSS_SELECTOR, "form[action='/officials'] button")
    assert "Đã thêm cán bộ." in text(browser) and "Cán bộ xã · Xã Đăk Nhau" in text(browser)
    one_time, token = secret(browser, 0), secret(browser, 1)
    assert token.startswith("off_") and api_status(console, token) == 200
    assert audited(console, "official.add")[-1] == ("official:" + DISTRICT_OFFICIAL, {"official": NEW_OFFICIAL, "role": "commune"})
    browser.get(console.url + "/officials")  # shown once: no page shows them again
    assert not browser.find_elements(By.CSS_SELECTOR, "code.secret")
    # the one-time password signs in once, and every page asks for a new password first
    click(browser, By.CSS_SELECTOR, "form[action='/logout'] button")
    sign_in(browser, console, NEW_OFFICIAL, one_time)
    assert browser.current_url == console.url + "/password"
    assert "Mật khẩu của bạn do cán bộ huyện đặt" in text(browser)
    browser.get(console.url + "/silent")
    assert browser.current_url == console.url + "/password"
    browser.find_element(By.NAME, "current").send_keys(one_time)
    browser.find_element(By.NAME, "new").send_keys("mật khẩu của Lan")
    browser.find_element(By.NAME, "again").send_keys("mật khẩu của Lan")
    click(browser, By.CSS_SELECTOR, "form[action='/password'] button")
    sign_in(browser, console, NEW_OFFICIAL, "mật khẩu của Lan")
    assert browser.current_url == console.url + "/"
    assert [row[0] for row in table_rows(browser)] == ["Xã Đăk Nhau", "Tổng cộng"]  # a commune official's view
    assert stored(console, NEW_OFFICIAL).last_sign_in_at is not None


def test_role_access_unlock_password_and_token_of_another_official(console: Console, browser: WebDriver) -> None:
    tracer_token = _issued_token(console, browser)
    # role and commune: the tracer becomes Minh Hưng's commune official; their sessions end
    tracer_cookie, _ = sessions.sign_in(console.engine, TRACER, PASSWORD)
    Select(browser.find_element(By.NAME, "role")).select_by_value("commune")
    click(browser, By.CSS_SELECTOR, "form[action$='/role'] button")
    assert "hãy chọn xã của cán bộ xã" in text(browser) and stored(console, TRACER).role == "tracer"
    Select(browser.find_element(By.NAME, "role")).select_by_value("commune")
    Select(browser.find_element(By.NAME, "commune")).select_by_visible_text("Xã Minh Hưng")
    click(browser, By.CSS_SELECTOR, "form[action$='/role'] button")
    assert "Đã đổi vai trò" in text(browser) and "Cán bộ xã · Xã Minh Hưng" in text(browser)
    assert stored(console, TRACER).role == "commune"
    with console.engine.connect() as conn:
        assert sessions.session_for(conn, tracer_cookie) is None
    # disable: no sign-in, no token; enable gives both back
    click(browser, By.CSS_SELECTOR, "form[action$='/disable'] button")
    assert "Đã vô hiệu hoá" in text(browser) and "đã vô hiệu hoá" in text(browser)
    assert api_status(console, tracer_token) == 401
    with pytest.raises(sessions.SignInRefused):
        sessions.sign_in(console.engine, TRACER, PASSWORD)
    click(browser, By.CSS_SELECTOR, "form[action$='/enable'] button")
    assert "Đã cho hoạt động lại" in text(browser) and api_status(console, tracer_token) == 200
    # locked out by wrong passwords: the page says until when, and unlocks
    for _ in range(MAX_FAILURES):
        with pytest.raises(sessions.SignInRefused):
            sessions.sign_in(console.engine, TRACER, "wrong password")
    browser.get(console.url + f"/officials/{stored(console, TRACER).id}")
    assert "bị khoá đến" in text(browser)
    click(browser, By.CSS_SELECTOR, "form[action$='/unlock'] button")
    assert "Đã mở khoá" in text(browser) and "bị khoá đến" not in text(browser)
    with console.engine.connect() as conn:
        assert conn.execute(sa.select(login_failures)).first() is None
    sessions.sign_in(console.engine, TRACER, PASSWORD)
    # a password the district official types: it works once, then must be changed
    browser.find_element(By.CSS_SELECTOR, "form[action$='/password'] input[name=password]").send_keys("đặt bởi huyện 2026")
    click(browser, By.CSS_SELECTOR, "form[action$='/password'] button")
    assert "Đã đặt mật khẩu" in text(browser) and not browser.find_elements(By.CSS_SELECTOR, "code.secret")
    assert sessions.sign_in(console.engine, TRACER, "đặt bởi huyện 2026")[1].must_change_password
    # the token: revoke it, it stops working
    click(browser, By.CSS_SELECTOR, "form[action$='/token-revoke'] button")
    assert "Đã thu hồi mã API" in text(browser) and api_status(console, tracer_token) == 401
    assert "không có mã dùng được" in text(browser)
    actions = {a for (a,) in _actions(console)}
    assert {"official.role", "official.revoke", "official.enable", "official.unlock", "official.password"} <= actions
    assert {"official.token", "official.token_revoke"} <= actions


def _issued_token(console: Console, browser: WebDriver) -> str:
    """A district official gives the tracer a new API token valid for 7 days: the old one stops."""
    sign_in(browser, console, DISTRICT_OFFICIAL)
    official_page(browser, console, TRACER)
    days = browser.find_element(By.CSS_SELECTOR, "form[action$='/token'] input[name=token_days]")
    browser.execute_script("arguments[0].removeAttribute('min')", days)  # the server must refuse it too
    days.send_keys("0")
    click(browser, By.CSS_SELECTOR, "form[action$='/token'] button")
    assert "số ngày của mã phải là số nguyên từ 1 đến 3650" in text(browser)
    browser.find_element(By.CSS_SELECTOR, "form[action$='/token'] input[name=token_days]").send_keys("7")
    click(browser, By.CSS_SELECTOR, "form[action$='/token'] button")
    assert "Đã cấp mã API mới" in text(browser) and "Đến lúc" in text(browser)
    token = secret(browser)
    assert api_status(console, token) == 200
    return token


def _actions(console: Console) -> list[tuple[str]]:
    with console.engine.connect() as conn:
        return [(a,) for a in conn.execute(sa.select(audit_log.c.action)).scalars()]


def test_officials_pages_refuse_other_roles_forged_posts_and_changes_to_oneself(console: Console, browser: WebDriver) -> None:
    for name in (COMMUNE_OFFICIAL, TRACER):
        sign_in(browser, console, name)
        assert not browser.find_elements(By.LINK_TEXT, "Cán bộ")
        browser.get(console.url + "/officials")
        assert "Chỉ cán bộ cấp huyện" in text(browser) and TRACER not in text(browser)
        browser.get(console.url + "/officials/1")
        assert "Chỉ cán bộ cấp huyện" in text(browser)
        browser.delete_all_cookies()  # the next one signs in
    sign_in(browser, console, DISTRICT_OFFICIAL)
    me = stored(console, DISTRICT_OFFICIAL).id
    tracer = stored(console, TRACER).id
    # a post without the form's CSRF token does nothing
    forged = (
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', body: new URLSearchParams({csrf: arguments[1]})}).then(r => done(r.status));"
    )
    assert browser.execute_async_script(forged, f"/officials/{tracer}/disable", "forged") == 403
    assert stored(console, TRACER).revoked_at is None
    # one's own account: no forms for it, and a hand-made post with the right token is refused
    browser.get(console.url + f"/officials/{me}")
    assert "Đây là tài khoản của bạn" in text(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/disable'], form[action$='/role']")
    csrf = browser.find_element(By.NAME, "csrf").get_attribute("value")
    assert browser.execute_async_script(forged, f"/officials/{me}/disable", csrf) == 403
    assert browser.execute_async_script(forged, f"/officials/{me}/password", csrf) == 403
    assert stored(console, DISTRICT_OFFICIAL).revoked_at is None
    browser.get(console.url + "/officials/99999")
    assert "không có cán bộ số 99999" in text(browser)


def test_the_phone_menu_is_one_line_and_opens(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, DISTRICT_OFFICIAL)
    browser.set_window_size(*PHONE)
    browser.get(console.url + "/silent")
    bar = browser.find_element(By.CSS_SELECTOR, "header.top")
    button = browser.find_element(By.CSS_SELECTOR, "details.menu summary")
    assert bar.size["height"] < 2 * button.size["height"]  # one line: the brand and the menu button
    assert not browser.find_element(By.CSS_SELECTOR, "nav.wide").is_displayed()
    button.click()
    links = [a for a in browser.find_elements(By.CSS_SELECTOR, "details.menu nav a") if a.is_displayed()]
    assert [a.text for a in links] == [
        "Tổng quan",
        "Điểm không hoạt động",
        "Điểm kiểm soát",
        "Truy vết",
        "Cán bộ",
        "Nhật ký truy cập",
    ]
    navigate(browser, next(a for a in links if a.text == "Cán bộ").click)
    assert browser.current_url == console.url + "/officials"
    browser.find_element(By.CSS_SELECTOR, "details.menu summary").click()
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "details.menu form[action='/logout'] button").click)
    assert browser.current_url == console.url + "/login"
