"""Licence status and QR endpoints (api.md §Verification, §Issuance and
lifecycle): read a status (through the status cache, with
``status_as_of``), change it (store → ledger → Redis → PUBLISH via the
registry hook; 409 for a transition formats.md does not allow), and issue
a fresh QR token for the holder app, and list who verified a licence.

The holder endpoints (scope ``holder``: ``POST /v1/licences/{id}/qr``,
``GET /v1/licences/{id}/usage``) take a holder credential, bound to one
holder: a licence of another holder, or one that does not exist, gets the
same 403 ``not_holder`` (no existence leak)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import KEYRING, PARTNERS, REGISTRY, STATUS_CACHE, STORE, VERIFIER
from pyservice.auth.routes import requires
from pyservice.errors import MalformedInputError, SidianError, StoreUnavailableError
from pyservice.handlers.support import caller_of, json_body, request_schema, strict_object
from pyservice.partners.policy import require_holder_of
from pyservice.qr import DEFAULT_LIFETIME, MAX_LIFETIME, licence_ref, make_token
from pyservice.registry.errors import UnknownLicenceError
from pyservice.registry.service import today_in_china
from pyservice.responses import json_response
from pyservice.usage import MAX_USAGE_PAGE, holder_usage, parse_cursor
from pyservice.verify.checks import check_status
from pyservice.verify.result import iso_ms
from pyservice.verify.service import in_store

__all__ = ["ID_PARAM", "OPENAPI", "fresh_token", "licence_id_of", "own_licence", "routes"]

routes = web.RouteTableDef()

_MAX_ID: Final = 200


def licence_id_of(request: web.Request) -> str:
    licence_id = request.match_info["id"]
    if not 1 <= len(licence_id) <= _MAX_ID:
        raise MalformedInputError(f"licence id must be 1..{_MAX_ID} characters")
    return licence_id


async def _allowed(request: web.Request, licence_id: str) -> None:
    """The caller may see this licence's type and issuer (404 if unknown)."""
    summary = await request.app[VERIFIER].summary(licence_ref(licence_id))
    if summary is None or summary.licence_id != licence_id:
        raise UnknownLicenceError(f"no licence {licence_id}")
    caller = caller_of(request)
    if caller is not None:
        caller.grant.require_licence(summary.type_code, summary.issuer_code)


async def own_licence(request: web.Request, licence_id: str) -> None:
    """The caller is the holder credential of this licence's holder (403
    ``not_holder`` otherwise, and for an unknown id alike)."""
    row = await in_store(request.app[STORE].licence_get, licence_id)
    require_holder_of(caller_of(request), None if row is None else row.holder_key)


@routes.get("/v1/licences/{id}/status", name="licence_status")
@requires("status:read")
async def get_status(request: web.Request) -> web.Response:
    """A licence's status, with when it was read from the store."""
    licence_id = licence_id_of(request)
    lookup = await request.app[STATUS_CACHE].lookup(licence_ref(licence_id))
    record = lookup.record
    if record is None or record.licence_id != licence_id:
        raise UnknownLicenceError(f"no licence {licence_id}")
    await _allowed(request, licence_id)
    status, check = check_status(record, today_in_china())
    return json_response(
        {
            "id": licence_id,
            "status": status,
            "detail": check.detail,
            "since": iso_ms(datetime.fromtimestamp(record.since, UTC)),
            "valid_until": None if record.valid_until is None else record.valid_until.isoformat(),
            "status_as_of": iso_ms(datetime.fromtimestamp(lookup.as_of, UTC)),
        }
    )


@routes.post("/v1/licences/{id}/status", name="licence_set_status")
@requires("status:write")
async def set_status(request: web.Request) -> web.Response:
    """Change a licence's status (``{"status", "reason"}``)."""
    licence_id = licence_id_of(request)
    obj = await json_body(request)
    if not isinstance(obj, dict) or set(obj) != {"status", "reason"}:
        raise MalformedInputError('request must be {"status": ..., "reason": ...}')
    status, reason = obj["status"], obj["reason"]
    if not isinstance(status, str) or not isinstance(reason, str):
        raise MalformedInputError("status and reason must be strings")
    await _allowed(request, licence_id)
    caller = caller_of(request)
    actor = "api" if caller is None else f"partner:{caller.partner_id}"
    try:
        changed = await request.app[REGISTRY].set_status(
            licence_id, status, reason=reason, actor=actor
        )
    except SidianError:
        raise
    except Exception as exc:  # the store refused the write
        raise StoreUnavailableError("the registry store is unavailable") from exc
    return json_response(
        {
            "id": changed.licence_id,
            "from": changed.from_status,
            "to": changed.to_status,
            "at": iso_ms(datetime.fromtimestamp(changed.at / 1000, UTC)),
            "ledger_index": changed.ledger_index,
        }
    )


def _qr_options(obj: Any) -> tuple[int, bool]:
    if obj is None:
        return DEFAULT_LIFETIME, False
    if not isinstance(obj, dict) or not set(obj) <= {"lifetime", "consent"}:
        raise MalformedInputError('request must be {"lifetime"?: seconds, "consent"?: bool}')
    lifetime = obj.get("lifetime", DEFAULT_LIFETIME)
    consent = obj.get("consent", False)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int):
        raise MalformedInputError("lifetime must be an integer")
    if not 30 <= lifetime <= MAX_LIFETIME:
        raise MalformedInputError(f"lifetime must be in 30..{MAX_LIFETIME} s")
    if not isinstance(consent, bool):
        raise MalformedInputError("consent must be a boolean")
    return lifetime, consent


async def fresh_token(
    request: web.Request, licence_id: str, lifetime: int, consent: bool
) -> tuple[str, int]:
    """A new QR token of a known licence and its expiry (unix s)."""
    summary = await request.app[VERIFIER].summary(licence_ref(licence_id))
    if summary is None or summary.licence_id != licence_id:
        raise UnknownLicenceError(f"no licence {licence_id}")
    kid_key = await in_store(request.app[KEYRING].qr_signing_key)
    now = int(time.time())
    token = make_token(kid_key[1], licence_id, now=now, lifetime=lifetime, consent=consent)
    return token, now + lifetime


@routes.post("/v1/licences/{id}/qr", name="licence_qr")
@requires("holder")
async def issue_qr(request: web.Request) -> web.Response:
    """A fresh QR token (default lifetime 180 s)."""
    licence_id = licence_id_of(request)
    raw = await request.read()
    lifetime, consent = _qr_options(None if not raw.strip() else await json_body(request))
    await own_licence(request, licence_id)
    token, expires = await fresh_token(request, licence_id, lifetime, consent)
    return json_response(
        {
            "token": token,
            "url": f"{request.scheme}://{request.host}/v/{token}",
            "expires_at": iso_ms(datetime.fromtimestamp(expires, UTC)),
        }
    )


class MalformedLimitError(MalformedInputError):
    code = "malformed_limit"


def _limit(text: str | None) -> int:
    if text is None:
        return 50
    if (
        not 1 <= len(text) <= 3
        or not text.isascii()
        or not text.isdigit()
        or not 1 <= int(text) <= MAX_USAGE_PAGE
    ):
        raise MalformedLimitError(f"limit must be an integer in 1..{MAX_USAGE_PAGE}")
    return int(text)


@routes.get("/v1/licences/{id}/usage", name="licence_usage")
@requires("holder")
async def licence_usage(request: web.Request) -> web.Response:
    """Who verified the caller's licence, when, with what result and for
    what declared purpose; newest first, paged with ``cursor``."""
    licence_id = licence_id_of(request)
    unknown = set(request.query) - {"limit", "cursor"}
    if unknown:
        raise MalformedInputError(f"unknown query parameter {sorted(unknown)[0]!r}")
    limit = _limit(request.query.get("limit"))
    cursor = parse_cursor(request.query.get("cursor"))
    await own_licence(request, licence_id)
    partners = request.app[PARTNERS]

    def name_of(partner_id: str) -> str | None:
        partner = partners.lookup(partner_id)
        return None if partner is None else partner.name

    target = request.app[KEYRING].usage_target(licence_id)
    records, next_cursor = await in_store(
        holder_usage, request.app[STORE], name_of, target, cursor, limit
    )
    return json_response({"id": licence_id, "records": records, "next_cursor": next_cursor})


ID_PARAM: Final = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "licence identifier (GB/T 36904)",
    "schema": {"type": "string", "minLength": 1, "maxLength": _MAX_ID},
}
_TIME: Final = {"type": "string", "format": "date-time"}
_STATUS_VIEW: Final = strict_object(
    {
        "id": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["VALID", "SUSPENDED", "REVOKED", "CANCELLED", "EXPIRED"],
        },
        "detail": {"type": ["string", "null"]},
        "since": _TIME,
        "valid_until": {"type": ["string", "null"]},
        "status_as_of": _TIME,
    }
)

_USAGE_RECORD: Final = strict_object(
    {
        "id": {"type": "string"},
        "at": _TIME,
        "partner": {
            "oneOf": [
                strict_object({"id": {"type": "string"}, "name": {"type": ["string", "null"]}}),
                {"type": "null"},
            ],
            "description": "null: the public scan page",
        },
        "endpoint": {"type": "string"},
        "result": {"type": "string"},
        "full_disclosure": {"type": "boolean"},
        "purpose": {"type": ["string", "null"]},
        "purpose_source": {"enum": ["declared", "application", None]},
    }
)

OPENAPI: Final = {
    "/v1/licences/{id}/status": {
        "get": {
            "operationId": "licence_status",
            "tags": ["licences"],
            "summary": "A licence's status, with status_as_of",
            "parameters": [ID_PARAM],
            "responses": {
                "200": {"description": "the status", "content": openapi.json_content(_STATUS_VIEW)},
                **openapi.error_responses(400, 401, 403, 404, 429, 503),
            },
        },
        "post": {
            "operationId": "licence_set_status",
            "tags": ["licences"],
            "summary": "Change a licence's status",
            "parameters": [ID_PARAM],
            "requestBody": {
                "required": True,
                "content": openapi.json_content(
                    request_schema(
                        {
                            "status": {
                                "type": "string",
                                "enum": ["VALID", "SUSPENDED", "REVOKED", "CANCELLED"],
                            },
                            "reason": {"type": "string", "minLength": 1, "maxLength": 512},
                        },
                        ["status", "reason"],
                    )
                ),
            },
            "responses": {
                "200": {
                    "description": "the change, committed to the store and the ledger",
                    "content": openapi.json_content(
                        strict_object(
                            {
                                "id": {"type": "string"},
                                "from": {"type": "string"},
                                "to": {"type": "string"},
                                "at": _TIME,
                                "ledger_index": openapi.UINT,
                            }
                        )
                    ),
                },
                **openapi.error_responses(400, 401, 403, 404, 409, 422, 429, 503),
            },
        },
    },
    "/v1/licences/{id}/qr": {
        "post": {
            "operationId": "licence_qr",
            "tags": ["licences"],
            "summary": "A fresh QR token for the holder (default lifetime 180 s)",
            "parameters": [ID_PARAM],
            "requestBody": {
                "required": False,
                "content": openapi.json_content(
                    request_schema(
                        {
                            "lifetime": {"type": "integer", "minimum": 30, "maximum": MAX_LIFETIME},
                            "consent": {"type": "boolean"},
                        },
                        [],
                    )
                ),
            },
            "responses": {
                "200": {
                    "description": "the token and its scan URL",
                    "content": openapi.json_content(
                        strict_object(
                            {
                                "token": {"type": "string"},
                                "url": {"type": "string"},
                                "expires_at": _TIME,
                            }
                        )
                    ),
                },
                **openapi.error_responses(400, 401, 403, 404, 429, 503),
            },
        }
    },
    "/v1/licences/{id}/usage": {
        "get": {
            "operationId": "licence_usage",
            "tags": ["licences"],
            "summary": "Who verified the holder's licence, when, and for what purpose",
            "description": "Holder credential of this licence's holder; another holder's "
            "licence and an unknown id both get 403 not_holder. Newest first; pass "
            "next_cursor as cursor for the next page.",
            "parameters": [
                ID_PARAM,
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_USAGE_PAGE},
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "a page of usage records",
                    "content": openapi.json_content(
                        strict_object(
                            {
                                "id": {"type": "string"},
                                "records": {"type": "array", "items": _USAGE_RECORD},
                                "next_cursor": {"type": ["string", "null"]},
                            }
                        )
                    ),
                },
                **openapi.error_responses(400, 401, 403, 429, 503),
            },
        }
    },
}
