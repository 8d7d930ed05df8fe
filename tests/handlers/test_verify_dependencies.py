"""Verification when dependencies fail or change underneath: a real
redis-server killed mid-test, the store closed, a status changed by
another process (as the CLI does), and the metrics of issue 6."""

from __future__ import annotations

import asyncio
import time

from pytest_aiohttp import AiohttpClient

from pyservice.appkeys import STORE
from pyservice.settings import Settings
from tests.redis_testkit import RedisServer
from tests.registry_testkit import open_registry
from tests.verify_testkit import checks, qr_token, seeded_app, verify_qr


def sample(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{prefix} not in /metrics")


async def test_redis_killed_then_store_closed_is_degraded_then_undetermined(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    app, ids = seeded_app(settings, redis_url=redis_server.url, status_max_staleness=0.0)
    client = await aiohttp_client(app)
    token = await qr_token(client, ids.business)
    assert (await verify_qr(client, token))["result"] == "VALID"

    redis_server.kill()
    result = await verify_qr(client, token)
    assert result["result"] == "VALID"  # answered from the store
    assert (await (await client.get("/readyz")).json())["status"] == "degraded"
    # a status change while Redis is down still reaches this process
    url = f"/v1/licences/{ids.business}/status"
    response = await client.post(url, json={"status": "SUSPENDED", "reason": "检查"})
    assert response.status == 200
    assert (await verify_qr(client, token))["status"] == "SUSPENDED"
    await client.post(url, json={"status": "VALID", "reason": "复核"})

    app[STORE].close()
    result = await verify_qr(client, token)
    assert result["result"] == "UNDETERMINED", result
    assert checks(result)["status"] is None

    redis_server.start()
    # Redis is back but holds nothing for this licence and the store is
    # gone: still never VALID.
    deadline = time.monotonic() + 10
    while (await (await client.get("/readyz")).json())["checks"]["redis"] != "ok":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert (await verify_qr(client, token))["result"] != "VALID"


async def test_a_change_made_by_another_process_reaches_the_cache(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    # No Redis and a long staleness bound: only the event poll can tell.
    app, ids = seeded_app(settings, status_max_staleness=600.0, status_poll_interval=0.1)
    client = await aiohttp_client(app)
    token = await qr_token(client, ids.business)
    assert (await verify_qr(client, token))["result"] == "VALID"
    other = open_registry(settings.data_dir, seed=False)
    try:
        await asyncio.to_thread(
            other.set_status, ids.business, "REVOKED", reason="吊销", actor="cli"
        )
    finally:
        other.store.close()
    deadline = time.monotonic() + 5
    while (result := await verify_qr(client, token))["status"] != "REVOKED":
        assert time.monotonic() < deadline, result
        await asyncio.sleep(0.05)
    assert result["result"] == "INVALID"


async def test_metrics_of_issue_6_are_exposed(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    app, ids = seeded_app(settings, redis_url=redis_server.url)
    client = await aiohttp_client(app)
    token = await qr_token(client, ids.business)
    for _ in range(3):
        await verify_qr(client, token)
    await client.post("/v1/verify/qr", json={"token": "!"})
    await client.get(f"/v/{token}")
    text = await (await client.get("/metrics")).text()
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
