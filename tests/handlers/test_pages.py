"""The scan page and the holder page served by the real app (real store,
keys and crypto) in headless Chromium: the holder's QR opens a VALID
page; after a suspension the same code shows 无效 / 已暂扣; a code that
does not decode gets the bad-code page. Screenshots are kept."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient
from selenium import webdriver
from selenium.webdriver.common.by import By

from pyservice.auth.scheme import authorization_header
from pyservice.settings import Settings
from tests.browser_testkit import ThreadedServer, browser, screenshot
from tests.partner_testkit import add_partner
from tests.verify_testkit import Seeded, seeded_app

__all__ = ["browser"]  # the fixture


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ThreadedServer, Seeded]]:
    app, ids = seeded_app(Settings(data_dir=tmp_path / "data", demo_pages=True))
    with ThreadedServer(app) as server:
        yield server, ids


def _post(server: ThreadedServer, path: str, body: object) -> int:
    """A POST signed by a new partner holding ``status:write``."""
    partner, secret = add_partner(server.app, scopes=("status:write",))
    data = json.dumps(body).encode()
    auth = authorization_header(
        partner,
        secret,
        method="POST",
        target=path,
        ts=int(time.time()),
        nonce=secrets.token_hex(12),
        body=data,
    )
    request = urllib.request.Request(  # noqa: S310 - a local test server
        server.url(path),
        data=data,
        headers={"Content-Type": "application/json", "Authorization": auth},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def test_holder_qr_opens_the_scan_page_with_the_verdict(
    browser: webdriver.Chrome, served: tuple[ThreadedServer, Seeded]
) -> None:
    server, ids = served
    browser.get(server.url(f"/holder/{ids.driving}"))
    url = browser.find_element(By.ID, "qr").get_attribute("data-url")
    assert url is not None
    assert "/v/" in url
    screenshot(browser, "app-holder-page")

    browser.get(url)
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-result") == "VALID"
    assert "有效" in verdict.text
    assert browser.find_element(By.ID, "holder-name").text == "李*"
    assert browser.find_element(By.ID, "holder-id").text == "1101**********002X"
    assert browser.find_element(By.ID, "licence-id").text == ids.driving
    path = screenshot(browser, "app-scan-page-valid")
    assert path.stat().st_size > 1000

    status_path = f"/v1/licences/{ids.driving}/status"
    assert _post(server, status_path, {"status": "SUSPENDED", "reason": "检查"}) == 200
    browser.get(url)
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-result") == "INVALID"
    assert "已暂扣" in browser.page_source
    screenshot(browser, "app-scan-page-suspended")


def test_a_code_that_does_not_decode_gets_the_bad_code_page(
    browser: webdriver.Chrome, served: tuple[ThreadedServer, Seeded]
) -> None:
    server, _ = served
    browser.get(server.url("/v/not-a-token"))
    assert browser.find_element(By.ID, "verdict").get_attribute("data-result") == "MALFORMED"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url("/v/not-a-token"), timeout=10)  # noqa: S310
    assert info.value.code == 400
    info.value.close()


async def test_the_holder_page_is_served_only_in_demo_mode(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    for demo, status in ((False, 404), (True, 200)):
        app, ids = seeded_app(Settings(data_dir=tmp_path / f"data-{demo}", demo_pages=demo))
        client = await aiohttp_client(app)
        response = await client.get(f"/holder/{ids.driving}")
        assert response.status == status
        if not demo:
            assert (await response.json())["error"]["code"] == "not_found"
