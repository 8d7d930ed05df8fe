"""Verification endpoints (api.md §Verification): QR token, signed licence
document, SM2 signature, and a batch of any of them.

Every answer that could parse its input is HTTP 200 with the result shape
of api.md, whatever the verdict; bad input is a 4xx error. The batch
answers per item, in order: a result, or ``{"error": {"code", "message"}}``
for an item that is bad input or not allowed.
"""

from __future__ import annotations

import time
from typing import Any, Final

import orjson
from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import REQUEST_ID, VERIFIER
from pyservice.auth.routes import requires
from pyservice.errors import MalformedInputError, SidianError
from pyservice.handlers.support import (
    caller_of,
    json_body,
    receipt_for,
    request_schema,
    result_responses,
)
from pyservice.partners.policy import ScopeDeniedError
from pyservice.qr import TEXT_LEN
from pyservice.registry.document import MAX_DOCUMENT_BYTES, parse_document
from pyservice.responses import json_response
from pyservice.verify.result import VerificationResult
from pyservice.verify.signature import MAX_CERTIFICATE_BYTES, parse_signature_request

__all__ = ["MAX_BATCH", "OPENAPI", "routes"]

routes = web.RouteTableDef()

MAX_BATCH: Final = 1000
_KIND_SCOPES: Final = {
    "qr": "verify:qr",
    "licence": "verify:licence",
    "signature": "verify:signature",
}


def _token_of(obj: Any) -> str:
    if not isinstance(obj, dict) or set(obj) != {"token"}:
        raise MalformedInputError('request must be {"token": "..."}')
    token = obj["token"]
    if not isinstance(token, str):
        raise MalformedInputError("token must be a string")
    return token


async def _qr(request: web.Request, obj: Any) -> VerificationResult:
    started = time.perf_counter()
    text = _token_of(obj)
    result, _, licence_id, full = await request.app[VERIFIER].verify_qr(
        text, caller_of(request), request_id=request[REQUEST_ID]
    )
    receipt_for(
        request,
        kind="qr",
        result=result,
        licence_id=licence_id,
        started=started,
        full_disclosure=full,
    )
    return result


async def _licence(request: web.Request, obj: Any) -> VerificationResult:
    started = time.perf_counter()
    if isinstance(obj, bytes):
        data = obj  # the raw body: parse_document sees duplicate keys
    elif isinstance(obj, dict):
        data = orjson.dumps(obj)
    else:
        raise MalformedInputError("request must be a signed licence document")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise MalformedInputError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    doc = parse_document(data)
    result = await request.app[VERIFIER].verify_document(doc, caller_of(request))
    licence_id = doc.licence["id"]
    receipt_for(request, kind="licence", result=result, licence_id=licence_id, started=started)
    return result


async def _signature(request: web.Request, obj: Any) -> VerificationResult:
    started = time.perf_counter()
    parsed = parse_signature_request(obj)
    result = await request.app[VERIFIER].verify_signature(parsed)
    receipt_for(request, kind="signature", result=result, licence_id=None, started=started)
    return result


@routes.post("/v1/verify/qr", name="verify_qr")
@requires("verify:qr")
async def verify_qr(request: web.Request) -> web.Response:
    """The hot path: a scanned QR token."""
    result = await _qr(request, await json_body(request))
    return json_response(result.to_json())


@routes.post("/v1/verify/licence", name="verify_licence")
@requires("verify:licence")
async def verify_licence(request: web.Request) -> web.Response:
    """A signed licence document (formats.md JSON form)."""
    result = await _licence(request, await request.read())
    return json_response(result.to_json())


@routes.post("/v1/verify/signature", name="verify_signature")
@requires("verify:signature")
async def verify_signature(request: web.Request) -> web.Response:
    """An SM2 signature over data or a digest, with a public key, kid or
    certificate."""
    result = await _signature(request, await json_body(request))
    return json_response(result.to_json())


_ITEM_HANDLERS: Final = {"qr": _qr, "licence": _licence, "signature": _signature}


async def _item(request: web.Request, item: Any) -> dict[str, Any]:
    try:
        kind = item.get("kind") if isinstance(item, dict) else None
        if not isinstance(kind, str) or kind not in _ITEM_HANDLERS:
            raise MalformedInputError('item must be an object with "kind": qr|licence|signature')
        caller = caller_of(request)
        if caller is not None and not caller.grant.may(_KIND_SCOPES[kind]):
            raise ScopeDeniedError(f"scope {_KIND_SCOPES[kind]!r} not granted")
        fields = {k: v for k, v in item.items() if k != "kind"}
        if kind == "licence":
            fields = fields.get("document")  # type: ignore[assignment]
        result = await _ITEM_HANDLERS[kind](request, fields)
        return result.to_json()
    except SidianError as exc:
        if exc.http_status >= 500:
            return {"error": {"code": exc.code, "message": "dependency unavailable"}}
        return {"error": {"code": exc.code, "message": str(exc)}}


@routes.post("/v1/verify/batch", name="verify_batch")
@requires("verify:qr")
async def verify_batch(request: web.Request) -> web.Response:
    """Up to 1,000 items, each answered on its own, in order."""
    obj = await json_body(request)
    if not isinstance(obj, dict) or set(obj) != {"items"} or not isinstance(obj["items"], list):
        raise MalformedInputError('request must be {"items": [...]}')
    items = obj["items"]
    if not 1 <= len(items) <= MAX_BATCH:
        raise MalformedInputError(f"a batch has 1..{MAX_BATCH} items")
    results = [await _item(request, item) for item in items]
    return json_response({"results": results})


_QR_REQUEST: Final = request_schema(
    {"token": {"type": "string", "minLength": TEXT_LEN, "maxLength": TEXT_LEN}}, ["token"]
)
_SIGNATURE_REQUEST: Final = {
    "type": "object",
    "description": (
        "one of data (base64 message; optional uid, base64 signer ID) or digest "
        "(hex e = SM3(Z_A || M)); one of public_key (hex or base64, SEC1 or SPKI), "
        "kid, certificate (SM2 X.509: base64 DER or one PEM block; its validity "
        "and chain to the configured trust anchors are checked; unparseable: 400 "
        "malformed_certificate); signature (base64 DER or raw r||s)"
    ),
    "properties": {
        "data": openapi.BASE64,
        "uid": openapi.BASE64,
        "digest": openapi.HEX32,
        "public_key": {"type": "string", "maxLength": 1024},
        "kid": openapi.KID,
        "certificate": {
            "type": "string",
            "maxLength": 2 * (MAX_CERTIFICATE_BYTES * 4 // 3 + 4),
            "description": "SM2 X.509 certificate: base64 DER or PEM",
        },
        "signature": openapi.BASE64,
    },
    "required": ["signature"],
    "additionalProperties": False,
}
_DOCUMENT: Final = {
    "type": "object",
    "description": "signed licence document (formats.md): licence, signature, optional ledger",
    "properties": {
        "licence": {"type": "object"},
        "signature": {
            "type": "object",
            "properties": {
                "alg": {"type": "string", "enum": ["SM2-SM3"]},
                "kid": openapi.KID,
                "value": openapi.BASE64,
            },
            "required": ["alg", "kid", "value"],
            "additionalProperties": False,
        },
        "ledger": {"type": ["object", "null"]},
    },
    "required": ["licence", "signature"],
    "additionalProperties": False,
}
_ITEM_ERROR: Final = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
            "additionalProperties": False,
        }
    },
    "required": ["error"],
    "additionalProperties": False,
}


def _post(operation_id: str, summary: str, body: Any, responses: Any) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "tags": ["verify"],
            "summary": summary,
            "requestBody": {"required": True, "content": openapi.json_content(body)},
            "responses": responses,
        }
    }


_ERRORS: Final = (400, 401, 403, 413, 429)

OPENAPI: Final = {
    "/v1/verify/qr": _post(
        "verify_qr", "Verify a scanned QR token", _QR_REQUEST, result_responses(*_ERRORS)
    ),
    "/v1/verify/licence": _post(
        "verify_licence",
        "Verify a signed licence document",
        _DOCUMENT,
        result_responses(*_ERRORS, 422),
    ),
    "/v1/verify/signature": _post(
        "verify_signature",
        "Verify an SM2 signature over data or an SM3 digest",
        _SIGNATURE_REQUEST,
        result_responses(*_ERRORS),
    ),
    "/v1/verify/batch": _post(
        "verify_batch",
        f"Verify up to {MAX_BATCH} items, answered per item in order",
        request_schema(
            {
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH,
                    "items": {
                        "type": "object",
                        "properties": {
                            "kind": {"type": "string", "enum": ["qr", "licence", "signature"]}
                        },
                        "required": ["kind"],
                        "description": "qr: + token; licence: + document; signature: + fields",
                    },
                }
            },
            ["items"],
        ),
        {
            "200": {
                "description": "per-item results or errors, in order",
                "content": openapi.json_content(
                    request_schema(
                        {
                            "results": {
                                "type": "array",
                                "items": {
                                    "oneOf": [openapi.ref("VerificationResult"), _ITEM_ERROR]
                                },
                            }
                        },
                        ["results"],
                    )
                ),
            },
            **openapi.error_responses(*_ERRORS),
        },
    ),
}
