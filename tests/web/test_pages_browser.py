"""The pages in a real headless Chromium at phone size: the verdict is
visible, coloured, readable; screenshots are kept as artifacts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from selenium import webdriver
from selenium.webdriver.common.by import By

from pyservice.web.pages import render_bad_code, render_holder, render_scan
from tests.browser_testkit import ThreadedServer, browser, screenshot
from tests.web_testkit import LICENCE, result

__all__ = ["browser"]  # the fixture

SAMPLES = {
    "valid": result("VALID", "VALID"),
    "revoked": result("INVALID", "REVOKED", failed="status"),
    "undetermined": result("UNDETERMINED", "UNDETERMINED", undetermined="status"),
}
COLOURS = {
    "valid": "rgba(10, 125, 50, 1)",
    "revoked": "rgba(198, 40, 40, 1)",
    "undetermined": "rgba(95, 99, 104, 1)",
}


async def _page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    now = datetime.now(UTC)
    if name == "bad":
        html = render_bad_code("malformed_token")
    elif name == "holder":
        html = render_holder(
            licence=LICENCE,
            url="http://127.0.0.1/v/AQ",
            expires_at=now + timedelta(seconds=180),
            refresh_after=1,
        )
    else:
        html = render_scan(SAMPLES[name], checked_at=now)
    return web.Response(text=html, content_type="text/html")


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    app = web.Application()
    app.router.add_get("/page/{name}", _page)
    with ThreadedServer(app) as srv:
        yield srv


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_scan_page_verdict_is_big_and_coloured(
    browser: webdriver.Chrome, server: ThreadedServer, name: str
) -> None:
    browser.get(server.url(f"/page/{name}"))
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.is_displayed()
    assert verdict.value_of_css_property("background-color") == COLOURS[name]
    big = verdict.find_element(By.CLASS_NAME, "zh")
    assert float(big.value_of_css_property("font-size").removesuffix("px")) >= 40
    # The verdict fits the phone's width and sits at the top of the page.
    assert verdict.rect["x"] >= 0
    assert verdict.rect["x"] + verdict.rect["width"] <= browser.execute_script("return innerWidth")
    assert verdict.rect["y"] < 100
    assert browser.find_element(By.ID, "holder-name").text == "欧阳**"
    path = screenshot(browser, f"scan-page-{name}")
    assert path.stat().st_size > 1000


def test_bad_code_page(browser: webdriver.Chrome, server: ThreadedServer) -> None:
    browser.get(server.url("/page/bad"))
    assert browser.find_element(By.ID, "verdict").get_attribute("data-result") == "MALFORMED"
    screenshot(browser, "scan-page-bad-code")


def test_holder_page_reloads_itself(browser: webdriver.Chrome, server: ThreadedServer) -> None:
    browser.get(server.url("/page/holder"))
    first = browser.execute_script("return performance.timeOrigin")
    qr = browser.find_element(By.CSS_SELECTOR, "#qr svg")
    assert qr.is_displayed()
    assert qr.rect["width"] >= 250  # scannable from a phone screen
    assert abs(qr.rect["width"] - qr.rect["height"]) < 2
    screenshot(browser, "holder-page")
    # refresh_after=1: the page must have reloaded itself within a few seconds.
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while datetime.now(UTC) < deadline:
        time.sleep(0.2)
        if browser.execute_script("return performance.timeOrigin") != first:
            break
    else:
        pytest.fail("the holder page did not reload before its token expired")
