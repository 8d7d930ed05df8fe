"""The status cache plugged into the app (``create_app(status_source=)``): its
metrics in ``/metrics`` and its state in ``/readyz``, with a real
redis-server killed and restarted and a real SQLite status source."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from pyservice.app import create_app
from pyservice.appkeys import STATUS_CACHE
from pyservice.settings import Settings
from pyservice.statuscache import Layer
from tests.redis_testkit import RedisServer
from tests.statuscache_testkit import SqliteStatusSource


def sample(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{prefix} not in /metrics")


async def test_status_cache_metrics_and_readiness(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer, tmp_path: Path
) -> None:
    source = SqliteStatusSource(tmp_path / "status.db")
    app = create_app(
        dataclasses.replace(settings, redis_url=redis_server.url), status_source=lambda app: source
    )
    client = await aiohttp_client(app)
    cache = app[STATUS_CACHE]
    ref = source.put("L-app", "VALID")
    assert (await cache.lookup(ref)).layer is Layer.STORE
    assert (await cache.lookup(ref)).layer is Layer.IN_PROCESS
    text = await (await client.get("/metrics")).text()
    assert sample(text, 'sidian_status_cache_total{layer="store",outcome="hit"}') == 1
    assert sample(text, 'sidian_status_cache_total{layer="in-process",outcome="hit"}') == 1
    assert sample(text, 'sidian_status_cache_total{layer="redis",outcome="miss"}') == 1
    assert sample(text, "sidian_status_age_seconds_count") == 2
    assert sample(text, "sidian_redis_up") == 1
    assert (await (await client.get("/readyz")).json())["status"] == "ready"

    redis_server.kill()
    other = source.put("L-app-2", "SUSPENDED")
    result = await cache.lookup(other)
    assert result.degraded
    assert result.record is not None
    assert result.record.status == "SUSPENDED"
    body = await (await client.get("/readyz")).json()
    assert body["status"] == "degraded"
    text = await (await client.get("/metrics")).text()
    assert sample(text, "sidian_redis_up") == 0
    assert sample(text, 'sidian_status_cache_total{layer="redis",outcome="error"}') == 1

    redis_server.start()
    deadline = time.monotonic() + 10
    while cache.degraded:
        assert time.monotonic() < deadline, "status cache did not reconnect"
        await cache.wait_subscribed(0.2)
    assert (await (await client.get("/readyz")).json())["status"] == "ready"
    text = await (await client.get("/metrics")).text()
    assert sample(text, "sidian_redis_up") == 1


async def test_without_redis_the_cache_is_in_process_only(
    aiohttp_client: AiohttpClient, settings: Settings, tmp_path: Path
) -> None:
    source = SqliteStatusSource(tmp_path / "status.db")
    app = create_app(settings, status_source=lambda app: source)
    client = await aiohttp_client(app)
    ref = source.put("L-embedded", "REVOKED", reason="吊销")
    assert (await app[STATUS_CACHE].lookup(ref)).layer is Layer.STORE
    assert (await app[STATUS_CACHE].lookup(ref)).layer is Layer.IN_PROCESS
    body = await (await client.get("/readyz")).json()
    assert body["status"] == "ready"
    assert body["checks"]["redis"] == "not_configured"
