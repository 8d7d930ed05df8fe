"""Verification when dependencies fail or change underneath: a real
redis-server killed mid-test, the store closed, a status changed by
another process (as the CLI does), and the metrics of issue 6."""

from __future__ import annotations

import asyncio
import re
import time

from pytest_aiohttp import AiohttpClient

from pyservice.appkeys import STORE
from pyservice.settings import Settings
from tests.partner_testkit import SignedClient
from tests.redis_testkit import RedisServer
from tests.registry_testkit import open_registry
from tests.verify_testkit import qr_token, signed_client, verify_qr


def sample(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{prefix} not in /metrics")


async def scan(client: SignedClient, token: str) -> str:
    """The verdict of the public scan page (no partner needed)."""
    response = await client.client.get(f"/v/{token}")
    assert response.status == 200
    match = re.search(r'id="verdict"[^>]*data-result="([A-Z]+)"', await response.text())
    assert match is not None
    return match.group(1)


async def test_redis_killed_then_store_closed_is_degraded_then_undetermined(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    client, ids = await signed_client(
        aiohttp_client, settings, redis_url=redis_server.url, status_max_staleness=0.0
    )
    app = client.client.app
    token = await qr_token(client, ids.business)
    assert (await verify_qr(client, token))["result"] == "VALID"

    redis_server.kill()
    # Partner verifications (read-only) are admitted on this worker's nonce
    # set and answered from the store, like the public scan page.
    response = await client.post_json("/v1/verify/qr", {"token": token})
    assert response.status == 200
    assert (await response.json())["result"] == "VALID"
    assert await scan(client, token) == "VALID"
    # A status change (not read-only) fails closed: its nonce cannot be checked.
    refused = await client.post_json(
        f"/v1/licences/{ids.business}/status", {"status": "SUSPENDED", "reason": "执法"}
    )
    assert refused.status == 503
    assert (await (await client.client.get("/readyz")).json())["status"] == "degraded"
    # a status change by another process while Redis is down reaches this one
    await asyncio.to_thread(change_status, settings, ids.business, "SUSPENDED")
    deadline = time.monotonic() + 5
    while await scan(client, token) != "INVALID":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    await asyncio.to_thread(change_status, settings, ids.business, "VALID")
    while await scan(client, token) != "VALID":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)

    app[STORE].close()
    assert await scan(client, token) == "UNDETERMINED"

    redis_server.start()
    # Redis is back but the store is gone: still never VALID.
    deadline = time.monotonic() + 10
    while (await (await client.client.get("/readyz")).json())["checks"]["redis"] != "ok":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert await scan(client, token) != "VALID"


def change_status(settings: Settings, licence_id: str, status: str) -> None:
    """A status change committed by another process's registry (as the CLI does)."""
    other = open_registry(settings.data_dir, seed=False)
    try:
        other.set_status(licence_id, status, reason="执法", actor="cli")
    finally:
        other.store.close()


async def test_a_change_made_by_another_process_reaches_the_cache(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    # No Redis and a long staleness bound: only the event poll can tell.
    client, ids = await signed_client(
        aiohttp_client, settings, status_max_staleness=600.0, status_poll_interval=0.1
    )
    token = await qr_token(client, ids.business)
    assert (await verify_qr(client, token))["result"] == "VALID"
    await asyncio.to_thread(change_status, settings, ids.business, "REVOKED")
    deadline = time.monotonic() + 5
    while (result := await verify_qr(client, token))["status"] != "REVOKED":
        assert time.monotonic() < deadline, result
        await asyncio.sleep(0.05)
    assert result["result"] == "INVALID"


async def test_metrics_of_issue_6_are_exposed(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    client, ids = await signed_client(aiohttp_client, settings, redis_url=redis_server.url)
    token = await qr_token(client, ids.business)
    for _ in range(3):
        await verify_qr(client, token)
    await client.post_json("/v1/verify/qr", {"token": "!"})
    await client.client.get(f"/v/{token}")
    text = await (await client.client.get("/metrics")).text()
    assert sample(text, 'sidian_requests_total{code="200",endpoint="verify_qr"}') == 3
    assert sample(text, 'sidian_requests_total{code="400",endpoint="verify_qr"}') == 1
    assert sample(text, 'sidian_requests_total{code="200",endpoint="scan_page"}') == 1
    assert sample(text, 'sidian_request_duration_seconds_count{endpoint="verify_qr"}') == 4
    assert sample(text, 'sidian_verifications_total{kind="qr",result="VALID"}') == 4
    assert sample(text, "sidian_sm2_verify_seconds_count") == 1  # repeats hit the cache
    assert sample(text, 'sidian_status_cache_total{layer="in-process",outcome="hit"}') >= 3
    assert sample(text, "sidian_status_age_seconds_count") >= 4
    assert sample(text, "sidian_ledger_tree_size") >= 4
    assert sample(text, "sidian_ledger_sth_age_seconds") >= 0
    assert sample(text, "sidian_redis_up") == 1
    # labels are route names, never raw paths (no token in /metrics)
    assert token not in text


async def test_store_down_is_503_or_undetermined_never_500(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids = await signed_client(aiohttp_client, settings, demo_pages=True)
    token = await qr_token(client, ids.business)
    client.client.app[STORE].close()
    # nothing was cached for this token: the platform key cannot be read
    assert await scan(client, token) == "UNDETERMINED"
    for path in (
        "/v1/trust-list",
        "/v1/status-lists/11430000006122244L",
        f"/holder/{ids.business}",
    ):
        response = await client.client.get(path)
        assert response.status == 503, path
        assert (await response.json())["error"]["code"] == "store_unavailable"
