"""The application factory, shared by the CLI and the tests."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Final

from aiohttp import web
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pyservice import openapi
from pyservice.appkeys import (
    APPLICATIONS,
    AUTHENTICATOR,
    DISCLOSURES,
    KEYRING,
    LEDGER,
    METRICS,
    OPENAPI_DOCUMENT,
    PARTNER_ADMIN,
    PARTNER_METRICS,
    PARTNERS,
    REDIS,
    REGISTRY,
    SEAL_REGISTRY,
    SETTINGS,
    STATUS_CACHE,
    STORE,
    USAGE,
    VERIFIER,
)
from pyservice.auth.authenticate import Authenticator
from pyservice.auth.routes import required_scope
from pyservice.handlers import (
    audit,
    consents,
    ledger,
    licences,
    ops,
    pages,
    partners,
    seal,
    trust,
    verify,
)
from pyservice.ledger.keys import ledger_key
from pyservice.ledger.service import Ledger
from pyservice.metrics import HttpMetrics, flush_periodically
from pyservice.middlewares import MIDDLEWARES
from pyservice.partners.admin import PartnerAdmin
from pyservice.partners.applications import Applications
from pyservice.partners.calendar import WorkCalendar
from pyservice.partners.disclosure import Disclosures
from pyservice.partners.metrics import PartnerMetrics
from pyservice.partners.ratelimit import RateLimiter
from pyservice.partners.registry import PartnerRegistry
from pyservice.registry.keys import KeyRing, load_master_key
from pyservice.registry.service import AsyncRegistry, Registry
from pyservice.seal.anchors import load_trust_anchors
from pyservice.seal.registry import SealRegistry
from pyservice.settings import Settings
from pyservice.statuscache import StatusCache, StatusCacheMetrics, StatusSource
from pyservice.statusfeed import StatusFollower, StoreStatusSource
from pyservice.store import open_store
from pyservice.usage import UsageRecorder
from pyservice.verify.service import Verifier

__all__ = ["HANDLER_MODULES", "create_app", "status_cache_ctx"]

log = logging.getLogger(__name__)

#: Each handler module exports ``routes`` and ``OPENAPI`` (its operations).
HANDLER_MODULES: Final = (
    ops,
    ledger,
    partners,
    audit,
    seal,
    verify,
    licences,
    consents,
    trust,
    pages,
)


def create_app(
    settings: Settings,
    *,
    status_source: Callable[[web.Application], StatusSource] | None = None,
) -> web.Application:
    """A ready-to-run application. Resources that need opening and closing
    (store, Redis, worker pools) are added to ``cleanup_ctx``, never opened
    here, so building an app has no side effects. ``status_source`` replaces
    the status cache's source of truth (default: the registry store)."""
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[METRICS] = HttpMetrics.create()
    app[PARTNER_METRICS] = PartnerMetrics(app[METRICS].registry, buffer=app[METRICS].buffer)
    app.cleanup_ctx.append(_metrics_flush)  # first in, last out: the final flush
    app.cleanup_ctx.append(_data_dir)
    app.cleanup_ctx.append(_store)
    app.cleanup_ctx.append(_keyring)
    app.cleanup_ctx.append(_ledger)
    app.cleanup_ctx.append(_registry)
    app.cleanup_ctx.append(_seal_registry)
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_auth)
    app.cleanup_ctx.append(status_cache_ctx(status_source or _store_status_source))
    app.cleanup_ctx.append(_verification)
    for module in HANDLER_MODULES:
        app.add_routes(module.routes)
    document = openapi.build_document(m.OPENAPI for m in HANDLER_MODULES)
    openapi.with_security(document, _declarations(app))
    app[OPENAPI_DOCUMENT] = document
    if settings.expose_worker:
        app.on_response_prepare.append(_worker_header)
    return app


async def _worker_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["X-Sidian-Worker"] = str(os.getpid())


def _declarations(app: web.Application) -> dict[tuple[str, str], str]:
    """What each route requires (``@public``, ``@authenticated``, a scope)."""
    return {
        (route.method.lower(), route.resource.canonical): required_scope(route.handler)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


async def _data_dir(app: web.Application) -> AsyncIterator[None]:
    # The data directory holds the embedded store (SQLite) and, for now, keys.
    app[SETTINGS].data_dir.mkdir(parents=True, exist_ok=True)
    yield


async def _store(app: web.Application) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    store = await loop.run_in_executor(None, open_store, app[SETTINGS].data_dir)
    app[STORE] = store
    try:
        yield
    finally:
        store.close()


async def _keyring(app: web.Application) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    master = await loop.run_in_executor(None, load_master_key, app[SETTINGS].data_dir)
    app[KEYRING] = KeyRing(app[STORE], master)
    yield


async def _ledger(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    loop = asyncio.get_running_loop()
    key = await loop.run_in_executor(None, ledger_key, app[STORE], settings.data_dir)
    ledger = Ledger(
        app[STORE],
        key,
        batch_interval=settings.ledger_batch_interval,
        batch_size=settings.ledger_batch_size,
    )
    await ledger.start()
    app[LEDGER] = ledger
    try:
        yield
    finally:
        await ledger.close()


async def _registry(app: web.Application) -> AsyncIterator[None]:
    # The status cache plugs in with app[REGISTRY].on_status_change = ...
    app[REGISTRY] = AsyncRegistry(Registry(app[STORE], app[KEYRING], app[LEDGER]))
    yield


async def _seal_registry(app: web.Application) -> AsyncIterator[None]:
    app[SEAL_REGISTRY] = SealRegistry(app[STORE], app[KEYRING], app[LEDGER])
    yield


async def _redis(app: web.Application) -> AsyncIterator[None]:
    # One client per worker; it connects lazily, so a Redis that is down at
    # startup only makes /readyz report "degraded".
    url = app[SETTINGS].redis_url
    client = (
        None
        if url is None
        else Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
    )
    app[REDIS] = client
    try:
        yield
    finally:
        if client is not None:
            await client.aclose()


def _store_status_source(app: web.Application) -> StatusSource:
    return StoreStatusSource(app[STORE])


def _trust_anchors(directory: Path | None) -> list[bytes]:
    """The CA certificates of ``SIDIAN_TRUST_ANCHORS`` (none if unset)."""
    if directory is None:
        return []
    anchors = load_trust_anchors(directory)
    log.info("%d trust anchors loaded from %s", len(anchors), directory)
    return anchors


async def _metrics_flush(app: web.Application) -> AsyncIterator[None]:
    async for _ in flush_periodically(app, app[METRICS].buffer):
        yield


async def _verification(app: web.Application) -> AsyncIterator[None]:
    """Status propagation (registry hook + event poll), usage records, and
    the verifier. Closed first: pending usage records reach the ledger
    before it stops."""
    settings = app[SETTINGS]
    metrics = app[METRICS]
    follower = StatusFollower(
        app[REGISTRY],
        app[STATUS_CACHE],
        StoreStatusSource(app[STORE]),
        interval=settings.status_poll_interval,
    )
    await follower.start()
    usage = UsageRecorder(
        app[STORE],
        app[LEDGER],
        app[KEYRING].usage_target,
        interval=settings.usage_flush_interval,
    )
    await usage.start()
    app[USAGE] = usage
    app[VERIFIER] = Verifier(
        app[REGISTRY],
        app[KEYRING],
        app[STATUS_CACHE],
        redis=app[REDIS],
        sm2_timer=metrics.observe_sm2,
        trust_anchors=_trust_anchors(settings.trust_anchors),
    )
    try:
        yield
    finally:
        await follower.close()
        await usage.close()


async def _auth(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[PARTNERS] = PartnerRegistry(app[STORE], app[KEYRING])
    calendar = WorkCalendar.load(settings.work_calendar)
    app[APPLICATIONS] = Applications(app[STORE], calendar, app[PARTNERS])
    app[DISCLOSURES] = Disclosures(app[STORE])
    app[PARTNER_ADMIN] = PartnerAdmin(
        app[PARTNERS], app[DISCLOSURES], app[LEDGER], app[KEYRING].usage_target
    )
    redis = app[REDIS]
    if redis is None and settings.workers > 1:
        log.warning(
            "several workers without Redis: signed requests are refused (503), "
            "since a replayed nonce could not be detected across workers"
        )
    authenticator = Authenticator(
        app[PARTNERS],
        redis,
        RateLimiter(redis, workers=settings.workers),
        single_process=settings.workers == 1,
    )
    app[AUTHENTICATOR] = authenticator
    try:
        yield
    finally:
        await authenticator.aclose()


def status_cache_ctx(
    source: Callable[[web.Application], StatusSource],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` entry that runs the licence status cache over the
    status source ``source(app)`` returns (the registry store), with the
    app's Redis URL, maximum staleness and metrics registry; it sets
    :data:`~pyservice.appkeys.STATUS_CACHE`. :func:`create_app` appends it
    after the store and Redis."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        cache = StatusCache(
            source(app),
            redis_url=settings.redis_url,
            metrics=StatusCacheMetrics.create(app[METRICS].registry, buffer=app[METRICS].buffer),
            max_staleness=settings.status_max_staleness,
        )
        await cache.start()
        # Give the subscription a moment so a healthy start is not degraded.
        await cache.wait_subscribed(1.0)
        app[STATUS_CACHE] = cache
        try:
            yield
        finally:
            await cache.close()

    return ctx
