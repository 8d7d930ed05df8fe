"""Every route declares what it requires; undeclared means admin."""

from __future__ import annotations

import pytest

from pyservice.auth.routes import (
    AUTHENTICATED,
    DEFAULT_SCOPE,
    PUBLIC,
    authenticated,
    public,
    required_scope,
    requires,
)
from pyservice.partners.policy import SCOPES
from tests.conftest import Client


async def test_every_route_declares_public_or_a_known_scope(client: Client) -> None:
    undeclared = []
    for route in client.app.router.routes():
        if route.method == "HEAD":
            continue
        declared = getattr(route.handler, "__sidian_requires__", None)
        if declared is None:
            undeclared.append(
                f"{route.method} {route.resource.canonical if route.resource else ''}"
            )
        else:
            assert declared in {PUBLIC, AUTHENTICATED} or declared in SCOPES
    assert undeclared == []


def test_declarations() -> None:
    @requires("verify:qr")
    async def a() -> None: ...

    @public
    async def b() -> None: ...

    async def c() -> None: ...

    @authenticated
    async def d() -> None: ...

    assert required_scope(a) == "verify:qr"
    assert required_scope(d) == AUTHENTICATED
    assert required_scope(b) == PUBLIC
    assert required_scope(c) == DEFAULT_SCOPE == "admin"
    with pytest.raises(ValueError, match="unknown scope"):
        requires("verify:everything")


async def test_the_document_states_what_each_route_requires(client: Client) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert "sidianHmac" in document["components"]["securitySchemes"]
    seen = set()
    for route in client.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        op = document["paths"][route.resource.canonical][route.method.lower()]
        declared = required_scope(route.handler)
        assert op["x-sidian-requires"] == declared
        assert op["security"] == ([] if declared == PUBLIC else [{"sidianHmac": []}])
        seen.add(declared)
    assert {PUBLIC, AUTHENTICATED, "admin"} <= seen
