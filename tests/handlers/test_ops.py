"""``/readyz``: the store and Redis, with a real redis-server stopped and
started under the running app."""

from __future__ import annotations

import asyncio
import dataclasses
import os

from pytest_aiohttp import AiohttpClient

from pyservice.app import create_app
from pyservice.appkeys import STORE
from pyservice.settings import Settings
from tests.conftest import Client
from tests.redis_testkit import RedisServer


async def test_readyz_without_redis(client: Client) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ready",
        "checks": {"store": "ok", "redis": "not_configured"},
        "worker": os.getpid(),
    }


async def test_readyz_follows_redis(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    app = create_app(dataclasses.replace(settings, redis_url=redis_server.url))
    client = await aiohttp_client(app)
    body = await (await client.get("/readyz")).json()
    assert body["status"] == "ready"
    assert body["checks"] == {"store": "ok", "redis": "ok"}
    redis_server.kill()
    response = await client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"store": "ok", "redis": "down"}
    redis_server.start()
    # The status cache resubscribes in the background (backoff <= 2 s).
    for _ in range(100):
        body = await (await client.get("/readyz")).json()
        if body["status"] == "ready":
            break
        await asyncio.sleep(0.05)
    assert body["status"] == "ready"


async def test_readyz_store_down_is_503(client: Client, settings: Settings) -> None:
    assert client.app is not None
    client.app[STORE].close()
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["store"] == "error"
