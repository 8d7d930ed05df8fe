"""The service's OpenAPI 3.1 document (``GET /openapi.json``) and its page
(``GET /docs``).

Each handler module describes its own operations next to its code in a
module-level ``OPENAPI`` mapping, ``{path template: {method: operation}}``;
this module merges them with the shared components (schemas of the error
shape, signed tree heads, proofs …). A test checks that the document and the
application's routes agree in both directions, and validates real responses
against the schemas, so the document cannot drift from the code.

OpenAPI 3.1 schemas are JSON Schema 2020-12: every response schema here is
strict (``additionalProperties: false``) so an undocumented field is caught.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pyservice import __version__

__all__ = [
    "COMPONENTS",
    "build_document",
    "error_responses",
    "json_content",
    "obj_schema",
    "operation",
    "ref",
    "render_docs",
    "strict_object",
    "with_security",
]

Operation = dict[str, Any]
PathItems = Mapping[str, Mapping[str, Operation]]

#: The name of the signed-request scheme in ``components.securitySchemes``.
SECURITY_SCHEME: Final = "sidianHmac"
HEX32: Final = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
KID: Final = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
BASE64: Final = {"type": "string", "contentEncoding": "base64"}
UINT: Final = {"type": "integer", "minimum": 0}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: Mapping[str, Any], *, nullable: Iterable[str] = ()) -> dict[str, Any]:
    """A strict object schema: every property required, nothing else allowed."""
    props = {
        name: ({"oneOf": [schema, {"type": "null"}]} if name in set(nullable) else schema)
        for name, schema in properties.items()
    }
    return {
        "type": "object",
        "properties": props,
        "required": list(properties),
        "additionalProperties": False,
    }


def obj_schema(properties: Mapping[str, Any], *, optional: Iterable[str] = ()) -> dict[str, Any]:
    """A strict object schema for a handler module: every property required
    except ``optional``, nothing else allowed."""
    schema = _obj(properties)
    skip = set(optional)
    schema["required"] = [name for name in properties if name not in skip]
    return schema


COMPONENTS: Final[dict[str, Any]] = {
    "schemas": {
        "Error": _obj(
            {
                "error": _obj(
                    {
                        "code": {"type": "string", "description": "stable machine-readable code"},
                        "message": {"type": "string"},
                        "request_id": {"type": "string"},
                    }
                )
            }
        ),
        "SignedTreeHead": _obj(
            {
                "tree_size": UINT,
                "root": HEX32,
                "timestamp": {**UINT, "description": "unix milliseconds"},
                "kid": KID,
                "signature": {**BASE64, "description": "SM2 (DER) over the canonical head"},
            }
        ),
        "InclusionProof": _obj(
            {
                "leaf_hash": HEX32,
                "index": UINT,
                "tree_size": UINT,
                "proof": {"type": "array", "items": HEX32, "maxItems": 64},
                "sth": ref("SignedTreeHead"),
            }
        ),
        "ConsistencyProof": _obj(
            {
                "first": UINT,
                "second": UINT,
                "proof": {"type": "array", "items": HEX32, "maxItems": 128},
                "first_sth": ref("SignedTreeHead"),
                "second_sth": ref("SignedTreeHead"),
            },
            nullable=("first_sth", "second_sth"),
        ),
        "LedgerEntries": _obj(
            {
                "start": UINT,
                "end": UINT,
                "entries": {
                    "type": "array",
                    "items": _obj(
                        {
                            "index": UINT,
                            "leaf_hash": HEX32,
                            "entry": {**BASE64, "description": "the canonical JSON entry bytes"},
                        }
                    ),
                },
            }
        ),
        "Health": _obj({"status": {"type": "string", "enum": ["ok"]}}),
        "Readiness": _obj(
            {
                "status": {"type": "string", "enum": ["ready", "degraded", "unavailable"]},
                "checks": _obj(
                    {
                        "store": {"type": "string", "enum": ["ok", "error"]},
                        "redis": {"type": "string", "enum": ["ok", "down", "not_configured"]},
                    }
                ),
                "worker": {"type": "integer", "description": "the answering process"},
            }
        ),
    },
    "parameters": {},
    "securitySchemes": {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "SIDIAN-HMAC-SM3",
            "description": (
                "Authorization: SIDIAN-HMAC-SM3 partner=<id>, ts=<unix s>, nonce=<16-64 chars>, "
                "signature=<hex HMAC-SM3 of METHOD, PATH?QUERY, ts, nonce, hex(SM3(body)) "
                "joined by \\n, keyed with the partner secret>"
            ),
        }
    },
}

_ERROR_TEXT: Final = {
    400: "malformed input",
    401: "unauthenticated",
    403: "not allowed",
    404: "unknown resource",
    409: "state transition not allowed",
    413: "request too large",
    415: "unsupported media type",
    422: "well-formed but semantically invalid",
    429: "rate-limited (see Retry-After)",
    503: "a dependency is down",
}


def strict_object(properties: Mapping[str, Any], *, nullable: Iterable[str] = ()) -> dict[str, Any]:
    """A strict object schema (every property required, nothing else), for
    handler modules that describe their own schemas inline."""
    return _obj(properties, nullable=nullable)


def json_content(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": dict(schema)}}


def error_responses(*statuses: int) -> dict[str, Any]:
    """The api.md error shape for each status."""
    return {
        str(status): {"description": _ERROR_TEXT[status], "content": json_content(ref("Error"))}
        for status in statuses
    }


def operation(
    operation_id: str,
    tag: str,
    summary: str,
    ok_status: int,
    ok_schema: Mapping[str, Any],
    *,
    errors: Iterable[int],
    body: Mapping[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> Operation:
    """A JSON operation: its answer ``ok_status`` with ``ok_schema``, the
    error answers, and optionally path/query parameters and a required body."""
    op: Operation = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "responses": {
            str(ok_status): {"description": summary, "content": json_content(ok_schema)},
            **error_responses(*errors),
        },
    }
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": json_content(body)}
    return op


def build_document(path_items: Iterable[PathItems]) -> dict[str, Any]:
    """Merge the handler modules' path items into one OpenAPI document."""
    paths: dict[str, dict[str, Operation]] = {}
    for items in path_items:
        for path, operations in items.items():
            merged = paths.setdefault(path, {})
            for method, operation in operations.items():
                if method in merged:
                    raise ValueError(f"two descriptions of {method.upper()} {path}")
                merged[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sidian Verify",
            "version": __version__,
            "description": (
                "Verification of electronic licences, seals, signatures and materials "
                "(电子证照、电子印章、电子签名、电子材料)."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": COMPONENTS,
    }


def with_security(document: dict[str, Any], requires: Mapping[tuple[str, str], str]) -> None:
    """Mark each operation with what its route declares (``requires``:
    ``(method, path template)`` → ``"public"``, ``"authenticated"`` or a
    scope): ``security`` (none for public operations, the signed-request
    scheme otherwise) and ``x-sidian-requires``. Done from the routes
    themselves, so the document cannot disagree with the code."""
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            declared = requires.get((method, path))
            if declared is None:
                continue
            op["security"] = [] if declared == "public" else [{SECURITY_SCHEME: []}]
            op["x-sidian-requires"] = declared


def render_docs(document: Mapping[str, Any]) -> str:
    """A self-contained HTML page listing every operation (no external assets)."""
    rows: list[str] = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            statuses = ", ".join(op.get("responses", {}))
            rows.append(
                "<tr>"
                f"<td><code>{html.escape(method.upper())}</code></td>"
                f"<td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}</td>"
                f"<td>{html.escape(params)}</td>"
                f"<td>{html.escape(statuses)}</td>"
                "</tr>"
            )
    title = html.escape(document["info"]["title"])
    version = html.escape(document["info"]["version"])
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} API</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;"
        "text-align:left;vertical-align:top}</style></head><body>"
        f"<h1>{title} API <small>{version}</small></h1>"
        '<p>Machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>'
        "<table><thead><tr><th>method</th><th>path</th><th>summary</th>"
        "<th>parameters</th><th>responses</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>"
    )
