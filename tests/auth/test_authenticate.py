"""Signed-request authentication through the real middleware stack: every
401/403/429/503 path, replay of a captured request, licence-type limits."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from pyservice.app import create_app
from pyservice.appkeys import CALLER, PARTNERS
from pyservice.auth.authenticate import AuthUnavailableError, LocalNonces
from pyservice.auth.routes import requires
from pyservice.partners.ratelimit import RETRY_AFTER_FAILURE_S
from pyservice.responses import json_response
from pyservice.settings import Settings
from tests.conftest import Client
from tests.partner_testkit import BUSINESS_LICENCE, DRIVING_LICENCE, SignedClient, add_partner
from tests.redis_testkit import RedisServer

ISSUER = "11430000006122244L"
OTHER_ISSUER = "11220000013544541J"


@requires("verify:qr")
async def whoami(request: web.Request) -> web.Response:
    caller = request[CALLER]
    assert caller is not None
    return json_response({"partner": caller.partner_id, "scopes": sorted(caller.grant.scopes)})


@requires("verify:licence")
async def see_licence(request: web.Request) -> web.Response:
    caller = request[CALLER]
    assert caller is not None
    body = orjson.loads(await request.read())
    caller.grant.require_licence(body["type"], body["issuer"])
    return json_response({"ok": True})


async def undeclared(request: web.Request) -> web.Response:
    return json_response({"ok": True})


def _app(settings: Settings) -> web.Application:
    app = create_app(settings)
    app.router.add_get("/t/whoami", whoami)
    app.router.add_post("/t/licence", see_licence)
    app.router.add_get("/t/admin", undeclared)
    return app


@pytest.fixture
async def tclient(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    return await aiohttp_client(_app(settings))


async def _error(response: Any) -> tuple[int, str]:
    body = await response.json()
    return response.status, body["error"]["code"]


async def _assert_401(response: Any, code: str) -> None:
    assert await _error(response) == (401, code)
    assert response.headers["WWW-Authenticate"] == "SIDIAN-HMAC-SM3"


async def test_signed_request_reaches_the_handler_with_its_caller(tclient: Client) -> None:
    partner, secret = add_partner(tclient.app, scopes=("verify:qr", "status:read"))
    response = await SignedClient(tclient, partner, secret).get("/t/whoami")
    assert response.status == 200
    assert await response.json() == {"partner": partner, "scopes": ["status:read", "verify:qr"]}


async def test_public_routes_need_no_credentials_and_unknown_paths_are_404(
    tclient: Client,
) -> None:
    assert (await tclient.get("/healthz")).status == 200
    response = await tclient.get("/no/such/path")
    assert await _error(response) == (404, "not_found")


async def test_missing_and_malformed_credentials(tclient: Client) -> None:
    await _assert_401(await tclient.get("/t/whoami"), "missing_credentials")
    for header in (
        "Basic dXNlcjpwYXNz",
        "SIDIAN-HMAC-SM3 partner=p_x, ts=1, nonce=short, signature=00",
        "SIDIAN-HMAC-SM3 partner=p_x",
    ):
        response = await tclient.get("/t/whoami", headers={"Authorization": header})
        await _assert_401(response, "malformed_credentials")


async def test_unknown_partner(tclient: Client) -> None:
    response = await SignedClient(tclient, "p_0000000000000000", "sk_guess").get("/t/whoami")
    await _assert_401(response, "unknown_partner")


async def test_suspended_partner_is_refused_until_resumed(tclient: Client) -> None:
    partner, secret = add_partner(tclient.app)
    signed = SignedClient(tclient, partner, secret)
    tclient.app[PARTNERS].suspend(partner)
    await _assert_401(await signed.get("/t/whoami"), "partner_suspended")
    tclient.app[PARTNERS].resume(partner)
    assert (await signed.get("/t/whoami")).status == 200


async def test_suspension_is_told_only_to_the_holder_of_the_secret(tclient: Client) -> None:
    partner, _ = add_partner(tclient.app)
    tclient.app[PARTNERS].suspend(partner)
    guesser = SignedClient(tclient, partner, "sk_not_the_secret")
    await _assert_401(await guesser.get("/t/whoami"), "bad_signature")


async def test_timestamp_outside_the_window(tclient: Client) -> None:
    partner, secret = add_partner(tclient.app)
    signed = SignedClient(tclient, partner, secret)
    now = int(time.time())
    for ts in (now - 400, now + 400):
        await _assert_401(await signed.get("/t/whoami", ts=ts), "stale_timestamp")
    assert (await signed.get("/t/whoami", ts=now - 250)).status == 200


async def test_bad_signatures(tclient: Client) -> None:
    partner, secret = add_partner(tclient.app, scopes=("verify:licence",))
    signed = SignedClient(tclient, partner, secret)
    body = orjson.dumps({"type": BUSINESS_LICENCE, "issuer": ISSUER})
    # Wrong secret.
    wrong = SignedClient(tclient, partner, secret + "x")
    await _assert_401(await wrong.request("POST", "/t/licence", body=body), "bad_signature")
    # Body changed after signing.
    headers = signed.headers("POST", "/t/licence", body)
    response = await signed.send("POST", "/t/licence", body=body + b" ", headers=headers)
    await _assert_401(response, "bad_signature")
    # Target changed after signing (a query added), method changed.
    headers = signed.headers("POST", "/t/licence", body)
    response = await signed.send("POST", "/t/licence?x=1", body=body, headers=headers)
    await _assert_401(response, "bad_signature")
    headers = signed.headers("POST", "/t/whoami")
    await _assert_401(await signed.send("GET", "/t/whoami", headers=headers), "bad_signature")
    # The signature covers the raw target, percent-encoding as sent.
    assert (await signed.get("/t/whoami?q=%E8%90%A5%20x")).status == 403  # scope, not auth


async def test_rotated_secret_replaces_the_old_one(tclient: Client) -> None:
    partner, secret = add_partner(tclient.app)
    new = tclient.app[PARTNERS].rotate_secret(partner)
    assert new.secret != secret
    old = SignedClient(tclient, partner, secret)
    await _assert_401(await old.get("/t/whoami"), "bad_signature")
    assert (await SignedClient(tclient, partner, new.secret).get("/t/whoami")).status == 200


async def _replay_is_rejected(client: Client) -> None:
    partner, secret = add_partner(client.app)
    signed = SignedClient(client, partner, secret)
    captured = signed.headers("GET", "/t/whoami")
    assert (await signed.send("GET", "/t/whoami", headers=captured)).status == 200
    await _assert_401(await signed.send("GET", "/t/whoami", headers=captured), "replayed_nonce")
    # Concurrent copies of one fresh request: exactly one wins.
    fresh = signed.headers("GET", "/t/whoami")
    results = await asyncio.gather(
        *(signed.send("GET", "/t/whoami", headers=fresh) for _ in range(8))
    )
    assert sorted(r.status for r in results) == [200] + [401] * 7
    # Another partner may use the same nonce value.
    other, other_secret = add_partner(client.app)
    nonce = "shared-nonce-0123456789"
    assert (await signed.get("/t/whoami", nonce=nonce)).status == 200
    assert (await SignedClient(client, other, other_secret).get("/t/whoami", nonce=nonce)).status
    await _assert_401(await signed.get("/t/whoami", nonce=nonce), "replayed_nonce")


async def test_replay_is_rejected_in_process(tclient: Client) -> None:
    await _replay_is_rejected(tclient)


async def test_replay_is_rejected_in_redis(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    client = await aiohttp_client(_app(dataclasses.replace(settings, redis_url=redis_server.url)))
    await _replay_is_rejected(client)


async def test_redis_down_refuses_requests_that_are_not_read_only(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await aiohttp_client(_app(dataclasses.replace(settings, redis_url=redis_server.url)))
    partner, secret = add_partner(client.app, scopes=("verify:qr", "admin"))
    signed = SignedClient(client, partner, secret)
    assert (await signed.get("/t/admin")).status == 200
    redis_server.stop()
    with caplog.at_level(logging.WARNING):
        down = await signed.get("/t/admin")
    assert await _error(down) == (503, "unavailable")
    assert "retry later" in (await down.json())["error"]["message"]
    # One warning line per refused request, no traceback.
    [record] = [r for r in caplog.records if r.name == "pyservice.middlewares"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    redis_server.start()
    # Back after the short fail-fast pause that follows a failed call.
    await asyncio.sleep(RETRY_AFTER_FAILURE_S)
    assert (await signed.get("/t/admin")).status == 200


async def test_redis_down_admits_read_only_requests_on_this_workers_nonces(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    client = await aiohttp_client(_app(dataclasses.replace(settings, redis_url=redis_server.url)))
    partner, secret = add_partner(client.app)
    signed = SignedClient(client, partner, secret)
    assert (await signed.get("/t/whoami")).status == 200
    redis_server.stop()
    during = signed.headers("GET", "/t/whoami", b"")
    first = await client.get("/t/whoami", headers=during)
    assert first.status == 200
    # The worker's own nonce set refuses a replay while Redis is down …
    await _assert_401(await client.get("/t/whoami", headers=during), "replayed_nonce")
    redis_server.start()
    await asyncio.sleep(RETRY_AFTER_FAILURE_S)
    # … and the nonce reaches Redis once it is back (after the first request
    # that gets through), so every worker refuses the replay from then on.
    assert (await signed.get("/t/whoami")).status == 200
    redis = aioredis.Redis.from_url(redis_server.url)
    key_count = 0
    for _ in range(50):
        key_count = len(await redis.keys("sidian:v1:nonce:req:*"))
        if key_count >= 2:
            break
        await asyncio.sleep(0.05)
    await redis.aclose()
    assert key_count == 2  # the restarted Redis is empty: during (written back) and after
    await _assert_401(await client.get("/t/whoami", headers=during), "replayed_nonce")


async def test_several_workers_without_redis_fail_closed(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(_app(dataclasses.replace(settings, workers=2)))
    partner, secret = add_partner(client.app)
    response = await SignedClient(client, partner, secret).get("/t/whoami")
    assert await _error(response) == (503, "unavailable")


@pytest.mark.parametrize("with_redis", [False, True])
async def test_rate_limit_answers_429_with_retry_after(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    redis_server: RedisServer,
    with_redis: bool,
) -> None:
    if with_redis:
        settings = dataclasses.replace(settings, redis_url=redis_server.url)
    client = await aiohttp_client(_app(settings))
    partner, secret = add_partner(client.app, rate_per_s=2)
    signed = SignedClient(client, partner, secret)
    statuses = [(await signed.get("/t/whoami")).status for _ in range(2)]
    assert statuses == [200, 200]
    response = await signed.get("/t/whoami")
    assert await _error(response) == (429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
    # Another partner is not affected.
    other, other_secret = add_partner(client.app, rate_per_s=2)
    assert (await SignedClient(client, other, other_secret).get("/t/whoami")).status == 200


async def test_scope_denied_and_undeclared_routes_need_admin(tclient: Client) -> None:
    partner, secret = add_partner(tclient.app, scopes=("status:read",))
    signed = SignedClient(tclient, partner, secret)
    assert await _error(await signed.get("/t/whoami")) == (403, "scope_denied")
    assert await _error(await signed.get("/t/admin")) == (403, "scope_denied")
    admin, admin_secret = add_partner(tclient.app, scopes=("admin",))
    admin_client = SignedClient(tclient, admin, admin_secret)
    assert (await admin_client.get("/t/admin")).status == 200
    # admin is a scope like any other: it does not imply the others.
    assert await _error(await admin_client.get("/t/whoami")) == (403, "scope_denied")


async def test_partner_limited_to_business_licences_cannot_see_a_driving_licence(
    tclient: Client,
) -> None:
    partner, secret = add_partner(
        tclient.app,
        scopes=("verify:licence",),
        licence_types=(BUSINESS_LICENCE,),
        issuers=(ISSUER,),
    )
    signed = SignedClient(tclient, partner, secret)

    async def ask(type_code: str, issuer: str) -> tuple[int, str]:
        response = await signed.post_json("/t/licence", {"type": type_code, "issuer": issuer})
        if response.status == 200:
            return 200, "ok"
        return await _error(response)

    assert await ask(BUSINESS_LICENCE, ISSUER) == (200, "ok")
    assert await ask(DRIVING_LICENCE, ISSUER) == (403, "licence_type_denied")
    assert await ask(BUSINESS_LICENCE, OTHER_ISSUER) == (403, "issuer_denied")


async def test_oversized_body_is_413_not_500(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client = await aiohttp_client(_app(dataclasses.replace(settings, max_body_bytes=1024)))
    partner, secret = add_partner(client.app, scopes=("verify:licence",))
    response = await SignedClient(client, partner, secret).request(
        "POST", "/t/licence", body=b"x" * 4096
    )
    assert (await _error(response))[0] == 413


def _value(i: int) -> bytes:
    return i.to_bytes(8, "big") + bytes(12)


def test_local_nonces_refuse_replays_drop_old_seconds_and_are_bounded() -> None:
    seen = LocalNonces(window=300, max_entries=3)
    assert seen.add(_value(1), ts=1000, now=1000.0)
    assert not seen.add(_value(1), ts=1000, now=1001.0)  # a replay
    assert seen.add(_value(1), ts=1001, now=1001.0)  # another request (the ts is signed)
    assert seen.add(_value(2), ts=1001, now=1001.0)
    with pytest.raises(AuthUnavailableError) as full:  # refuses rather than forgets
        seen.add(_value(3), ts=1002, now=1002.0)
    assert full.value.code == "unavailable"
    # Once its second is out of the window a group is dropped whole: a
    # request with that timestamp is refused as stale before it gets here.
    assert seen.add(_value(3), ts=1302, now=1302.0)
    assert len(seen) == 3


def test_local_nonces_hand_out_each_value_once_for_writing_back() -> None:
    seen = LocalNonces(window=300, max_entries=100)
    for i in range(5):
        assert seen.add(_value(i), ts=1000 + i % 2, now=1001.0)
    assert seen.pending()
    first = seen.unwritten(1001.0, limit=3)
    assert len(first) == 3
    seen.mark_written(first)
    assert seen.add(_value(9), ts=1001, now=1001.0)
    rest = seen.unwritten(1001.0, limit=10)
    seen.mark_written(rest)
    assert not seen.pending()
    written = sorted(first + rest)
    expected = sorted([(1000 + i % 2, _value(i)) for i in range(5)] + [(1001, _value(9))])
    assert written == expected
    assert seen.unwritten(1001.0, limit=10) == []


async def test_replays_do_not_drain_the_partners_rate_limit(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    client = await aiohttp_client(_app(dataclasses.replace(settings, redis_url=redis_server.url)))
    partner, secret = add_partner(client.app, rate_per_s=2)
    signed = SignedClient(client, partner, secret)
    captured = signed.headers("GET", "/t/whoami")
    assert (await signed.send("GET", "/t/whoami", headers=captured)).status == 200
    for _ in range(5):  # an eavesdropper replaying the captured request
        replay = await signed.send("GET", "/t/whoami", headers=captured)
        await _assert_401(replay, "replayed_nonce")
    assert (await signed.get("/t/whoami")).status == 200  # the partner's 2nd token is intact
