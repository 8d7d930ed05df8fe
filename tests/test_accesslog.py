"""The access log names routes, never raw paths: no QR token and no
licence id reach the log."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from pyservice.accesslog import AccessLogger
from pyservice.settings import Settings
from tests.verify_testkit import seeded_app


async def test_tokens_and_ids_stay_out_of_the_access_log(
    aiohttp_client: AiohttpClient,
    aiohttp_server: AiohttpServer,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, ids = seeded_app(settings)
    server = await aiohttp_server(
        app, access_log_class=AccessLogger, access_log=logging.getLogger("t")
    )
    client: TestClient[web.Request, None] = await aiohttp_client(server)
    caplog.set_level(logging.INFO, logger="t")
    page = await (await client.get(f"/holder/{ids.driving}")).text()
    token = page.split('data-url="', 1)[1].split('"', 1)[0].rsplit("/", 1)[1]
    assert (await client.get(f"/v/{token}")).status == 200
    assert (await client.get("/no/such/path")).status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "t"]
    assert any(" GET holder_page 200 " in line for line in lines), lines
    assert any(" GET scan_page 200 " in line for line in lines), lines
    assert any(" GET unmatched 404 " in line for line in lines), lines
    text = "\n".join(lines)
    assert token not in text
    assert ids.driving not in text
