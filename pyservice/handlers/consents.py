"""A holder's explicit consents to full disclosure (security.md §Sensitive
data), given with the holder credential of the licence's holder:

- ``POST /v1/licences/{id}/consents`` ``{"partner": "p_…", "days"?: 1..3650}``
  — the partner may see this licence's classified fields in full (if it
  also holds ``licence:read-full``), until revoked or for ``days``;
- ``DELETE /v1/licences/{id}/consents/{partner}`` — withdraw it.

Both are ledger entries (``consent.granted`` / ``consent.revoked``, actor
``holder:<credential id>``, the licence by its keyed hash), written by
:class:`~pyservice.partners.admin.PartnerAdmin` as the CLI's ``sidian
partner consent`` is. Another holder's licence or an unknown one: 403
``not_holder``; an unknown partner (or a holder credential named as the
partner): 404 ``unknown_partner``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import LEDGER, PARTNER_ADMIN
from pyservice.auth.routes import requires
from pyservice.errors import MalformedInputError
from pyservice.handlers.licences import ID_PARAM, licence_id_of, own_licence
from pyservice.handlers.support import caller_of, json_body, request_schema, strict_object
from pyservice.responses import json_response
from pyservice.verify.result import iso_ms

__all__ = ["OPENAPI", "routes"]

routes = web.RouteTableDef()

MAX_CONSENT_DAYS: Final = 3650
_DAY_MS: Final = 86_400_000


def _actor(request: web.Request) -> str:
    caller = caller_of(request)
    if caller is None:  # the route declarations make this unreachable
        raise web.HTTPUnauthorized()
    return f"holder:{caller.partner_id}"


def _grant_request(obj: Any) -> tuple[str, int | None]:
    if not isinstance(obj, dict) or "partner" not in obj or not set(obj) <= {"partner", "days"}:
        raise MalformedInputError('request must be {"partner": id, "days"?: 1..3650}')
    partner, days = obj["partner"], obj.get("days")
    if not isinstance(partner, str) or not 1 <= len(partner) <= 64:
        raise MalformedInputError("partner must be a partner id")
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_CONSENT_DAYS
    ):
        raise MalformedInputError(f"days must be an integer in 1..{MAX_CONSENT_DAYS}")
    return partner, days


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso_ms(datetime.fromtimestamp(ms / 1000, UTC))


@routes.post("/v1/licences/{id}/consents", name="licence_consent_grant")
@requires("holder")
async def grant(request: web.Request) -> web.Response:
    """The holder consents to full disclosure of this licence to one partner."""
    licence_id = licence_id_of(request)
    partner_id, days = _grant_request(await json_body(request))
    await own_licence(request, licence_id)
    admin = request.app[PARTNER_ADMIN]
    actor = _actor(request)
    now = int(time.time() * 1000)
    expires = None if days is None else now + days * _DAY_MS
    row, index = await request.app[LEDGER].run_in_writer(
        lambda: admin.grant_consent(
            licence_id, partner_id, actor=actor, expires_at_ms=expires, now_ms=now
        )
    )
    return json_response(
        {
            "id": licence_id,
            "partner": row.partner_id,
            "granted_at": _iso(row.granted_at),
            "expires_at": _iso(row.expires_at),
            "ledger_index": index,
        },
        status=201,
    )


@routes.delete("/v1/licences/{id}/consents/{partner}", name="licence_consent_revoke")
@requires("holder")
async def revoke(request: web.Request) -> web.Response:
    """Withdraw a consent; ``revoked`` false (and no ledger entry) if there was none."""
    licence_id = licence_id_of(request)
    partner_id = request.match_info["partner"]
    await own_licence(request, licence_id)
    admin = request.app[PARTNER_ADMIN]
    actor = _actor(request)
    revoked, index = await request.app[LEDGER].run_in_writer(
        lambda: admin.revoke_consent(licence_id, partner_id, actor=actor)
    )
    return json_response({"id": licence_id, "revoked": revoked, "ledger_index": index})


_PARTNER_PARAM: Final = {
    "name": "partner",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}
_INDEX_OR_NULL: Final = {"oneOf": [openapi.UINT, {"type": "null"}]}

_ERRORS: Final = (400, 401, 403, 404, 429, 503)

OPENAPI: Final = {
    "/v1/licences/{id}/consents": {
        "post": openapi.operation(
            "licence_consent_grant",
            "licences",
            "The holder consents to full disclosure to one partner (a ledger entry)",
            201,
            strict_object(
                {
                    "id": {"type": "string"},
                    "partner": {"type": "string"},
                    "granted_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": ["string", "null"]},
                    "ledger_index": openapi.UINT,
                }
            ),
            errors=_ERRORS,
            parameters=[ID_PARAM],
            body=request_schema(
                {
                    "partner": {"type": "string", "minLength": 1, "maxLength": 64},
                    "days": {"type": "integer", "minimum": 1, "maximum": MAX_CONSENT_DAYS},
                },
                ["partner"],
            ),
        )
    },
    "/v1/licences/{id}/consents/{partner}": {
        "delete": openapi.operation(
            "licence_consent_revoke",
            "licences",
            "The holder withdraws a consent (a ledger entry if there was one)",
            200,
            strict_object(
                {
                    "id": {"type": "string"},
                    "revoked": {"type": "boolean"},
                    "ledger_index": _INDEX_OR_NULL,
                }
            ),
            errors=_ERRORS,
            parameters=[ID_PARAM, _PARTNER_PARAM],
        )
    },
}
