"""The access log: one line per request naming the route, never the raw
path. Paths carry bearer secrets (``/v/<QR token>``) and classified data
(``/holder/<licence id>``), and logs must not hold either (security.md)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from pyservice.middlewares import route_label

__all__ = ["AccessLogger"]


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = route_label(request) if isinstance(request, web.Request) else "unknown"
        self.logger.info(
            "%s %s %s %d %.1fms %s",
            request.remote,
            request.method,
            route,
            response.status,
            time * 1000,
            response.headers.get("X-Request-Id", "-"),
        )
