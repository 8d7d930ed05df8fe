"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by
Selenium, for tests of the server-rendered pages. ``make test`` installs the
packages when they are missing. Screenshots go to ``build/test-artifacts/``."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from pyservice.accesslog import RedactedAccessLogger
from tests.conftest import REPO_ROOT

ARTIFACTS = REPO_ROOT / "build" / "test-artifacts"
PHONE = (390, 844)  # CSS pixels of a common phone


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        f"none of {names} found: install Debian's chromium and chromium-driver "
        "(make test does this when they are missing)"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        "--lang=zh-CN",
    ):
        options.add_argument(arg)
    service = Service(executable_path=_binary("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


class ThreadedServer:
    """An aiohttp app served from its own thread and event loop, so a
    blocking browser driver in the test thread does not starve it."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        # The service's access log (route names): scan URLs carry tokens.
        self._runner = web.AppRunner(app, access_log_class=RedactedAccessLogger)
        self.port = 0

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()

    @property
    def app(self) -> web.Application:
        return self._app

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
