"""Operations endpoints: liveness and metrics."""

from __future__ import annotations

from aiohttp import web

from pyservice.appkeys import METRICS
from pyservice.responses import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/healthz", name="healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"status": "ok"})


@routes.get("/metrics", name="metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition (text format, or OpenMetrics if asked for)."""
    body, content_type = request.app[METRICS].render(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})
