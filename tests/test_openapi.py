"""The OpenAPI document agrees with the application: it is a valid OpenAPI
3.1 document, every route is described and every description is routed,
and real responses validate against the documented schemas."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson
import pytest
from aiohttp import web
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pytest_aiohttp import AiohttpClient

from pyservice import merkle, openapi
from pyservice.app import create_app
from pyservice.appkeys import LEDGER, USAGE
from pyservice.ledger.entries import make_entry
from pyservice.settings import Settings
from tests.conftest import Client
from tests.ledger_testkit import entry_fields
from tests.partner_testkit import SignedClient, add_partner
from tests.verify_testkit import holder_of, qr_token, signed_client


def _routed(app: web.Application) -> set[tuple[str, str]]:
    """(method, path template) of every route, without aiohttp's implicit HEADs."""
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in document["paths"].items() for method in ops}


def _response_schema(document: dict[str, Any], path: str, status: int) -> Draft202012Validator:
    response = document["paths"][path]["get"]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


@pytest.fixture
async def ledger_client(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    app = create_app(dataclasses.replace(settings, ledger_batch_interval=0.01, ledger_batch_size=3))
    client = await aiohttp_client(app)
    await asyncio.gather(*(client.app[LEDGER].append(entry_fields(i)) for i in range(7)))
    return client


async def test_document_is_valid_openapi_3_1(client: Client) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)


async def test_every_route_is_documented_and_every_operation_routed(client: Client) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert _routed(client.app) == _documented(document)


async def test_operation_ids_are_the_route_names(client: Client) -> None:
    # Route names label the metrics; the document uses the same names.
    document = await (await client.get("/openapi.json")).json()
    names = {
        (route.method.lower(), route.resource.canonical): route.name
        for route in client.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["operationId"] == names[(method, path)]


async def test_ledger_responses_match_their_schemas(ledger_client: Client) -> None:
    document = await (await ledger_client.get("/openapi.json")).json()
    leaf = merkle.leaf_hash(make_entry(entry_fields(4)).data).hex()
    for path, query in [
        ("/v1/ledger/sth", ""),
        ("/v1/ledger/proof/inclusion", f"?leaf_hash={leaf}"),
        ("/v1/ledger/proof/inclusion", f"?leaf_hash={leaf}&tree_size=6"),
        ("/v1/ledger/proof/consistency", "?first=3&second=7"),
        ("/v1/ledger/proof/consistency", "?first=7&second=7"),
        ("/v1/ledger/entries", "?start=0&end=7"),
    ]:
        response = await ledger_client.get(path + query)
        assert response.status == 200, (path, query)
        _response_schema(document, path, 200).validate(await response.json())


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/ledger/proof/inclusion?leaf_hash=zz", 400),
        ("/v1/ledger/proof/inclusion?leaf_hash=" + "00" * 32, 404),
        ("/v1/ledger/proof/consistency?first=1", 400),
        ("/v1/ledger/entries?start=0&end=99", 404),
    ],
)
async def test_errors_match_the_documented_error_shape(
    ledger_client: Client, path: str, status: int
) -> None:
    document = await (await ledger_client.get("/openapi.json")).json()
    response = await ledger_client.get(path)
    assert response.status == status
    template = path.split("?", maxsplit=1)[0]
    _response_schema(document, template, status).validate(await response.json())


def test_an_undocumented_field_fails_validation() -> None:
    # The schemas are strict, so the agreement test above can fail.
    document = openapi.build_document([])
    validator = Draft202012Validator(
        {**openapi.ref("SignedTreeHead"), "components": document["components"]}
    )
    sth = {"tree_size": 1, "root": "00" * 32, "timestamp": 1, "kid": "0" * 16, "signature": "AA=="}
    validator.validate(sth)
    assert not validator.is_valid({**sth, "extra": 1})
    assert not validator.is_valid({k: v for k, v in sth.items() if k != "kid"})


def test_two_descriptions_of_one_operation_are_refused() -> None:
    item: dict[str, dict[str, dict[str, Any]]] = {"/x": {"get": {"responses": {}}}}
    with pytest.raises(ValueError, match="two descriptions"):
        openapi.build_document([item, item])


async def test_docs_page_lists_every_operation(client: Client) -> None:
    response = await client.get("/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    document = await (await client.get("/openapi.json")).json()
    for path in document["paths"]:
        assert f"<code>{path}</code>" in page


def _operation_schema(
    document: dict[str, Any], path: str, method: str, status: int
) -> Draft202012Validator:
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


async def test_verification_and_licence_responses_match_their_schemas(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids = await signed_client(aiohttp_client, settings)
    document = await (await client.get("/openapi.json")).json()
    qr_path = "/v1/licences/{id}/qr"
    holder = holder_of(client, ids.driving)
    response = await holder.post_json(f"/v1/licences/{ids.driving}/qr", {"consent": True})
    _operation_schema(document, qr_path, "post", 200).validate(await response.json())
    token = (await response.json())["token"]
    calls: list[tuple[str, str, str, Any, int]] = [
        ("/v1/verify/qr", "/v1/verify/qr", "post", {"token": token}, 200),
        ("/v1/verify/qr", "/v1/verify/qr", "post", {"token": "!"}, 400),
        (
            "/v1/verify/batch",
            "/v1/verify/batch",
            "post",
            {"items": [{"kind": "qr", "token": token}, {"kind": "x"}]},
            200,
        ),
        (
            "/v1/verify/signature",
            "/v1/verify/signature",
            "post",
            {"digest": "00" * 32, "kid": "0" * 16, "signature": "AA" * 44},
            200,
        ),
        (
            "/v1/licences/{id}/status",
            f"/v1/licences/{ids.business}/status",
            "post",
            {"status": "SUSPENDED", "reason": "检查"},
            200,
        ),
        (
            "/v1/licences/{id}/status",
            f"/v1/licences/{ids.business}/status",
            "post",
            {"status": "SUSPENDED", "reason": "again"},
            409,
        ),
        ("/v1/licences/{id}/status", f"/v1/licences/{ids.business}/status", "get", None, 200),
        ("/v1/licences/{id}/status", "/v1/licences/nope/status", "get", None, 404),
        ("/v1/trust-list", "/v1/trust-list", "get", None, 200),
        ("/v1/status-lists/{issuer}", "/v1/status-lists/11430000006122244L", "get", None, 200),
        ("/v1/status-lists/{issuer}", "/v1/status-lists/x", "get", None, 400),
    ]
    for template, path, method, body, status in calls:
        payload = b"" if body is None else orjson.dumps(body)
        response = await client.request(method.upper(), path, body=payload)
        assert response.status == status, (path, await response.text())
        _operation_schema(document, template, method, status).validate(await response.json())


async def test_audit_responses_match_their_schemas(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids = await signed_client(aiohttp_client, settings, scopes=("status:read", "admin"))
    document = await (await client.get("/openapi.json")).json()
    assert (await client.get(f"/v1/licences/{ids.business}/status")).status == 200
    assert (await client.get("/v1/licences/nope/status")).status == 404
    assert client.client.app is not None
    await client.client.app[USAGE].flush()
    other = SignedClient(client.client, *add_partner(client.client.app, scopes=("verify:qr",)))
    for signer, target, status in [
        (client, "/v1/audit", 200),
        (client, "/v1/audit?limit=1", 200),
        (client, "/v1/audit?limit=0", 400),
        (other, "/v1/audit", 403),
    ]:
        response = await signer.get(target)
        assert response.status == status, await response.text()
        body = await response.json()
        _operation_schema(document, "/v1/audit", "get", status).validate(body)
        if status == 200:
            assert body["records"]


async def test_holder_and_admin_partner_responses_match_their_schemas(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids = await signed_client(aiohttp_client, settings)
    app = client.client.app
    document = await (await client.get("/openapi.json")).json()
    token = await qr_token(client, ids.driving)
    verified = await client.post_json(
        "/v1/verify/qr", {"token": token}, extra_headers={"X-Sidian-Purpose": "opening an account"}
    )
    assert verified.status == 200
    await app[USAGE].flush()
    holder = holder_of(client, ids.driving)
    admin_id, admin_secret = add_partner(app, scopes=("admin",))
    admin = SignedClient(client.client, admin_id, admin_secret)
    usage = "/v1/licences/{id}/usage"
    calls: list[tuple[SignedClient, str, str, str, int]] = [
        (holder, usage, f"/v1/licences/{ids.driving}/usage", "get", 200),
        (holder, usage, f"/v1/licences/{ids.driving}/usage?limit=0", "get", 400),
        (holder, usage, f"/v1/licences/{ids.business}/usage", "get", 403),
        (client, usage, f"/v1/licences/{ids.driving}/usage", "get", 403),
        (admin, "/v1/admin/partners/{id}", f"/v1/admin/partners/{holder.partner}", "get", 200),
        (admin, "/v1/admin/partners/{id}", "/v1/admin/partners/p_nope", "get", 404),
        (
            admin,
            "/v1/admin/partners/{id}/suspend",
            f"/v1/admin/partners/{client.partner}/suspend",
            "post",
            200,
        ),
        (
            admin,
            "/v1/admin/partners/{id}/resume",
            f"/v1/admin/partners/{client.partner}/resume",
            "post",
            200,
        ),
        (
            admin,
            "/v1/admin/partners/{id}/rotate-secret",
            f"/v1/admin/partners/{holder.partner}/rotate-secret",
            "post",
            200,
        ),
        (admin, "/v1/admin/partners", "/v1/admin/partners", "get", 200),
    ]
    for caller, template, path, method, status in calls:
        response = await caller.request(method.upper(), path)
        assert response.status == status, (path, await response.text())
        _operation_schema(document, template, method, status).validate(await response.json())
