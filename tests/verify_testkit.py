"""Helpers for the verification tests: a data directory with the test
issuer, types and a few licences (real SQLite, real keys), and a client
helper to issue QR tokens and verify them through the running app."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from pyservice.app import create_app
from pyservice.settings import Settings
from tests.conftest import Client
from tests.registry_testkit import business_body, driving_body, open_registry


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
        ids = Seeded(
            business=registry.issue(business_body("V00001")).id,
            driving=registry.issue(driving_body("V00002")).id,
            expired=registry.issue(
                business_body("V00003", valid_from="2020-01-01", valid_until="2021-01-01")
            ).id,
            future=registry.issue(
                business_body("V00004", valid_from="2099-01-01", valid_until="2099-12-31")
            ).id,
        )
    finally:
        registry.store.close()
    return ids


def seeded_app(settings: Settings, **changes: Any) -> tuple[web.Application, Seeded]:
    settings = dataclasses.replace(settings, **changes)
    ids = seed(settings.data_dir)
    return create_app(settings), ids


async def qr_token(client: Client, licence_id: str, **options: Any) -> str:
    response = await client.post(f"/v1/licences/{licence_id}/qr", json=options or None)
    assert response.status == 200, await response.text()
    body = await response.json()
    token: str = body["token"]
    return token


async def verify_qr(client: Client, token: str) -> dict[str, Any]:
    response = await client.post("/v1/verify/qr", json={"token": token})
    assert response.status == 200, await response.text()
    result: dict[str, Any] = await response.json()
    return result


def checks(result: dict[str, Any]) -> dict[str, bool | None]:
    return {c["name"]: c["ok"] for c in result["checks"]}
