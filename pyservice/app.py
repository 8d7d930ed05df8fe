"""The application factory, shared by the CLI and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from pyservice.appkeys import METRICS, SETTINGS
from pyservice.handlers import ops
from pyservice.metrics import HttpMetrics
from pyservice.middlewares import MIDDLEWARES
from pyservice.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> web.Application:
    """A ready-to-run application. Resources that need opening and closing
    (store, Redis, worker pools) are added to ``cleanup_ctx``, never opened
    here, so building an app has no side effects."""
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[METRICS] = HttpMetrics.create()
    app.cleanup_ctx.append(_data_dir)
    app.add_routes(ops.routes)
    return app


async def _data_dir(app: web.Application) -> AsyncIterator[None]:
    # The data directory holds the embedded store (SQLite) once it lands.
    app[SETTINGS].data_dir.mkdir(parents=True, exist_ok=True)
    yield
