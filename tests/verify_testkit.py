"""Helpers for the verification tests: a data directory with the test
issuer, types and a few licences (real SQLite, real keys), a partner
holding every verification scope whose requests are signed
(SIDIAN-HMAC-SM3), and helpers to issue QR tokens (through a holder
credential of the licence's holder) and verify them through the running
app."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from pyservice.app import create_app
from pyservice.partners.registry import PartnerRegistry
from pyservice.registry.service import Registry
from pyservice.settings import Settings
from tests.partner_testkit import SignedClient, add_holder, add_partner
from tests.registry_testkit import business_body, driving_body, open_registry

#: Every scope the verification endpoints need.
ALL_SCOPES = (
    "verify:qr",
    "verify:licence",
    "verify:signature",
    "status:read",
    "status:write",
)


@dataclass(frozen=True, slots=True)
class Seeded:
    business: str  # an organisation's licence, valid until 2044
    driving: str  # a person's licence (masked holder), no end date
    expired: str  # valid_until in the past
    future: str  # valid_from in the future


def seed(data: Path) -> Seeded:
    """Issue the test licences into the store of ``data`` (then close it)."""
    data.mkdir(parents=True, exist_ok=True)
    registry = open_registry(data)
    try:
        return _issue(registry)
    finally:
        registry.store.close()


def seed_with_partner(data: Path, scopes: Any = ALL_SCOPES) -> tuple[Seeded, tuple[str, str]]:
    """:func:`seed`, and a partner in the store: (ids, (partner id, secret))."""
    data.mkdir(parents=True, exist_ok=True)
    registry = open_registry(data)
    try:
        new = PartnerRegistry(registry.store, registry.keyring).add(
            "测试", scopes=scopes, rate_per_s=1000.0
        )
        return _issue(registry), (new.id, new.secret)
    finally:
        registry.store.close()


def holder_credential(data: Path, licence_id: str) -> tuple[str, str]:
    """A holder credential (id, secret) for the holder of ``licence_id``,
    written into the store of ``data`` (then closed)."""
    registry = open_registry(data)
    try:
        row = registry.store.licence_get(licence_id)
        assert row is not None
        new = PartnerRegistry(registry.store, registry.keyring).add_holder(
            row.holder_key, rate_per_s=1000.0
        )
        return new.id, new.secret
    finally:
        registry.store.close()


def _issue(registry: Registry) -> Seeded:
    return Seeded(
        business=registry.issue(business_body("V00001")).id,
        driving=registry.issue(driving_body("V00002")).id,
        expired=registry.issue(
            business_body("V00003", valid_from="2020-01-01", valid_until="2021-01-01")
        ).id,
        future=registry.issue(
            business_body("V00004", valid_from="2099-01-01", valid_until="2099-12-31")
        ).id,
    )


def seeded_app(settings: Settings, **changes: Any) -> tuple[web.Application, Seeded]:
    settings = dataclasses.replace(settings, **changes)
    ids = seed(settings.data_dir)
    return create_app(settings), ids


async def signed_client(
    aiohttp_client: AiohttpClient, settings: Settings, *, scopes: Any = ALL_SCOPES, **changes: Any
) -> tuple[SignedClient, Seeded]:
    """The seeded app running, and a client signing as a new partner."""
    app, ids = seeded_app(settings, **changes)
    client = await aiohttp_client(app)
    partner, secret = add_partner(app, scopes=scopes)
    return SignedClient(client, partner, secret), ids


def holder_of(client: SignedClient, licence_id: str) -> SignedClient:
    """A client signing as a new holder credential of ``licence_id``'s holder."""
    return SignedClient(client.client, *add_holder(client.client.app, licence_id))


async def qr_token(client: SignedClient, licence_id: str, **options: Any) -> str:
    """A fresh QR token of ``licence_id``, asked for by its holder (a holder
    credential made for the call, over ``client``'s connection)."""
    holder = holder_of(client, licence_id)
    response = await holder.post_json(f"/v1/licences/{licence_id}/qr", options)
    assert response.status == 200, await response.text()
    body = await response.json()
    token: str = body["token"]
    return token


async def verify_qr(client: SignedClient, token: str) -> dict[str, Any]:
    response = await client.post_json("/v1/verify/qr", {"token": token})
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


def checks(result: dict[str, Any]) -> dict[str, bool | None]:
    return {c["name"]: c["ok"] for c in result["checks"]}
