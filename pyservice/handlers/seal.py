"""Seal endpoints: verifying OFD documents and signed values (partners,
scope ``verify:seal``) and the seal system's lifecycle (``admin``).

- ``POST /v1/verify/ofd``: ``multipart/form-data`` with the OFD file in the
  part ``file``; the body is bounded (``Content-Length`` first, then while
  reading) at :data:`MAX_OFD_UPLOAD` bytes or the service's
  ``max_body_bytes``, whichever is smaller → 413 ``too_large``.
- ``POST /v1/verify/seal``: JSON ``{"signed_value": base64, "data": base64}``
  or ``{"signed_value": …, "data_sm3": hex}``.

Both answer 200 with the verification result of api.md (plus the full
``report``) whenever the input could be parsed; input that cannot be read
is a 4xx with a stable code, never a verdict.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from datetime import UTC, datetime
from typing import Any, Final, get_args

import orjson
from aiohttp import hdrs, web

from pyservice import openapi
from pyservice.appkeys import CALLER, LEDGER, SEAL_REGISTRY, SETTINGS
from pyservice.auth.routes import requires
from pyservice.errors import MalformedInputError
from pyservice.handlers.multipart import form_field
from pyservice.responses import json_response
from pyservice.seal.registry import SEAL_STATUSES, SealRegistry, describe, event_json
from pyservice.seal.report import ChainStatus
from pyservice.seal.result import ofd_result, signed_value_result
from pyservice.store import SealRow

__all__ = ["MAX_OFD_UPLOAD", "OPENAPI", "routes"]

routes = web.RouteTableDef()

#: Largest OFD upload (the multipart body as a whole).
MAX_OFD_UPLOAD: Final = 20 * 1024 * 1024
_FORM_OVERHEAD: Final = 64 * 1024


def _too_large(size: int, limit: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit, actual_size=size, text=f"the OFD upload is larger than {limit} bytes"
    )


async def _read_ofd_upload(request: web.Request) -> bytes:
    """The ``file`` part of a multipart upload. The body is bounded before
    it is read: by its ``Content-Length``, and while reading by the app's
    ``client_max_size`` (``max_body_bytes``; the request signature covers
    the whole body, so the auth middleware reads it the same way)."""
    limit = min(MAX_OFD_UPLOAD + _FORM_OVERHEAD, request.app[SETTINGS].max_body_bytes)
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(request.content_length, limit)
    if request.content_type != "multipart/form-data":
        raise web.HTTPUnsupportedMediaType(text="send the OFD as multipart/form-data, part 'file'")
    body = await request.read()
    if len(body) > limit:
        raise _too_large(len(body), limit)
    data = form_field(request.headers.get(hdrs.CONTENT_TYPE, ""), body, "file")
    if len(data) > MAX_OFD_UPLOAD:
        raise _too_large(len(data), limit)
    return data


def _now() -> datetime:
    return datetime.now(UTC)


@routes.post("/v1/verify/ofd", name="verify_ofd")
@requires("verify:seal")
async def verify_ofd(request: web.Request) -> web.Response:
    """Every signature of an uploaded OFD document."""
    data = await _read_ofd_upload(request)
    registry = request.app[SEAL_REGISTRY]
    checked_at = _now()
    report, kinds = await asyncio.to_thread(registry.verify_ofd, data, at=checked_at)
    return json_response(ofd_result(report, kinds, checked_at))


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send application/json")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise MalformedInputError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise MalformedInputError("body must be a JSON object")
    return body


def _b64(body: dict[str, Any], name: str) -> bytes:
    value = body.get(name)
    if not isinstance(value, str):
        raise MalformedInputError(f"{name!r} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedInputError(f"{name!r} is not base64") from exc


def _sm3_hex(body: dict[str, Any], name: str) -> bytes:
    value = body.get(name)
    if not isinstance(value, str) or len(value) != 64:
        raise MalformedInputError(f"{name!r} must be 64 hex digits (SM3)")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise MalformedInputError(f"{name!r} must be 64 hex digits (SM3)") from exc


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = set(body) - allowed
    if extra:
        raise MalformedInputError(f"unknown fields {sorted(extra)}")


@routes.post("/v1/verify/seal", name="verify_seal")
@requires("verify:seal")
async def verify_seal(request: web.Request) -> web.Response:
    """A ``SignedValue.dat`` against the signed bytes or their SM3."""
    body = await _json_object(request)
    _only(body, {"signed_value", "data", "data_sm3"})
    value = _b64(body, "signed_value")
    if ("data" in body) == ("data_sm3" in body):
        raise MalformedInputError("give exactly one of 'data' and 'data_sm3'")
    data = _b64(body, "data") if "data" in body else None
    digest = _sm3_hex(body, "data_sm3") if "data_sm3" in body else None
    registry = request.app[SEAL_REGISTRY]
    checked_at = _now()

    def run() -> dict[str, Any]:
        verdict, kinds = registry.verify_signed_value(
            value, data=data, data_sm3=digest, at=checked_at
        )
        # (The seal CA is the only anchor here, used for our own seals.)
        anchors = bool(kinds) and bool(registry.trust_anchors())
        return signed_value_result(verdict, kinds, checked_at, anchors)

    return json_response(await asyncio.to_thread(run))


# ---- the seal system (admin) ------------------------------------------------------------


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise MalformedInputError(f"{name!r} must be a string")
    return value


def _int_field(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedInputError(f"{name!r} must be an integer")
    return value


def _actor(request: web.Request, body: dict[str, Any], field: str = "actor") -> str:
    """The acting person named in the body, tied to the partner (admin
    system) that signed the request: ``<partner id>/<actor>``."""
    actor = _text_field(body, field)
    caller = request[CALLER]
    return actor if caller is None else f"{caller.partner_id}/{actor}"


async def _write(request: web.Request, step: Any, status: int = 200) -> web.Response:
    """Run a lifecycle write on the ledger's writer thread; the seal as JSON."""
    row: SealRow = await request.app[LEDGER].run_in_writer(step)
    return json_response(describe(row), status=status)


@routes.post("/v1/seals", name="seal_apply")
@requires("admin")
async def seal_apply(request: web.Request) -> web.Response:
    """申请: a seal application."""
    body = await _json_object(request)
    fields = {
        "org_code",
        "org_name",
        "name",
        "seal_type",
        "picture",
        "picture_type",
        "width",
        "height",
        "valid_start",
        "valid_end",
        "applicant",
    }
    _only(body, fields)
    kwargs: dict[str, Any] = {
        "org_code": _text_field(body, "org_code"),
        "org_name": _text_field(body, "org_name"),
        "name": _text_field(body, "name"),
        "seal_type": _int_field(body, "seal_type"),
        "picture": _b64(body, "picture"),
        "picture_type": _text_field(body, "picture_type"),
        "width": _int_field(body, "width"),
        "height": _int_field(body, "height"),
        "valid_start": _int_field(body, "valid_start"),
        "valid_end": _int_field(body, "valid_end"),
        "applicant": _actor(request, body, "applicant"),
    }
    registry = request.app[SEAL_REGISTRY]
    return await _write(request, lambda: registry.apply(**kwargs), 201)


@routes.get("/v1/seals", name="seal_list")
@requires("admin")
async def seal_list(request: web.Request) -> web.Response:
    """查询: seals, optionally of one organisation and/or status."""
    org = request.query.get("org")
    status = request.query.get("status")
    if status is not None and status not in SEAL_STATUSES:
        raise MalformedInputError(f"status must be one of {SEAL_STATUSES}")
    if org is not None and len(org) > 18:
        raise MalformedInputError("org must be a USCC")
    rows = await asyncio.to_thread(request.app[SEAL_REGISTRY].seals, org, status)
    return json_response({"seals": [describe(r) for r in rows]})


@routes.get("/v1/seals/{es_id}", name="seal_show")
@requires("admin")
async def seal_show(request: web.Request) -> web.Response:
    """查询: one seal with its lifecycle events."""
    registry = request.app[SEAL_REGISTRY]
    es_id = request.match_info["es_id"]

    def read() -> dict[str, Any]:
        row = registry.seal(es_id)
        return {**describe(row), "events": [event_json(e) for e in registry.events(es_id)]}

    return json_response(await asyncio.to_thread(read))


_STEPS: Final = ("approve", "reject", "make", "file", "cancel")


@routes.post("/v1/seals/{es_id}/{action:approve|reject|make|file|cancel}", name="seal_step")
@requires("admin")
async def seal_step(request: web.Request) -> web.Response:
    """审核 (approve / reject), 制作 (make), 备案 (file), 注销 (cancel)."""
    body = await _json_object(request)
    _only(body, {"actor", "reason"})
    actor, reason = _actor(request, body), _text_field(body, "reason")
    es_id, action = request.match_info["es_id"], request.match_info["action"]
    step = getattr(request.app[SEAL_REGISTRY], action)
    return await _write(request, lambda: step(es_id, actor=actor, reason=reason))


@routes.post("/v1/seals/{es_id}/change", name="seal_change")
@requires("admin")
async def seal_change(request: web.Request) -> web.Response:
    """变更: a new version with another name and/or picture."""
    body = await _json_object(request)
    _only(body, {"actor", "reason", "name", "picture", "picture_type", "width", "height"})
    kwargs: dict[str, Any] = {
        "actor": _actor(request, body),
        "reason": _text_field(body, "reason"),
    }
    for name in ("name", "picture_type"):
        if name in body:
            kwargs[name] = _text_field(body, name)
    for name in ("width", "height"):
        if name in body:
            kwargs[name] = _int_field(body, name)
    if "picture" in body:
        kwargs["picture"] = _b64(body, "picture")
    es_id = request.match_info["es_id"]
    registry = request.app[SEAL_REGISTRY]
    return await _write(request, lambda: registry.change(es_id, **kwargs))


@routes.post("/v1/seals/{es_id}/renew", name="seal_renew")
@requires("admin")
async def seal_renew(request: web.Request) -> web.Response:
    """续期: a new version valid until ``valid_end`` (epoch seconds)."""
    body = await _json_object(request)
    _only(body, {"actor", "reason", "valid_end"})
    actor, reason = _actor(request, body), _text_field(body, "reason")
    valid_end = _int_field(body, "valid_end")
    es_id = request.match_info["es_id"]
    registry = request.app[SEAL_REGISTRY]
    return await _write(
        request, lambda: registry.renew(es_id, actor=actor, reason=reason, valid_end=valid_end)
    )


@routes.post("/v1/seals/{es_id}/sign", name="seal_sign")
@requires("admin")
async def seal_sign(request: web.Request) -> web.Response:
    """Platform-hosted signing: a V4 ``SES_Signature`` over ``data_sm3``."""
    body = await _json_object(request)
    _only(body, {"data_sm3", "property_info"})
    digest = _sm3_hex(body, "data_sm3")
    info = _text_field(body, "property_info")
    registry: SealRegistry = request.app[SEAL_REGISTRY]
    es_id = request.match_info["es_id"]
    at = registry.clock() // 1000
    value = await asyncio.to_thread(registry.sign, es_id, digest, property_info=info, at=at)
    return json_response(
        {"es_id": es_id, "signed_value": base64.b64encode(value).decode("ascii"), "signed_at": at}
    )


# ---- OpenAPI ------------------------------------------------------------------------------

_CHECK: Final = openapi.obj_schema(
    {"name": {"type": "string"}, "ok": {"type": ["boolean", "null"]}, "detail": {"type": "string"}},
    optional=("detail",),
)
_REPORT_CHECK: Final = openapi.obj_schema(
    {"name": {"type": "string"}, "ok": {"type": "boolean"}, "detail": {"type": "string"}},
    optional=("detail",),
)
_CHAIN: Final = {"type": "string", "enum": list(get_args(ChainStatus))}
_NSTR: Final = {"type": ["string", "null"]}
_FACTS: Final = {
    "format": {"type": "string", "enum": ["SES_V1", "SES_V4", "SES_V5", "GBT35275"]},
    "signature_ok": {"type": "boolean"},
    "seal_signature_ok": {"type": ["boolean", "null"]},
    "data_hash_ok": {"type": "boolean"},
    "seal_name": _NSTR,
    "es_id": _NSTR,
    "signer_subject": _NSTR,
    "signed_at": _NSTR,
    "certificate_chain": _CHAIN,
    "certificate_valid_at_signing": {"type": ["boolean", "null"]},
    "certificate_valid_now": {"type": "boolean"},
    "seal_maker_chain": {"oneOf": [_CHAIN, {"type": "null"}]},
    "signature_encoding": {"type": "string"},
    "checks": {"type": "array", "items": _REPORT_CHECK},
}
_DOC_RESULT: Final = {"type": "string", "enum": ["VALID", "INTACT_UNTRUSTED", "INVALID"]}
_STRINGS: Final = {"type": "array", "items": {"type": "string"}}
_OFD_REPORT: Final = openapi.obj_schema(
    {
        "result": _DOC_RESULT,
        "checked_at": {"type": "string"},
        "trust_anchors": openapi.UINT,
        "reasons": _STRINGS,
        "warnings": _STRINGS,
        "unreferenced_files": _STRINGS,
        "signatures": {
            "type": "array",
            "items": openapi.obj_schema(
                {
                    "signature_xml": {"type": "string"},
                    "signed_value": {"type": "string"},
                    "type": {"type": "string"},
                    "check_method": _NSTR,
                    "references_total": openapi.UINT,
                    "references_failed": _STRINGS,
                    **_FACTS,
                }
            ),
        },
    }
)
_VALUE_REPORT: Final = openapi.obj_schema(
    {**_FACTS, "result": _DOC_RESULT, "reasons": _STRINGS, "checked_at": {"type": "string"}}
)


def _result_schema(report: dict[str, Any]) -> dict[str, Any]:
    return openapi.obj_schema(
        {
            "result": {"type": "string", "enum": ["VALID", "INVALID", "UNDETERMINED"]},
            "status": {
                "type": "string",
                "enum": ["VALID", "CANCELLED", "EXPIRED", "UNDETERMINED"],
            },
            "status_as_of": {"type": "string"},
            "checks": {"type": "array", "items": _CHECK},
            "warnings": _STRINGS,
            "licence": {"type": "null"},
            "receipt": {"type": "null"},
            "report": report,
        }
    )


_SEAL: Final = openapi.obj_schema(
    {
        "es_id": {"type": "string"},
        "org_code": {"type": "string"},
        "org_name": {"type": "string"},
        "name": {"type": "string"},
        "seal_type": openapi.UINT,
        "picture_type": {"type": "string"},
        "width": openapi.UINT,
        "height": openapi.UINT,
        "status": {"type": "string", "enum": [*SEAL_STATUSES, "expired"]},
        "stored_status": {"type": "string", "enum": list(SEAL_STATUSES)},
        "status_reason": _NSTR,
        "status_at": openapi.UINT,
        "valid_start": openapi.UINT,
        "valid_end": openapi.UINT,
        "version": openapi.UINT,
        "seal_sm3": {"oneOf": [openapi.HEX32, {"type": "null"}]},
        "signer_kid": {"oneOf": [openapi.KID, {"type": "null"}]},
        "signer_subject": _NSTR,
        "applicant": {"type": "string"},
        "created_at": openapi.UINT,
        "ledger_index": openapi.UINT,
    }
)
_EVENT: Final = openapi.obj_schema(
    {
        "action": {"type": "string"},
        "from": _NSTR,
        "to": {"type": "string"},
        "reason": {"type": "string"},
        "actor": {"type": "string"},
        "at": openapi.UINT,
        "ledger_index": openapi.UINT,
    }
)
_SEAL_WITH_EVENTS: Final = openapi.obj_schema(
    {**_SEAL["properties"], "events": {"type": "array", "items": _EVENT}}
)
_WRITE_ERRORS: Final = openapi.error_responses(400, 401, 403, 404, 409, 415, 422)


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": openapi.json_content(schema)}


def _ok(schema: dict[str, Any], description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": openapi.json_content(schema)}}


def _es_id_param() -> dict[str, Any]:
    return {"name": "es_id", "in": "path", "required": True, "schema": {"type": "string"}}


_ACTOR_REASON: Final = {"actor": {"type": "string"}, "reason": {"type": "string"}}

OPENAPI: Final = {
    "/v1/verify/ofd": {
        "post": {
            "operationId": "verify_ofd",
            "tags": ["verify"],
            "summary": "Verify every signature of an OFD document (multipart upload)",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    }
                },
            },
            "responses": {
                **_ok(_result_schema(_OFD_REPORT), "the verification result"),
                **openapi.error_responses(400, 401, 403, 413, 415),
            },
        }
    },
    "/v1/verify/seal": {
        "post": {
            "operationId": "verify_seal",
            "tags": ["verify"],
            "summary": "Verify a SignedValue.dat against the signed bytes or their SM3",
            "requestBody": _json_body(
                {
                    "type": "object",
                    "properties": {
                        "signed_value": openapi.BASE64,
                        "data": openapi.BASE64,
                        "data_sm3": openapi.HEX32,
                    },
                    "required": ["signed_value"],
                    "additionalProperties": False,
                }
            ),
            "responses": {
                **_ok(_result_schema(_VALUE_REPORT), "the verification result"),
                **openapi.error_responses(400, 401, 403, 413, 415),
            },
        }
    },
    "/v1/seals": {
        "post": {
            "operationId": "seal_apply",
            "tags": ["seals"],
            "summary": "申请: apply for a seal",
            "requestBody": _json_body(
                openapi.obj_schema(
                    {
                        "org_code": {"type": "string"},
                        "org_name": {"type": "string"},
                        "name": {"type": "string"},
                        "seal_type": openapi.UINT,
                        "picture": openapi.BASE64,
                        "picture_type": {"type": "string"},
                        "width": openapi.UINT,
                        "height": openapi.UINT,
                        "valid_start": openapi.UINT,
                        "valid_end": openapi.UINT,
                        "applicant": {"type": "string"},
                    }
                )
            ),
            "responses": {**_ok(_SEAL, "the new application", "201"), **_WRITE_ERRORS},
        },
        "get": {
            "operationId": "seal_list",
            "tags": ["seals"],
            "summary": "查询: list seals",
            "parameters": [
                {"name": "org", "in": "query", "required": False, "schema": {"type": "string"}},
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(SEAL_STATUSES)},
                },
            ],
            "responses": {
                **_ok(openapi.obj_schema({"seals": {"type": "array", "items": _SEAL}}), "seals"),
                **openapi.error_responses(400, 401, 403),
            },
        },
    },
    "/v1/seals/{es_id}": {
        "get": {
            "operationId": "seal_show",
            "tags": ["seals"],
            "summary": "查询: one seal with its lifecycle events",
            "parameters": [_es_id_param()],
            "responses": {
                **_ok(_SEAL_WITH_EVENTS, "the seal"),
                **openapi.error_responses(401, 403, 404),
            },
        }
    },
    "/v1/seals/{es_id}/{action}": {
        "post": {
            "operationId": "seal_step",
            "tags": ["seals"],
            "summary": "审核 (approve / reject), 制作 (make), 备案 (file), 注销 (cancel)",
            "parameters": [
                _es_id_param(),
                {
                    "name": "action",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": list(_STEPS)},
                },
            ],
            "requestBody": _json_body(openapi.obj_schema(_ACTOR_REASON)),
            "responses": {**_ok(_SEAL, "the seal after the step"), **_WRITE_ERRORS},
        }
    },
    "/v1/seals/{es_id}/change": {
        "post": {
            "operationId": "seal_change",
            "tags": ["seals"],
            "summary": "变更: a new version with another name or picture",
            "parameters": [_es_id_param()],
            "requestBody": _json_body(
                openapi.obj_schema(
                    {
                        **_ACTOR_REASON,
                        "name": {"type": "string"},
                        "picture": openapi.BASE64,
                        "picture_type": {"type": "string"},
                        "width": openapi.UINT,
                        "height": openapi.UINT,
                    },
                    optional=("name", "picture", "picture_type", "width", "height"),
                )
            ),
            "responses": {**_ok(_SEAL, "the changed seal"), **_WRITE_ERRORS},
        }
    },
    "/v1/seals/{es_id}/renew": {
        "post": {
            "operationId": "seal_renew",
            "tags": ["seals"],
            "summary": "续期: a new version valid until valid_end",
            "parameters": [_es_id_param()],
            "requestBody": _json_body(
                openapi.obj_schema({**_ACTOR_REASON, "valid_end": openapi.UINT})
            ),
            "responses": {**_ok(_SEAL, "the renewed seal"), **_WRITE_ERRORS},
        }
    },
    "/v1/seals/{es_id}/sign": {
        "post": {
            "operationId": "seal_sign",
            "tags": ["seals"],
            "summary": "Platform-hosted signing: a V4 SES_Signature over an SM3 digest",
            "parameters": [_es_id_param()],
            "requestBody": _json_body(
                openapi.obj_schema({"data_sm3": openapi.HEX32, "property_info": {"type": "string"}})
            ),
            "responses": {
                **_ok(
                    openapi.obj_schema(
                        {
                            "es_id": {"type": "string"},
                            "signed_value": openapi.BASE64,
                            "signed_at": openapi.UINT,
                        }
                    ),
                    "the signed value",
                ),
                **_WRITE_ERRORS,
            },
        }
    },
}
