"""Operations endpoints: liveness, metrics, and the API's own description."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import METRICS, OPENAPI_DOCUMENT
from pyservice.responses import json_response

__all__ = ["OPENAPI", "routes"]

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


@routes.get("/openapi.json", name="openapi")
async def openapi_document(request: web.Request) -> web.Response:
    """This service's OpenAPI 3.1 document."""
    return json_response(request.app[OPENAPI_DOCUMENT])


@routes.get("/docs", name="docs")
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
