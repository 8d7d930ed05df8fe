"""The service's middlewares, outermost first: metrics → errors → auth.

- ``metrics_middleware`` is outermost so it times and counts every request
  with its final status, including 401s, 404s and rendered 500s; requests
  of an authenticated partner (even if then refused with 403/429) are also
  counted per partner, with bounded labels (:mod:`pyservice.partners.metrics`).
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
import logging
import time
import uuid
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from pyservice.appkeys import (
    AUTHENTICATOR,
    CALLER,
    METRICS,
    PARTNER_ID,
    PARTNER_METRICS,
    PURPOSE,
    REQUEST_ID,
)
from pyservice.auth.routes import AUTHENTICATED, PUBLIC, required_scope
from pyservice.crypto import PanicException
from pyservice.errors import SidianError
from pyservice.responses import json_response
from pyservice.usage import PURPOSE_HEADER, check_purpose

__all__ = ["MIDDLEWARES", "auth_middleware", "error_middleware", "metrics_middleware"]

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
        request.app[METRICS].observe(route_label(request), status, time.perf_counter() - start)
        partner = request.get(PARTNER_ID)
        if partner is not None:
            request.app[PARTNER_METRICS].observe(partner, status)


def error_response(request_id: str, status: int, code: str, message: str) -> web.Response:
    return json_response(
        {"error": {"code": code, "message": message, "request_id": request_id}}, status=status
    )


def _http_error(request_id: str, exc: web.HTTPException) -> web.Response:
    code = HTTP_ERROR_CODES.get(exc.status) or ("internal" if exc.status >= 500 else "error")
    default_text = f"{exc.status}: {exc.reason}"
    message = exc.text if exc.text and exc.text != default_text else exc.reason
    response = error_response(request_id, exc.status, code, message)
    for name in _KEPT_HEADERS:
        if name in exc.headers:
            response.headers[name] = exc.headers[name]
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _http_error(request_id, exc)
    except SidianError as exc:
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
