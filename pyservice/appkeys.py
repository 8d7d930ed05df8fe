"""Typed keys for everything stored on the application and the request."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from pyservice.auth.authenticate import Authenticator
from pyservice.ledger.service import Ledger
from pyservice.metrics import HttpMetrics
from pyservice.partners.admin import PartnerAdmin
from pyservice.partners.applications import Applications
from pyservice.partners.disclosure import Disclosures
from pyservice.partners.metrics import PartnerMetrics
from pyservice.partners.policy import Caller
from pyservice.partners.registry import PartnerRegistry
from pyservice.registry.keys import KeyRing
from pyservice.registry.service import AsyncRegistry
from pyservice.seal.registry import SealRegistry
from pyservice.settings import Settings
from pyservice.statuscache import StatusCache
from pyservice.store import Store
from pyservice.usage import UsageRecorder
from pyservice.verify.service import Verifier

__all__ = [
    "APPLICATIONS",
    "AUTHENTICATOR",
    "CALLER",
    "DISCLOSURES",
    "ERROR_CODE",
    "KEYRING",
    "LEDGER",
    "METRICS",
    "OPENAPI_DOCUMENT",
    "PARTNERS",
    "PARTNER_ADMIN",
    "PARTNER_ID",
    "PARTNER_METRICS",
    "PURPOSE",
    "REDIS",
    "REGISTRY",
    "REQUEST_ID",
    "SEAL_REGISTRY",
    "SETTINGS",
    "STATUS_CACHE",
    "STORE",
    "USAGE",
    "USAGE_RECORDED",
    "VERIFIER",
]

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", HttpMetrics)
#: The registry store, opened and closed by the app's ``cleanup_ctx``.
STORE: web.AppKey[Store] = web.AppKey("store")
#: Signing keys (issuers', platform QR and ledger keys) over the store.
KEYRING = web.AppKey("keyring", KeyRing)
#: The ledger sequencer (batcher running while the app runs).
LEDGER = web.AppKey("ledger", Ledger)
#: The shared Redis client (``None`` without ``redis_url``), opened and
#: closed by the app's ``cleanup_ctx``.
REDIS: web.AppKey[Redis | None] = web.AppKey("redis")
#: The licence status cache, present once a status source is plugged in
#: with :func:`pyservice.app.status_cache_ctx`.
STATUS_CACHE = web.AppKey("status_cache", StatusCache)

#: The verification service (QR, licence document, signature).
VERIFIER = web.AppKey("verifier", Verifier)
#: Usage (audit) records, batched into the store and the ledger.
USAGE = web.AppKey("usage", UsageRecorder)

#: The OpenAPI document, built once from the handler modules' descriptions.
OPENAPI_DOCUMENT: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document")

#: Issuance, lifecycle and licence/status reads; its ``on_status_change``
#: hook is where the status cache plugs in (write order: store+ledger, then hook).
REGISTRY = web.AppKey("registry", AsyncRegistry)

#: Partners (lookups cached a few seconds), over the store and keyring.
PARTNERS = web.AppKey("partners", PartnerRegistry)
#: Access applications (用证申请审核) with the configured work calendar.
APPLICATIONS = web.AppKey("applications", Applications)
#: Holder consents and the record of full disclosures (licence:read-full).
DISCLOSURES = web.AppKey("disclosures", Disclosures)
#: Authenticates signed requests (partners, nonces, rate limits).
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
#: The seal system (lifecycle writes via ``LEDGER.run_in_writer``; reads and
#: verification on worker threads).
SEAL_REGISTRY = web.AppKey("seal_registry", SealRegistry)

#: Partner and consent administration, each action a ledger entry (run on
#: the ledger's writer thread).
PARTNER_ADMIN = web.AppKey("partner_admin", PartnerAdmin)

#: Set by the auth middleware: the authenticated partner, or None on a
#: public route.
CALLER: web.RequestKey[Caller | None] = web.RequestKey("caller")

#: Set by the auth middleware once a request's signature is verified: the
#: partner's id (also for requests it then refuses with 403 or 429).
PARTNER_ID = web.RequestKey("partner_id", str)
#: The purpose an authenticated caller declared (``X-Sidian-Purpose``), if any.
PURPOSE: web.RequestKey[str | None] = web.RequestKey("purpose")
#: Per-partner request counts with bounded labels (top partners, "other").
PARTNER_METRICS = web.AppKey("partner_metrics", PartnerMetrics)

#: Set by the error middleware on every request; echoed as ``X-Request-Id``
#: and in every error body.
REQUEST_ID = web.RequestKey("request_id", str)

#: Set by the error middleware on an error answer: its stable error code
#: (what the audit record of the call keeps as its result).
ERROR_CODE = web.RequestKey("error_code", str)

#: Set once a handler has queued the call's usage record itself (a
#: verification with its receipt): the audit middleware then adds none.
USAGE_RECORDED = web.RequestKey("usage_recorded", bool)
