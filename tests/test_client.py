"""SidianClient signs exactly what it sends: a real server recomputes the
signature from the raw request target and body it received."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from pyservice.auth.scheme import AuthError, check_signature, parse_authorization
from pyservice.client import SidianClient

SECRET = "sk_test_client_secret_0001"


async def _echo_auth(request: web.Request) -> web.Response:
    body = await request.read()
    header = request.headers.get("Authorization")
    seen: dict[str, Any] = {"target": request.raw_path, "authorized": header is not None}
    if header is not None:
        creds = parse_authorization(header)
        try:
            check_signature(creds, SECRET, request.method, request.raw_path, body)
        except AuthError as exc:
            return web.json_response({"code": exc.code}, status=exc.http_status)
        seen["partner"] = creds.partner
        seen["nonce"] = creds.nonce
    return web.json_response(seen)


@pytest.fixture
async def server() -> Any:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo_auth)
    async with TestServer(app, host="127.0.0.1") as srv:
        yield srv


async def test_signed_get_and_post_verify_on_the_server(server: TestServer) -> None:
    base = str(server.make_url(""))
    async with SidianClient(base, "partner-1", SECRET) as client:
        got = await client.get("/v1/licences/1.2.156%2F3/status?x=%E4%B8%AD&y=1")
        assert got.status == 200
        assert got.json()["target"] == "/v1/licences/1.2.156%2F3/status?x=%E4%B8%AD&y=1"
        posted = await client.post_json("/v1/verify/qr", {"token": "AQ"})
        assert posted.status == 200
        assert posted.json()["partner"] == "partner-1"
        again = await client.post_json("/v1/verify/qr", {"token": "AQ"})
        assert again.json()["nonce"] != posted.json()["nonce"]  # fresh nonce per request


async def test_wrong_secret_is_refused_by_the_server(server: TestServer) -> None:
    base = str(server.make_url(""))
    async with SidianClient(base, "partner-1", SECRET + "-wrong") as client:
        got = await client.get("/x")
        assert (got.status, got.json()) == (401, {"code": "bad_signature"})


async def test_public_client_sends_no_credentials(server: TestServer) -> None:
    async with SidianClient(str(server.make_url(""))) as client:
        got = await client.get("/v1/ledger/sth")
        assert got.json() == {"target": "/v1/ledger/sth", "authorized": False}


def test_repr_hides_the_secret() -> None:
    client = SidianClient("http://127.0.0.1:1", "p", SECRET)
    assert SECRET not in repr(client)
    with pytest.raises(ValueError, match="both"):
        SidianClient("http://127.0.0.1:1", "p", None)
