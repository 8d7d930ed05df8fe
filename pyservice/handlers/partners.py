"""Access applications over HTTP (用证申请审核, security.md §Partners).

Partner side (any authenticated partner, whatever its grant):
- ``POST /v1/partner/applications`` ``{"purpose", "scopes", "licence_types"?, "issuers"?}``
- ``GET /v1/partner/applications`` — its own applications.

Admin side (scope ``admin``):
- ``GET /v1/admin/partners`` — partners and holder credentials (never a secret);
- ``GET /v1/admin/partners/{id}`` — one of them;
- ``POST /v1/admin/partners/{id}/suspend`` and ``…/resume``;
- ``POST /v1/admin/partners/{id}/rotate-secret`` — the new secret, shown
  once in the response; the old one stops working at once in this process
  (within the registry's cache time in other workers);
- ``GET /v1/admin/applications?status=&partner=&overdue=true``;
- ``GET /v1/admin/applications/{id}``;
- ``POST /v1/admin/applications/{id}/approve`` ``{"scopes"?, "licence_types"?,
  "issuers"?, "reason"?}`` — omitted lists mean "as applied for";
- ``POST /v1/admin/applications/{id}/reject`` ``{"reason"}``.

Suspend, resume and rotation are ledger entries (:mod:`pyservice.partners.admin`,
shared with the CLI); their answers carry the entry's ``ledger_index``.
A holder credential may not apply for access (403 ``not_a_partner``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

import orjson
from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import APPLICATIONS, CALLER, LEDGER, PARTNER_ADMIN, PARTNERS
from pyservice.auth.routes import authenticated, requires
from pyservice.errors import MalformedInputError
from pyservice.partners.applications import APPLICATION_STATUSES, application_json
from pyservice.partners.policy import Caller
from pyservice.responses import json_response

__all__ = ["OPENAPI", "routes"]

routes = web.RouteTableDef()

_T = TypeVar("_T")
_MAX_LIST: Final = 200


def _caller(request: web.Request) -> Caller:
    caller = request[CALLER]
    if caller is None:  # the route declarations make this unreachable
        raise web.HTTPUnauthorized()
    return caller


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise MalformedInputError("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise MalformedInputError("the body must be a JSON object")
    return data


def _strings(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > _MAX_LIST
        or not all(isinstance(v, str) for v in value)
    ):
        raise MalformedInputError(f"{name!r} must be a list of strings")
    return value


def _string(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise MalformedInputError(f"{name!r} must be a string")
    return value


async def _run(func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Store I/O off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: func(*args, **kwargs))


def _now_ms() -> int:
    return int(time.time() * 1000)


@routes.post("/v1/partner/applications", name="partner_apply")
@authenticated
async def partner_apply(request: web.Request) -> web.Response:
    """File an access application for the calling partner."""
    caller = _caller(request)
    body = await _body(request)
    row = await _run(
        request.app[APPLICATIONS].apply,
        caller.partner_id,
        purpose=_string(body, "purpose"),
        scopes=_strings(body, "scopes") or [],
        licence_types=_strings(body, "licence_types") or [],
        issuers=_strings(body, "issuers") or [],
    )
    return json_response(application_json(row, _now_ms()), status=201)


@routes.get("/v1/partner/applications", name="partner_applications")
@authenticated
async def partner_applications(request: web.Request) -> web.Response:
    """The calling partner's applications, oldest first."""
    caller = _caller(request)
    rows = await _run(request.app[APPLICATIONS].list, partner_id=caller.partner_id)
    now = _now_ms()
    return json_response({"applications": [application_json(r, now) for r in rows]})


@routes.get("/v1/admin/partners", name="admin_partners")
@requires("admin")
async def admin_partners(request: web.Request) -> web.Response:
    """Every partner (never a secret)."""
    partners = await _run(request.app[PARTNERS].list)
    return json_response({"partners": [p.to_json() for p in partners]})


@routes.get("/v1/admin/partners/{id}", name="admin_partner")
@requires("admin")
async def admin_partner(request: web.Request) -> web.Response:
    partner = await _run(request.app[PARTNERS].get, request.match_info["id"])
    return json_response(partner.to_json())


def _actor(request: web.Request) -> str:
    return f"partner:{_caller(request).partner_id}"


async def _admin_action(
    request: web.Request, action: Callable[..., tuple[_T, int]]
) -> tuple[_T, int]:
    """An administrative action on the partner ``{id}`` (store write and
    its ledger entry) on the ledger's writer thread."""
    partner_id = request.match_info["id"]
    actor = _actor(request)
    return await request.app[LEDGER].run_in_writer(lambda: action(partner_id, actor=actor))


@routes.post("/v1/admin/partners/{id}/suspend", name="admin_partner_suspend")
@requires("admin")
async def admin_partner_suspend(request: web.Request) -> web.Response:
    """Suspend: the partner's requests get 401 ``partner_suspended``."""
    partner, index = await _admin_action(request, request.app[PARTNER_ADMIN].suspend)
    return json_response({"partner": partner.to_json(), "ledger_index": index})


@routes.post("/v1/admin/partners/{id}/resume", name="admin_partner_resume")
@requires("admin")
async def admin_partner_resume(request: web.Request) -> web.Response:
    partner, index = await _admin_action(request, request.app[PARTNER_ADMIN].resume)
    return json_response({"partner": partner.to_json(), "ledger_index": index})


@routes.post("/v1/admin/partners/{id}/rotate-secret", name="admin_partner_rotate")
@requires("admin")
async def admin_partner_rotate(request: web.Request) -> web.Response:
    """A new secret, shown only in this response; the old one stops working."""
    new, index = await _admin_action(request, request.app[PARTNER_ADMIN].rotate_secret)
    response = json_response({**new.to_json(), "ledger_index": index})
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/v1/admin/applications", name="admin_applications")
@requires("admin")
async def admin_applications(request: web.Request) -> web.Response:
    """Applications, filtered by status and partner, or only the overdue ones."""
    status = request.query.get("status") or None
    partner = request.query.get("partner") or None
    overdue = request.query.get("overdue", "false")
    if overdue not in {"true", "false"}:
        raise MalformedInputError("'overdue' must be true or false")
    applications = request.app[APPLICATIONS]
    now = _now_ms()
    if overdue == "true":
        rows = [
            r
            for r in await _run(applications.overdue, now)
            if partner is None or r.partner_id == partner
        ]
    else:
        rows = await _run(applications.list, status=status, partner_id=partner)
    return json_response({"applications": [application_json(r, now) for r in rows]})


@routes.get("/v1/admin/applications/{id}", name="admin_application")
@requires("admin")
async def admin_application(request: web.Request) -> web.Response:
    row = await _run(request.app[APPLICATIONS].get, request.match_info["id"])
    return json_response(application_json(row, _now_ms()))


@routes.post("/v1/admin/applications/{id}/approve", name="admin_approve")
@requires("admin")
async def admin_approve(request: web.Request) -> web.Response:
    """Approve: the partner's grant becomes exactly what is approved."""
    caller = _caller(request)
    body = await _body(request)
    row = await _run(
        request.app[APPLICATIONS].approve,
        request.match_info["id"],
        by=caller.partner_id,
        scopes=_strings(body, "scopes"),
        licence_types=_strings(body, "licence_types"),
        issuers=_strings(body, "issuers"),
        reason=_string(body, "reason", ""),
    )
    return json_response(application_json(row, _now_ms()))


@routes.post("/v1/admin/applications/{id}/reject", name="admin_reject")
@requires("admin")
async def admin_reject(request: web.Request) -> web.Response:
    """Reject with a reason."""
    caller = _caller(request)
    body = await _body(request)
    row = await _run(
        request.app[APPLICATIONS].reject,
        request.match_info["id"],
        by=caller.partner_id,
        reason=_string(body, "reason"),
    )
    return json_response(application_json(row, _now_ms()))


# ---------------------------------------------------------------- OpenAPI --

_STRINGS: Final = {"type": "array", "items": {"type": "string"}}
_TIME: Final = {"type": "string", "format": "date-time"}
_NULLABLE_STRING: Final = {"oneOf": [{"type": "string"}, {"type": "null"}]}
APPLICATION_SCHEMA: Final = openapi.strict_object(
    {
        "id": {"type": "string"},
        "partner_id": {"type": "string"},
        "purpose": {"type": "string"},
        "scopes": _STRINGS,
        "licence_types": {**_STRINGS, "description": "empty: any"},
        "issuers": {**_STRINGS, "description": "empty: any"},
        "status": {"type": "string", "enum": list(APPLICATION_STATUSES)},
        "submitted_at": _TIME,
        "due_at": {**_TIME, "description": "end of the 5th working day (Beijing time)"},
        "overdue": {"type": "boolean"},
        "decided_at": {"oneOf": [_TIME, {"type": "null"}]},
        "decided_by": _NULLABLE_STRING,
        "reason": _NULLABLE_STRING,
        "granted": openapi.strict_object(
            {"scopes": _STRINGS, "licence_types": _STRINGS, "issuers": _STRINGS}
        ),
    }
)
_APPLICATION_LIST: Final = openapi.strict_object(
    {"applications": {"type": "array", "items": APPLICATION_SCHEMA}}
)
_PARTNER_SCHEMA: Final = openapi.strict_object(
    {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": ["partner", "holder"]},
        "name": {"type": "string"},
        "contact": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "suspended"]},
        "scopes": _STRINGS,
        "licence_types": _STRINGS,
        "issuers": _STRINGS,
        "rate_per_s": {"type": "number"},
        "single_use_tokens": {"type": "boolean"},
        "created_at": {"type": "integer", "description": "unix milliseconds"},
        "secret_rotated_at": {"type": "integer", "description": "unix milliseconds"},
    }
)
_PARTNER_CHANGE: Final = openapi.strict_object(
    {"partner": _PARTNER_SCHEMA, "ledger_index": {"type": "integer", "minimum": 0}}
)
_ID_PARAM: Final = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_AUTH_ERRORS: Final = (400, 401, 403, 429, 503)


def _operation(
    operation_id: str,
    tag: str,
    summary: str,
    ok_status: int,
    ok_schema: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = _AUTH_ERRORS,
) -> dict[str, Any]:
    return openapi.operation(
        operation_id,
        tag,
        summary,
        ok_status,
        ok_schema,
        errors=errors,
        body=body,
        parameters=parameters,
    )


_APPLY_BODY: Final = {
    "type": "object",
    "properties": {
        "purpose": {"type": "string", "maxLength": 1000},
        "scopes": _STRINGS,
        "licence_types": _STRINGS,
        "issuers": _STRINGS,
    },
    "required": ["purpose", "scopes"],
    "additionalProperties": False,
}
_APPROVE_BODY: Final = {
    "type": "object",
    "properties": {
        "scopes": _STRINGS,
        "licence_types": _STRINGS,
        "issuers": _STRINGS,
        "reason": {"type": "string"},
    },
    "additionalProperties": False,
}
_REJECT_BODY: Final = {
    "type": "object",
    "properties": {"reason": {"type": "string", "minLength": 1}},
    "required": ["reason"],
    "additionalProperties": False,
}

OPENAPI: Final = {
    "/v1/partner/applications": {
        "post": _operation(
            "partner_apply",
            "partners",
            "Apply for access (scopes, licence types, issuers) with a purpose",
            201,
            APPLICATION_SCHEMA,
            body=_APPLY_BODY,
            errors=(*_AUTH_ERRORS, 404),
        ),
        "get": _operation(
            "partner_applications",
            "partners",
            "The calling partner's access applications",
            200,
            _APPLICATION_LIST,
        ),
    },
    "/v1/admin/partners": {
        "get": _operation(
            "admin_partners",
            "admin",
            "Partners and holder credentials (without secrets)",
            200,
            openapi.strict_object({"partners": {"type": "array", "items": _PARTNER_SCHEMA}}),
        )
    },
    "/v1/admin/partners/{id}": {
        "get": _operation(
            "admin_partner",
            "admin",
            "One partner or holder credential (without its secret)",
            200,
            _PARTNER_SCHEMA,
            parameters=[_ID_PARAM],
            errors=(*_AUTH_ERRORS, 404),
        )
    },
    **{
        f"/v1/admin/partners/{{id}}/{action}": {
            "post": _operation(
                f"admin_partner_{action}",
                "admin",
                summary,
                200,
                _PARTNER_CHANGE,
                parameters=[_ID_PARAM],
                errors=(*_AUTH_ERRORS, 404),
            )
        }
        for action, summary in (
            ("suspend", "Suspend a partner (a ledger entry)"),
            ("resume", "Make a suspended partner active again (a ledger entry)"),
        )
    },
    "/v1/admin/partners/{id}/rotate-secret": {
        "post": _operation(
            "admin_partner_rotate",
            "admin",
            "Issue a new secret, shown only in this response (a ledger entry)",
            200,
            openapi.strict_object(
                {
                    "id": {"type": "string"},
                    "secret": {"type": "string"},
                    "ledger_index": {"type": "integer", "minimum": 0},
                }
            ),
            parameters=[_ID_PARAM],
            errors=(*_AUTH_ERRORS, 404),
        )
    },
    "/v1/admin/applications": {
        "get": _operation(
            "admin_applications",
            "admin",
            "Access applications, by status or partner, or the overdue ones",
            200,
            _APPLICATION_LIST,
            parameters=[
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(APPLICATION_STATUSES)},
                },
                {"name": "partner", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "overdue",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                },
            ],
        )
    },
    "/v1/admin/applications/{id}": {
        "get": _operation(
            "admin_application",
            "admin",
            "One access application",
            200,
            APPLICATION_SCHEMA,
            parameters=[_ID_PARAM],
            errors=(*_AUTH_ERRORS, 404),
        )
    },
    "/v1/admin/applications/{id}/approve": {
        "post": _operation(
            "admin_approve",
            "admin",
            "Approve (the partner's grant becomes exactly what is approved)",
            200,
            APPLICATION_SCHEMA,
            body=_APPROVE_BODY,
            parameters=[_ID_PARAM],
            errors=(*_AUTH_ERRORS, 404, 409, 422),
        )
    },
    "/v1/admin/applications/{id}/reject": {
        "post": _operation(
            "admin_reject",
            "admin",
            "Reject with a reason",
            200,
            APPLICATION_SCHEMA,
            body=_REJECT_BODY,
            parameters=[_ID_PARAM],
            errors=(*_AUTH_ERRORS, 404, 409),
        )
    },
}
