"""The audit trail over HTTP (security.md §Audit and evidence), scope ``admin``:

``GET /v1/audit?partner=&licence=&since=&until=&result=&endpoint=&limit=&cursor=``
— usage records, newest first. ``licence`` is a licence id (or seal esID),
turned into its keyed hash here: the trail never holds ids in clear.
``since <= at < until`` (RFC 3339 with an offset). Paged: ``limit``
(default 100, at most 1000) and the opaque ``cursor`` of the previous page's
``next``. A bad, unknown or repeated parameter is a 400 with a stable code
(``invalid_query``, ``invalid_time``, ``invalid_cursor``, ``invalid_limit``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import KEYRING, STORE
from pyservice.audit import (
    AuditLimitError,
    AuditQueryError,
    AuditTimeError,
    decode_cursor,
    encode_cursor,
    parse_rfc3339_ms,
    record_json,
)
from pyservice.auth.routes import requires
from pyservice.responses import json_response

__all__ = ["OPENAPI", "routes"]

routes = web.RouteTableDef()

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
#: Longest accepted value of each text filter.
_MAX_LENGTHS: Final = {"partner": 64, "licence": 200, "result": 64, "endpoint": 64}
_PARAMETERS: Final = frozenset({*_MAX_LENGTHS, "since", "until", "limit", "cursor"})


def _query(request: web.Request) -> dict[str, str]:
    query = request.query
    values: dict[str, str] = {}
    for name in query:
        if name not in _PARAMETERS:
            raise AuditQueryError(f"unknown query parameter {name[:40]!r}")
        if name in values or len(query.getall(name)) > 1:
            raise AuditQueryError(f"query parameter {name!r} given more than once")
        values[name] = query[name]
    for name, longest in _MAX_LENGTHS.items():
        value = values.get(name)
        if value is not None and not 1 <= len(value) <= longest:
            raise AuditQueryError(f"{name!r} must be 1..{longest} characters")
    return values


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isascii() or not text.isdigit() or len(text) > 4 or not 1 <= int(text) <= MAX_LIMIT:
        raise AuditLimitError(f"'limit' must be an integer 1..{MAX_LIMIT}")
    return int(text)


@routes.get("/v1/audit", name="audit_records")
@requires("admin")
async def audit_records(request: web.Request) -> web.Response:
    """Usage (audit) records matching the filters, newest first, paged."""
    values = _query(request)
    limit = _limit(values.get("limit"))
    since = None if "since" not in values else parse_rfc3339_ms("since", values["since"])
    until = None if "until" not in values else parse_rfc3339_ms("until", values["until"])
    if since is not None and until is not None and since >= until:
        raise AuditTimeError("'since' must be before 'until'")
    before = None if "cursor" not in values else decode_cursor(values["cursor"])
    licence = values.get("licence")
    target = None if licence is None else request.app[KEYRING].usage_target(licence)
    rows = await asyncio.to_thread(
        request.app[STORE].usage_query,
        limit=limit + 1,  # one more: is there a next page?
        partner_id=values.get("partner"),
        target=target,
        since=since,
        until=until,
        result=values.get("result"),
        endpoint=values.get("endpoint"),
        before=before,
    )
    page = rows[:limit]
    following = encode_cursor(page[-1]) if len(rows) > limit else None
    return json_response({"records": [record_json(row) for row in page], "next": following})


_NULLABLE_STRING: Final = {"type": ["string", "null"]}
_RECORD: Final = openapi.strict_object(
    {
        "id": {"type": "string", "pattern": "^[0-9a-f]{24}$"},
        "at": {"type": "string", "format": "date-time"},
        "at_ms": openapi.UINT,
        "partner": _NULLABLE_STRING,
        "endpoint": {"type": "string"},
        "target": {"type": ["string", "null"], "pattern": "^[0-9a-f]{32}$"},
        "result": {"type": "string"},
        "latency_us": openapi.UINT,
        "request_id": {"type": "string"},
        "client": _NULLABLE_STRING,
        "full": {"type": "boolean", "description": "an unmasked (full) disclosure"},
        "batch_root": openapi.HEX32,
        "batch_pos": openapi.UINT,
    }
)


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_TIME: Final = {"type": "string", "format": "date-time"}

OPENAPI: Final = {
    "/v1/audit": {
        "get": {
            "operationId": "audit_records",
            "tags": ["admin"],
            "summary": "Usage (audit) records of every call, newest first, filtered and paged",
            "parameters": [
                _param("partner", "partner id", {"type": "string", "maxLength": 64}),
                _param(
                    "licence",
                    "licence id (or seal esID); matched by its keyed hash",
                    {"type": "string", "maxLength": 200},
                ),
                _param("since", "records at or after this time (RFC 3339)", _TIME),
                _param("until", "records before this time (RFC 3339)", _TIME),
                _param(
                    "result",
                    "a verdict (VALID, INVALID, UNDETERMINED), an error code, or an HTTP status",
                    {"type": "string", "maxLength": 64},
                ),
                _param("endpoint", "route name or verification kind", {"type": "string"}),
                _param(
                    "limit",
                    f"records per page (default {DEFAULT_LIMIT})",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                ),
                _param("cursor", "the previous page's next", {"type": "string"}),
            ],
            "responses": {
                "200": {
                    "description": "a page of records; next is null on the last page",
                    "content": openapi.json_content(
                        openapi.strict_object(
                            {
                                "records": {"type": "array", "items": _RECORD},
                                "next": _NULLABLE_STRING,
                            }
                        )
                    ),
                },
                **openapi.error_responses(400, 401, 403, 429, 503),
            },
        }
    }
}
