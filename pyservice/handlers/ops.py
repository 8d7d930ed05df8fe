"""Operations endpoints: liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web
from redis.exceptions import RedisError

from pyservice.appkeys import METRICS, REDIS, STATUS_CACHE, STORE
from pyservice.responses import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/healthz", name="healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"status": "ok"})


@routes.get("/readyz", name="readyz")
async def readyz(request: web.Request) -> web.Response:
    """Whether this worker can answer from its dependencies: ``ready`` (200),
    ``degraded`` (200: Redis configured but unreachable, status is read from
    the store) or ``unavailable`` (503: the store does not answer)."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(
            loop.run_in_executor(None, request.app[STORE].schema_version), timeout=2.0
        )
        store = "ok"
    except Exception:  # any failure of the store means not ready
        store = "error"
    client = request.app[REDIS]
    if client is None:
        redis = "not_configured"
    else:
        try:
            await asyncio.wait_for(client.ping(), timeout=1.0)
            redis = "ok"
        except (RedisError, OSError, TimeoutError):
            redis = "down"
    cache = request.app.get(STATUS_CACHE)
    if cache is not None and cache.degraded:
        redis = "down"  # the status cache is reading from the store
    if store != "ok":
        status, http_status = "unavailable", 503
    elif redis == "down":
        status, http_status = "degraded", 200
    else:
        status, http_status = "ready", 200
    body = {"status": status, "checks": {"store": store, "redis": redis}, "worker": os.getpid()}
    return json_response(body, status=http_status)


@routes.get("/metrics", name="metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition (text format, or OpenMetrics if asked for)."""
    body, content_type = request.app[METRICS].render(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})
