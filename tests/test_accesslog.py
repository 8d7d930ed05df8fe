"""The access log names the route, never the path or query."""

from __future__ import annotations

import logging
from typing import cast

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from pyservice.accesslog import RedactedAccessLogger
from pyservice.app import create_app
from pyservice.settings import Settings
from tests.conftest import Client
from tests.partner_testkit import SignedClient, add_partner


async def test_access_lines_carry_route_status_request_id_and_partner(
    aiohttp_server: AiohttpServer,
    aiohttp_client: AiohttpClient,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    server = await aiohttp_server(create_app(settings), access_log_class=RedactedAccessLogger)
    # (a client of a started server: typed as one of an app)
    client = cast(Client, await aiohttp_client(server))
    pid, secret = add_partner(client.app, scopes=("status:read",))
    ok = await SignedClient(client, pid, secret).get("/v1/partner/applications?x=SECRETQ")
    missing = await client.get("/no-such/SECRETPATH?q=SECRETQ")
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 2
    first, second = (line.split(" ") for line in lines)
    assert first[1:4] == ["GET", "partner_applications", "200"]
    assert first[6:] == [ok.headers["X-Request-Id"], pid]
    assert second[1:4] == ["GET", "unmatched", "404"]
    assert second[6:] == [missing.headers["X-Request-Id"], "-"]
    assert "SECRET" not in "\n".join(lines)
