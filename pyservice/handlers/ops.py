"""Operations endpoints: liveness, readiness, metrics, and the API's own description."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Final

from aiohttp import web
from redis.exceptions import RedisError

from pyservice import openapi
from pyservice.appkeys import LEDGER, METRICS, OPENAPI_DOCUMENT, REDIS, STATUS_CACHE, STORE
from pyservice.auth.routes import public
from pyservice.responses import json_response

__all__ = ["OPENAPI", "routes"]

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.get("/healthz", name="healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"status": "ok"})


@routes.get("/readyz", name="readyz")
@public
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
@public
async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition (text format, or OpenMetrics if asked for)."""
    metrics = request.app[METRICS]
    try:
        sth = await asyncio.wait_for(request.app[LEDGER].head(), timeout=1.0)
    except Exception:  # the store is down: the gauges keep their last values
        log.warning("metrics: no ledger head")
    else:
        metrics.ledger_tree_size.set(sth.tree_size)
        metrics.ledger_sth_age.set(max(0.0, time.time() - sth.timestamp / 1000))
    body, content_type = metrics.render(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})


@routes.get("/openapi.json", name="openapi")
@public
async def openapi_document(request: web.Request) -> web.Response:
    """This service's OpenAPI 3.1 document."""
    return json_response(request.app[OPENAPI_DOCUMENT])


@routes.get("/docs", name="docs")
@public
async def docs(request: web.Request) -> web.Response:
    """A human-readable list of the operations."""
    document = request.app[OPENAPI_DOCUMENT]
    return web.Response(text=openapi.render_docs(document), content_type="text/html")


def _plain(operation_id: str, summary: str, content: dict[str, object]) -> dict[str, object]:
    return {
        "get": {
            "operationId": operation_id,
            "tags": ["operations"],
            "summary": summary,
            "responses": {"200": {"description": summary, "content": content}},
        }
    }


OPENAPI: Final = {
    "/healthz": _plain("healthz", "The process is up", openapi.json_content(openapi.ref("Health"))),
    "/readyz": {
        "get": {
            "operationId": "readyz",
            "tags": ["operations"],
            "summary": "Whether this worker's store and Redis answer",
            "responses": {
                "200": {
                    "description": "ready, or degraded (Redis down: status read from the store)",
                    "content": openapi.json_content(openapi.ref("Readiness")),
                },
                "503": {
                    "description": "the store does not answer",
                    "content": openapi.json_content(openapi.ref("Readiness")),
                },
            },
        }
    },
    "/metrics": _plain(
        "metrics",
        "Prometheus metrics (text format)",
        {"text/plain": {"schema": {"type": "string"}}},
    ),
    "/openapi.json": _plain(
        "openapi", "This OpenAPI document", openapi.json_content({"type": "object"})
    ),
    "/docs": _plain("docs", "The API's human page", {"text/html": {"schema": {"type": "string"}}}),
}
