"""Shared pieces of the verification and licence handlers: JSON bodies,
usage records with receipts, the result schema."""

from __future__ import annotations

import time
from typing import Any, Final

import orjson
from aiohttp import web

from pyservice import openapi
from pyservice.appkeys import CALLER, METRICS, PURPOSE, REQUEST_ID, USAGE, USAGE_RECORDED
from pyservice.errors import MalformedInputError
from pyservice.partners.policy import Caller
from pyservice.verify.result import CHECK_NAMES, STATUSES, VerificationResult

__all__ = [
    "RESULT_SCHEMA",
    "caller_of",
    "json_body",
    "receipt_for",
    "request_schema",
    "strict_object",
]


def caller_of(request: web.Request) -> Caller | None:
    return request.get(CALLER)


async def json_body(request: web.Request) -> Any:
    """The request's JSON body (400 ``malformed_json`` if it is not JSON;
    413 past the app's body limit)."""
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedJsonError("request body is not JSON") from None


class MalformedJsonError(MalformedInputError):
    code = "malformed_json"


def receipt_for(
    request: web.Request,
    *,
    kind: str,
    result: VerificationResult,
    licence_id: str | None,
    started: float,
    full_disclosure: bool = False,
) -> None:
    """Counts the verification and queues its usage record; sets ``receipt``
    (and marks the request recorded: the audit middleware adds no second one)."""
    verdict = result.result
    request.app[METRICS].count_verification(kind, verdict)
    caller = caller_of(request)
    result.receipt = request.app[USAGE].record(
        endpoint=kind,
        licence_id=licence_id,
        result=verdict,
        latency=time.perf_counter() - started,
        request_id=request[REQUEST_ID],
        partner_id=None if caller is None else caller.partner_id,
        client=request.remote,
        full_disclosure=full_disclosure,
        purpose=request.get(PURPOSE),
    )
    request[USAGE_RECORDED] = True


def request_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


_SUMMARY: Final = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "type_code": {"type": "string"},
        "type_name": {"type": "string"},
        "number": {"type": ["string", "null"]},
        "holder": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "id_type": {"type": "string"},
                "id": {"type": "string"},
            },
            "required": ["name", "id_type", "id"],
            "additionalProperties": False,
        },
        "issuer": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "code": {"type": "string"}},
            "required": ["name", "code"],
            "additionalProperties": False,
        },
        "issued_on": {"type": ["string", "null"]},
        "valid_from": {"type": ["string", "null"]},
        "valid_until": {"type": ["string", "null"]},
        "version": {"type": ["integer", "null"]},
        "face": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
    },
    "required": ["id"],
    "additionalProperties": False,
}


def strict_object(properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema with every property required and nothing else."""
    return request_schema(properties, list(properties))


_RECEIPT: Final = strict_object({"id": {"type": "string"}, "at": {"type": "string"}})
_CHECK: Final = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "enum": list(CHECK_NAMES)},
        "ok": {"type": ["boolean", "null"]},
        "detail": {"type": "string"},
    },
    "required": ["name", "ok"],
    "additionalProperties": False,
}
RESULT_SCHEMA: Final = strict_object(
    {
        "result": {"type": "string", "enum": ["VALID", "INVALID", "UNDETERMINED"]},
        "status": {"type": "string", "enum": list(STATUSES)},
        "status_as_of": {"type": ["string", "null"], "format": "date-time"},
        "checks": {"type": "array", "items": _CHECK},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "licence": {"oneOf": [_SUMMARY, {"type": "null"}]},
        "receipt": {"oneOf": [_RECEIPT, {"type": "null"}]},
    }
)

# The shared result schema joins the document's components.
openapi.COMPONENTS["schemas"]["VerificationResult"] = RESULT_SCHEMA


def result_responses(*errors: int) -> dict[str, Any]:
    return {
        "200": {
            "description": "the verification result (any verdict)",
            "content": openapi.json_content(openapi.ref("VerificationResult")),
        },
        **openapi.error_responses(*errors),
    }
