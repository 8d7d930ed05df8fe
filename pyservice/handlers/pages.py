"""Web pages: the scan page a phone camera opens (``GET /v/{token}``) and
the demo holder view with a refreshing QR (``GET /holder/{id}``).

The holder view shows a QR code for any licence without a credential (a
browser cannot sign SIDIAN-HMAC-SM3 requests), so it is served only when
``SIDIAN_DEMO_PAGES`` is on (``make run`` sets it); otherwise it is 404
``not_found`` like any unknown page. A real holder app uses its holder
credential with ``POST /v1/licences/{id}/qr``.

The scan page runs the same QR verification as ``POST /v1/verify/qr``
(public caller: the summary is always masked) and records its usage; a
token that does not decode gets the bad-code page with HTTP 400.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final

from aiohttp import web

from pyservice.appkeys import SETTINGS, VERIFIER
from pyservice.auth.routes import public
from pyservice.errors import MalformedInputError
from pyservice.handlers.licences import fresh_token
from pyservice.handlers.support import receipt_for
from pyservice.qr import DEFAULT_LIFETIME, licence_ref
from pyservice.registry.errors import UnknownLicenceError
from pyservice.web.pages import render_bad_code, render_holder, render_scan

__all__ = ["OPENAPI", "routes"]

routes = web.RouteTableDef()

_HTML: Final = "text/html"
_NO_STORE: Final = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
#: The holder page reloads this long before its token ends.
_REFRESH_MARGIN: Final = 30


@routes.get("/v/{token}", name="scan_page")
@public
async def scan_page(request: web.Request) -> web.Response:
    """The verdict page of a scanned QR code."""
    started = time.perf_counter()
    text = request.match_info["token"]
    try:
        result, _, licence_id, _ = await request.app[VERIFIER].verify_qr(text, None)
    except MalformedInputError as exc:
        return web.Response(
            text=render_bad_code(exc.code), status=400, content_type=_HTML, headers=_NO_STORE
        )
    receipt_for(request, kind="qr", result=result, licence_id=licence_id, started=started)
    page = render_scan(result.to_json(), checked_at=datetime.now(UTC))
    return web.Response(text=page, content_type=_HTML, headers=_NO_STORE)


@routes.get("/holder/{id}", name="holder_page")
@public
async def holder_page(request: web.Request) -> web.Response:
    """Demo holder view: the licence's QR, reloading before it expires
    (demo mode only, see the module docstring)."""
    if not request.app[SETTINGS].demo_pages:
        raise web.HTTPNotFound()
    licence_id = request.match_info["id"]
    if not 1 <= len(licence_id) <= 200:
        raise MalformedInputError("licence id must be 1..200 characters")
    summary = await request.app[VERIFIER].summary(licence_ref(licence_id))
    if summary is None or summary.licence_id != licence_id:
        raise UnknownLicenceError(f"no licence {licence_id}")
    token, expires = await fresh_token(request, licence_id, DEFAULT_LIFETIME, False)
    page = render_holder(
        licence=summary.masked,
        url=f"{request.scheme}://{request.host}/v/{token}",
        expires_at=datetime.fromtimestamp(expires, UTC),
        refresh_after=DEFAULT_LIFETIME - _REFRESH_MARGIN,
    )
    return web.Response(text=page, content_type=_HTML, headers=_NO_STORE)


def _page(operation_id: str, summary: str, param: str, extra: dict[str, object]) -> object:
    return {
        "get": {
            "operationId": operation_id,
            "tags": ["pages"],
            "summary": summary,
            "parameters": [
                {
                    "name": param,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                }
            ],
            "responses": {
                "200": {
                    "description": "the page",
                    "content": {_HTML: {"schema": {"type": "string"}}},
                },
                **extra,
            },
        }
    }


OPENAPI: Final = {
    "/v/{token}": _page(
        "scan_page",
        "The scan page (有效 / 无效 / 无法确定)",
        "token",
        {
            "400": {
                "description": "not a QR code",
                "content": {_HTML: {"schema": {"type": "string"}}},
            }
        },
    ),
    "/holder/{id}": _page(
        "holder_page",
        "Demo holder view with a refreshing QR (only with SIDIAN_DEMO_PAGES on)",
        "id",
        {
            "400": {
                "description": "malformed id",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "404": {
                "description": "unknown licence, or demo pages off",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    ),
}
