"""Typed keys for everything stored on the application and the request."""

from __future__ import annotations

from aiohttp import web

from pyservice.metrics import HttpMetrics
from pyservice.settings import Settings

__all__ = ["METRICS", "REQUEST_ID", "SETTINGS"]

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", HttpMetrics)

#: Set by the error middleware on every request; echoed as ``X-Request-Id``
#: and in every error body.
REQUEST_ID = web.RequestKey("request_id", str)
