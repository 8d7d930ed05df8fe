"""Public ledger endpoints (api.md §Ledger and trust): signed tree head,
inclusion proof (with the STH it refers to), consistency proof, entries.

Every answer carries an ``ETag`` (a digest of the body) and honours
``If-None-Match`` with 304. Answers about a fixed tree size are immutable
and cached for a day; answers about "the latest" must revalidate.
"""

from __future__ import annotations

import base64
from typing import Any, Final

import orjson
from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import LEDGER
from pyservice.auth.routes import public
from pyservice.crypto import sm3
from pyservice.errors import MalformedInputError
from pyservice.ledger.service import MAX_ENTRIES_PAGE
from pyservice.ledger.sth import sth_to_json

__all__ = ["OPENAPI", "routes"]

routes = web.RouteTableDef()

_LATEST: Final = "public, no-cache"
_IMMUTABLE: Final = "public, max-age=86400, immutable"
_MAX_INT: Final = (1 << 63) - 1


def _cached(request: web.Request, data: Any, cache_control: str) -> web.Response:
    body = orjson.dumps(data)
    etag = '"' + sm3(body)[:16].hex() + '"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


def _optional_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    return _int_param(request, name)


def _int_param(request: web.Request, name: str) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        raise MalformedInputError(f"query parameter {name!r} is required")
    if not raw.isdigit() or len(raw) > 19 or int(raw) > _MAX_INT:
        raise MalformedInputError(f"query parameter {name!r} must be a non-negative integer")
    return int(raw)


def _hex32_param(request: web.Request, name: str) -> bytes:
    raw = request.query.get(name, "")
    if len(raw) != 64:
        raise MalformedInputError(f"query parameter {name!r} must be 64 hex digits")
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise MalformedInputError(f"query parameter {name!r} must be 64 hex digits") from None


@routes.get("/v1/ledger/sth", name="ledger_sth")
@public
async def get_sth(request: web.Request) -> web.Response:
    """The latest signed tree head."""
    sth = await request.app[LEDGER].head()
    return _cached(request, sth_to_json(sth), _LATEST)


@routes.get("/v1/ledger/proof/inclusion", name="ledger_inclusion")
@public
async def get_inclusion(request: web.Request) -> web.Response:
    """Inclusion proof of ``leaf_hash`` (hex) in the tree of ``tree_size``
    (a published STH; the latest if absent), with that STH."""
    leaf_hash = _hex32_param(request, "leaf_hash")
    tree_size = _optional_int(request, "tree_size")
    result = await request.app[LEDGER].inclusion_proof(leaf_hash, tree_size)
    data = result.to_json()
    return _cached(request, data, _LATEST if tree_size is None else _IMMUTABLE)


@routes.get("/v1/ledger/proof/consistency", name="ledger_consistency")
@public
async def get_consistency(request: web.Request) -> web.Response:
    """Consistency proof between tree sizes ``first`` and ``second``."""
    first = _int_param(request, "first")
    second = _int_param(request, "second")
    result = await request.app[LEDGER].consistency_proof(first, second)
    data = result.to_json()
    return _cached(request, data, _IMMUTABLE)


@routes.get("/v1/ledger/entries", name="ledger_entries")
@public
async def get_entries(request: web.Request) -> web.Response:
    """Entries ``start <= index < end`` (at most MAX_ENTRIES_PAGE); each
    entry's canonical bytes as base64, so clients rehash exactly them."""
    start = _int_param(request, "start")
    end = _int_param(request, "end")
    if end > start and end - start > MAX_ENTRIES_PAGE:
        raise MalformedInputError(f"at most {MAX_ENTRIES_PAGE} entries per page")
    rows = await request.app[LEDGER].entries(start, end)
    data = {
        "start": start,
        "end": end,
        "entries": [
            {
                "index": row.index,
                "leaf_hash": row.leaf_hash.hex(),
                "entry": base64.b64encode(row.entry).decode("ascii"),
            }
            for row in rows
        ],
    }
    return _cached(request, data, _IMMUTABLE)


def _query(name: str, description: str, *, required: bool = True, hex32: bool = False) -> Any:
    schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"} if hex32 else openapi.UINT
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def _cached_ok(schema: str, description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "headers": {"ETag": {"schema": {"type": "string"}}},
            "content": openapi.json_content(openapi.ref(schema)),
        },
        "304": {"description": "not modified (If-None-Match matched the ETag)"},
    }


OPENAPI: Final = {
    "/v1/ledger/sth": {
        "get": {
            "operationId": "ledger_sth",
            "tags": ["ledger"],
            "summary": "The latest signed tree head",
            "responses": {
                **_cached_ok("SignedTreeHead", "the latest STH"),
                **openapi.error_responses(404),
            },
        }
    },
    "/v1/ledger/proof/inclusion": {
        "get": {
            "operationId": "ledger_inclusion",
            "tags": ["ledger"],
            "summary": "Inclusion proof of a leaf, with the STH it refers to",
            "parameters": [
                _query("leaf_hash", "SM3(0x00 ‖ entry), hex", hex32=True),
                _query("tree_size", "a published tree size (default: latest)", required=False),
            ],
            "responses": {
                **_cached_ok("InclusionProof", "the proof and its STH"),
                **openapi.error_responses(400, 404),
            },
        }
    },
    "/v1/ledger/proof/consistency": {
        "get": {
            "operationId": "ledger_consistency",
            "tags": ["ledger"],
            "summary": "Consistency proof between two tree sizes",
            "parameters": [
                _query("first", "older tree size"),
                _query("second", "newer tree size"),
            ],
            "responses": {
                **_cached_ok("ConsistencyProof", "the proof and both STHs"),
                **openapi.error_responses(400, 404),
            },
        }
    },
    "/v1/ledger/entries": {
        "get": {
            "operationId": "ledger_entries",
            "tags": ["ledger"],
            "summary": f"Entries start <= index < end (at most {MAX_ENTRIES_PAGE})",
            "parameters": [_query("start", "first index"), _query("end", "one past the last")],
            "responses": {
                **_cached_ok("LedgerEntries", "the entries' canonical bytes"),
                **openapi.error_responses(400, 404),
            },
        }
    },
}
