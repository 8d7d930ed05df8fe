"""Trust material for offline verifiers (api.md §Ledger and trust): the
signed trust list and the per-issuer signed status lists. Public, with an
``ETag`` and ``If-None-Match`` → 304.

Trust list: ``{"list": {"issued_at": ms, "keys": [...]}, "kid", "signature"}``
where ``signature`` is base64 of the platform ledger key's SM2 signature
(DER, default signer ID) over the canonical JSON of ``list``.

Status list: the token of :mod:`pyservice.statuslist`, signed by the
issuer's active licence key (which verifiers already trust for the
issuer's licences), subject the issuer code, valid for an hour.
"""

from __future__ import annotations

import base64
import time
from typing import Any, Final

from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import KEYRING, STORE
from pyservice.auth.routes import public
from pyservice.canonical import canonical_json
from pyservice.crypto import sm3
from pyservice.errors import MalformedInputError, NotFoundError, SidianError
from pyservice.registry.validate import validate_issuer_code
from pyservice.responses import json_response
from pyservice.statuslist import (
    MAX_ENTRIES,
    MIN_ENTRIES,
    StatusList,
    list_status,
    sign_status_list,
)
from pyservice.verify.service import in_store

__all__ = ["OPENAPI", "STATUS_LIST_LIFETIME", "routes"]

routes = web.RouteTableDef()

STATUS_LIST_LIFETIME: Final = 3600
_STATUS_LIST_TTL: Final = 300
_CACHE: Final = "public, max-age=60"


def _etag(body: bytes) -> str:
    return '"' + sm3(body)[:16].hex() + '"'


def _not_modified(request: web.Request, etag: str) -> bool:
    tags = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
    return etag in tags


@routes.get("/v1/trust-list", name="trust_list")
@public
async def trust_list(request: web.Request) -> web.Response:
    """Every issuer and platform key (kid, key, owner, purpose, window,
    status), signed by the platform ledger key."""
    keyring = request.app[KEYRING]

    def build() -> dict[str, Any]:
        keys = [key.to_json() for key in keyring.trust_list()]
        listing = {"issued_at": int(time.time() * 1000), "keys": keys}
        signer = keyring.platform_key("ledger")
        return {
            "list": listing,
            "kid": signer.public_key().kid(),
            "signature": base64.b64encode(signer.sign(canonical_json(listing))).decode(),
        }

    data = await in_store(build)
    # The ETag covers the keys, not the signing time.
    etag = _etag(canonical_json(data["list"]["keys"]))
    if _not_modified(request, etag):
        return web.Response(status=304, headers={"ETag": etag, "Cache-Control": _CACHE})
    response = json_response(data)
    response.headers.update({"ETag": etag, "Cache-Control": _CACHE})
    return response


@routes.get("/v1/status-lists/{issuer}", name="status_list")
@public
async def status_list(request: web.Request) -> web.Response:
    """The issuer's signed 2-bit status list (formats.md §Status)."""
    issuer = request.match_info["issuer"]
    try:
        validate_issuer_code(issuer)
    except (ValueError, SidianError) as exc:
        raise MalformedInputError(f"bad issuer code: {exc}") from None
    store = request.app[STORE]
    keyring = request.app[KEYRING]

    def build() -> StatusList:
        if store.issuer_get(issuer) is None:
            raise NotFoundError(f"no issuer {issuer}")
        entries = [(idx, int(list_status(status))) for idx, status in store.status_list(issuer)]
        # At least MIN_ENTRIES, a multiple of 4, covering every position given out.
        needed = max((idx for idx, _ in entries), default=0) + 1
        size = max(MIN_ENTRIES, -(-needed // 4) * 4)
        if size > MAX_ENTRIES:
            raise MalformedInputError("status list too large to publish")  # never with real data
        return StatusList.from_statuses(entries, size=size)

    statuses = await in_store(build)
    etag = _etag(statuses.to_bytes())  # the statuses, not the signing time
    headers = {"ETag": etag, "Cache-Control": _CACHE}
    if _not_modified(request, etag):
        return web.Response(status=304, headers=headers)  # nothing to sign

    def sign() -> str:
        _, key = keyring.signing_key(issuer, "licence")
        now = int(time.time())
        return sign_status_list(
            key,
            statuses,
            subject=issuer,
            issued_at=now,
            expires_at=now + STATUS_LIST_LIFETIME,
            ttl=_STATUS_LIST_TTL,
        )

    token = await in_store(sign)
    response = json_response({"issuer": issuer, "token": token})
    response.headers.update(headers)
    return response


_OK_304: Final = {"304": {"description": "not modified (If-None-Match matched the ETag)"}}

OPENAPI: Final = {
    "/v1/trust-list": {
        "get": {
            "operationId": "trust_list",
            "tags": ["trust"],
            "summary": "Signed list of issuer and platform keys",
            "responses": {
                "200": {
                    "description": "the list, its signer and signature",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": openapi.json_content(
                        {
                            "type": "object",
                            "properties": {
                                "list": {
                                    "type": "object",
                                    "properties": {
                                        "issued_at": openapi.UINT,
                                        "keys": {"type": "array", "items": {"type": "object"}},
                                    },
                                    "required": ["issued_at", "keys"],
                                    "additionalProperties": False,
                                },
                                "kid": openapi.KID,
                                "signature": openapi.BASE64,
                            },
                            "required": ["list", "kid", "signature"],
                            "additionalProperties": False,
                        }
                    ),
                },
                **_OK_304,
            },
        }
    },
    "/v1/status-lists/{issuer}": {
        "get": {
            "operationId": "status_list",
            "tags": ["trust"],
            "summary": "An issuer's signed status list (2 bits per licence)",
            "parameters": [
                {
                    "name": "issuer",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 18},
                }
            ],
            "responses": {
                "200": {
                    "description": "the signed status list token",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": openapi.json_content(
                        {
                            "type": "object",
                            "properties": {
                                "issuer": {"type": "string"},
                                "token": {"type": "string"},
                            },
                            "required": ["issuer", "token"],
                            "additionalProperties": False,
                        }
                    ),
                },
                **_OK_304,
                **openapi.error_responses(400, 404),
            },
        }
    },
}
