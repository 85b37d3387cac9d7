"""Every console page at a phone's width (360×800) and an office laptop's (1366×768):
nothing wider than the screen but the tables, which scroll in their own box. The
screenshots land in docs/screenshots/console-*.png, to be looked at."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.server.console.conftest import DISTRICT_OFFICIAL, LAPTOP, PHONE, TRACER, Console, click, sign_in

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PAGES = {
    "overview": "/",
    "silent": "/silent?days=1",
    "checkpoints": "/checkpoints",
    "checkpoint": "/checkpoints/MH-001",
    "trace": "/trace",
    "officials": "/officials",
    "audit": "/audit",
    "password": "/password",
}


def page_fits(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"))


def shoot(driver: WebDriver, name: str) -> None:
    """At a phone's and a laptop's width, each as tall as the page (to see all of it)."""
    for (width, height), label in ((PHONE, "phone"), (LAPTOP, "laptop")):
        driver.set_window_size(width, height)
        assert page_fits(driver), f"{name} is wider than the {label}'s screen"
        tall = driver.execute_script("return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight")
        driver.set_window_size(width, max(height, min(int(tall), 4000)))
        driver.save_screenshot(str(SHOTS / f"console-{name}-{label}.png"))


@pytest.mark.parametrize("console", ["sqlite"], indirect=True)
def test_every_page_fits_a_phone_and_a_laptop(console: Console, browser: WebDriver) -> None:
    sign_in(browser, console, TRACER)  # a found trace for its screenshot, then the district official
    browser.get(console.url + "/trace")
    browser.find_element(By.NAME, "key").send_keys("070185000001")
    browser.find_element(By.NAME, "reason").send_keys("Ca F0 ngày 30/11, truy vết tiếp xúc")
    click(browser, By.CSS_SELECTOR, "button[value=page]")
    shoot(browser, "trace-found")
    click(browser, By.CSS_SELECTOR, "form[action='/logout'] button")
    browser.get(console.url + "/login")
    shoot(browser, "login")
    sign_in(browser, console, DISTRICT_OFFICIAL)
    for name, path in PAGES.items():
        browser.get(console.url + path)
        shoot(browser, name)
    browser.get(console.url + "/checkpoints/MH-001")
    click(browser, By.CSS_SELECTOR, "form[action$='/enroll-code'] button")
    shoot(browser, "enroll-code")
    browser.get(console.url + "/officials")
    click(browser, By.LINK_TEXT, TRACER)
    click(browser, By.CSS_SELECTOR, "form[action$='/password'] button")  # a one-time password, shown once
    shoot(browser, "official")
    browser.set_window_size(*PHONE)
    browser.get(console.url + "/")
    browser.find_element(By.CSS_SELECTOR, "details.menu summary").click()
    browser.save_screenshot(str(SHOTS / "console-menu-open-phone.png"))
