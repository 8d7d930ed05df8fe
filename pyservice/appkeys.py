"""Typed keys for everything stored on the application and the request."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pyservice.ledger.service import Ledger
from pyservice.metrics import HttpMetrics
from pyservice.settings import Settings
from pyservice.store import Store

__all__ = ["LEDGER", "METRICS", "OPENAPI_DOCUMENT", "REQUEST_ID", "SETTINGS", "STORE"]

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", HttpMetrics)
#: The registry store, opened and closed by the app's ``cleanup_ctx``.
STORE: web.AppKey[Store] = web.AppKey("store")
#: The ledger sequencer (batcher running while the app runs).
LEDGER = web.AppKey("ledger", Ledger)

#: The OpenAPI document, built once from the handler modules' descriptions.
OPENAPI_DOCUMENT: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document")

#: Set by the error middleware on every request; echoed as ``X-Request-Id``
#: and in every error body.
REQUEST_ID = web.RequestKey("request_id", str)
