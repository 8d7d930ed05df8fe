"""The service's middlewares, outermost first: metrics → errors → auth.

- ``metrics_middleware`` is outermost so it times and counts every request
  with its final status, including 401s, 404s and rendered 500s; requests
  of an authenticated partner (even if then refused with 403/429) are also
  counted per partner, with bounded labels (:mod:`pyservice.partners.metrics`).
  It also queues the usage (audit) record of each call
  (:func:`audit_call`, :mod:`pyservice.usage`), with the final status or
  error code, 401/403/429 and public pages included.
- ``error_middleware`` is the one place that maps exceptions to HTTP: it
  assigns the request id and renders the JSON error shape of api.md,
  ``{"error": {"code", "message", "request_id"}}``.
- ``auth_middleware`` authenticates the partner of every non-public route
  (:mod:`pyservice.auth.authenticate`) and sets ``request[CALLER]``; a
  public route gets ``None``. It also reads the purpose an authenticated
  caller declares (``X-Sidian-Purpose``) for the usage record. Unrouted
  requests (404/405) pass through.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from pyservice.appkeys import (
    AUTHENTICATOR,
    CALLER,
    ERROR_CODE,
    METRICS,
    PARTNER_ID,
    PARTNER_METRICS,
    PURPOSE,
    REQUEST_ID,
    USAGE,
    USAGE_RECORDED,
)
from pyservice.auth.routes import AUTHENTICATED, PUBLIC, required_scope
from pyservice.crypto import PanicException
from pyservice.errors import SidianError
from pyservice.responses import json_response
from pyservice.usage import PURPOSE_HEADER, check_purpose

__all__ = [
    "MIDDLEWARES",
    "UNAUDITED_ROUTES",
    "audit_call",
    "auth_middleware",
    "error_middleware",
    "metrics_middleware",
]

log = logging.getLogger(__name__)

#: Error codes for HTTP errors raised by aiohttp or by handlers (api.md).
HTTP_ERROR_CODES: Final[dict[int, str]] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "unavailable",
}

#: What a 503 tells the client (the code says which dependency check failed).
_UNAVAILABLE: Final = "a dependency of the service is unavailable; retry later"

# Headers of a raised HTTPException worth keeping on the JSON error.
_KEPT_HEADERS: Final = ("Allow", "Retry-After", "WWW-Authenticate")


# Request ids: a random prefix per process and a counter, 32 hex digits like
# a UUID's, unique across workers and restarts without a random draw (a
# system call) per request. They name requests in logs and answers; they
# are not secrets.
_REQUEST_ID_PREFIX: Final = secrets.token_hex(8)
_request_counter = itertools.count()


def new_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_counter):016x}"


def route_label(request: web.Request) -> str:
    """A bounded metrics label: route name, else its template."""
    match_info = request.match_info
    if match_info.http_exception is not None:
        return "unmatched"
    route = match_info.route
    if route.name:
        return route.name
    resource = route.resource
    return resource.canonical if resource is not None else "unknown"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # a non-error HTTPException (redirect) passes through
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # client went away
        raise
    finally:
        label = route_label(request)
        elapsed = time.perf_counter() - start
        request.app[METRICS].observe(label, status, elapsed)
        partner = request.get(PARTNER_ID)
        if partner is not None:
            request.app[PARTNER_METRICS].observe(partner, status)
        audit_call(request, label, status, elapsed)


#: Routes whose calls get no audit record: the probes, the metrics scrape,
#: the API description and its docs page (no partner data, and polled often).
UNAUDITED_ROUTES: Final = frozenset({"healthz", "readyz", "metrics", "openapi", "docs"})

#: Path prefixes (route templates) whose ``{id}`` names a licence; a
#: ``{es_id}`` anywhere names a seal.
_LICENCE_ROUTE_PREFIXES: Final = ("/v1/licences/", "/holder/")


def _audit_target(request: web.Request) -> str | None:
    """The licence id or seal esID the call names in its path, if any."""
    match_info = request.match_info
    es_id = match_info.get("es_id")
    if es_id is not None:
        return es_id
    licence_id = match_info.get("id")
    if licence_id is None:
        return None
    resource = match_info.route.resource
    canonical = "" if resource is None else resource.canonical
    return licence_id if canonical.startswith(_LICENCE_ROUTE_PREFIXES) else None


def audit_call(request: web.Request, label: str, status: int, elapsed: float) -> None:
    """Queue the usage record of one call (security.md §Audit and evidence),
    from :func:`metrics_middleware`, which sees every answer with its final
    status: time, partner (once its signature verified; ``None`` on public
    routes and for calls refused before that), route name (``unmatched`` for
    a 404/405), the keyed hash of the licence or seal named in the path, the
    result (the error code of an error answer, else the HTTP status),
    latency, request id, client address and the declared purpose. Every call is recorded, 4xx
    included (the evidence of refused access), public pages too, except the
    routes of :data:`UNAUDITED_ROUTES` (``/healthz``, ``/readyz``,
    ``/metrics``, ``/openapi.json``, ``/docs``). A verification handler
    records its own call (with its verdict and receipt,
    :func:`pyservice.handlers.support.receipt_for`; a batch, one per item
    verified); nothing is added then.
    No I/O: the record is queued (:meth:`UsageRecorder.record_call`)."""
    if label in UNAUDITED_ROUTES or request.get(USAGE_RECORDED, False):
        return
    usage = request.app.get(USAGE)
    if usage is None:  # not started (or already stopped)
        return
    usage.record_call(
        endpoint=label,
        target_id=_audit_target(request),
        result=request.get(ERROR_CODE, str(status)) if status >= 400 else str(status),
        latency=elapsed,
        request_id=request.get(REQUEST_ID, ""),
        partner_id=request.get(PARTNER_ID),
        client=request.remote,
        purpose=request.get(PURPOSE),
    )


def error_response(request_id: str, status: int, code: str, message: str) -> web.Response:
    return json_response(
        {"error": {"code": code, "message": message, "request_id": request_id}}, status=status
    )


def _error_code(status: int) -> str:
    return HTTP_ERROR_CODES.get(status) or ("internal" if status >= 500 else "error")


def _http_error(request_id: str, exc: web.HTTPException) -> web.Response:
    code = _error_code(exc.status)
    default_text = f"{exc.status}: {exc.reason}"
    message = exc.text if exc.text and exc.text != default_text else exc.reason
    response = error_response(request_id, exc.status, code, message)
    for name in _KEPT_HEADERS:
        if name in exc.headers:
            response.headers[name] = exc.headers[name]
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = new_request_id()
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _http_error(request_id, exc)
        request[ERROR_CODE] = _error_code(exc.status)
    except SidianError as exc:
        request[ERROR_CODE] = exc.code
        if exc.http_status == 503:
            # A dependency is down (Redis, the store): expected, and possibly
            # on every request for a while, so one line and no traceback.
            cause = exc.__cause__
            reason = type(cause).__name__ if cause is not None else str(exc)
            log.warning("%s (request %s): %s", exc.code, request_id, reason)
            response = error_response(request_id, 503, exc.code, _UNAVAILABLE)
        elif exc.http_status >= 500:
            log.exception("internal error (request %s)", request_id)
            response = error_response(request_id, exc.http_status, exc.code, "internal error")
        else:
            response = error_response(request_id, exc.http_status, exc.code, str(exc))
        extra = getattr(exc, "headers", None)
        if callable(extra):  # Retry-After of a 429, WWW-Authenticate of a 401
            response.headers.update(extra())
    except (Exception, PanicException):
        # A 500 is a bug: log it with the request id, tell the client nothing more.
        log.exception("unhandled error (request %s)", request_id)
        request[ERROR_CODE] = "internal"
        response = error_response(request_id, 500, "internal", "internal error")
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    match_info = request.match_info
    if match_info.http_exception is not None:
        return await handler(request)  # 404/405: nothing to protect
    scope = required_scope(match_info.handler)
    if scope == PUBLIC:
        request[CALLER] = None
    else:
        authenticator = request.app[AUTHENTICATOR]
        signed = await authenticator.verify(request)
        request[PARTNER_ID] = signed.partner.id  # counted per partner from here on
        needed = None if scope == AUTHENTICATED else scope
        request[CALLER] = await authenticator.admit(signed, needed)
        # The declared purpose goes into the call's usage record (400
        # malformed_purpose before any work if it is not acceptable).
        request[PURPOSE] = check_purpose(request.headers.get(PURPOSE_HEADER))
    return await handler(request)


MIDDLEWARES: Final = (metrics_middleware, error_middleware, auth_middleware)
