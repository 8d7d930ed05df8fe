"""Signed trust list and per-issuer status lists: the signatures verify
with the published keys, the lists follow status changes, ETags work."""

from __future__ import annotations

import base64
import time

from pytest_aiohttp import AiohttpClient

from pyservice.canonical import canonical_json
from pyservice.crypto import PublicKey, Sm2Verifier
from pyservice.registry.keys import PLATFORM
from pyservice.settings import Settings
from pyservice.statuslist import ListStatus, verify_status_list
from tests.registry_testkit import ISSUER
from tests.verify_testkit import seeded_app, signed_client


async def test_trust_list_is_signed_by_the_platform_ledger_key(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    app, _ = seeded_app(settings)
    client = await aiohttp_client(app)
    response = await client.get("/v1/trust-list")
    assert response.status == 200
    body = await response.json()
    keys = {k["kid"]: k for k in body["list"]["keys"]}
    signer = keys[body["kid"]]
    assert (signer["owner"], signer["purpose"]) == (PLATFORM, "ledger")
    public = PublicKey.from_bytes(bytes.fromhex(signer["public_key"]))
    public.verify(canonical_json(body["list"]), base64.b64decode(body["signature"]))
    assert any(k["owner"] == ISSUER and k["purpose"] == "licence" for k in keys.values())
    etag = response.headers["ETag"]
    again = await client.get("/v1/trust-list", headers={"If-None-Match": etag})
    assert again.status == 304


async def test_status_list_follows_status_changes(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    partner, ids = await signed_client(aiohttp_client, settings)
    client = partner.client
    keys = (await (await client.get("/v1/trust-list")).json())["list"]["keys"]
    issuer_key = next(k for k in keys if k["owner"] == ISSUER and k["purpose"] == "licence")
    verifier = Sm2Verifier(PublicKey.from_bytes(bytes.fromhex(issuer_key["public_key"])))

    first = await client.get(f"/v1/status-lists/{ISSUER}")
    assert first.status == 200
    signed = verify_status_list(verifier, (await first.json())["token"], now=int(time.time()))
    assert signed.subject == ISSUER
    assert all(signed.status_list[i] == ListStatus.VALID for i in range(4))

    for licence_id, status in ((ids.business, "SUSPENDED"), (ids.driving, "REVOKED")):
        response = await partner.post_json(
            f"/v1/licences/{licence_id}/status", {"status": status, "reason": "执法"}
        )
        assert response.status == 200
    second = await client.get(
        f"/v1/status-lists/{ISSUER}", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert second.status == 200  # the statuses changed, so the ETag did
    signed = verify_status_list(verifier, (await second.json())["token"], now=int(time.time()))
    values = sorted(int(signed.status_list[i]) for i in range(4))
    assert values == [0, 0, int(ListStatus.INVALID), int(ListStatus.SUSPENDED)]
    third = await client.get(
        f"/v1/status-lists/{ISSUER}", headers={"If-None-Match": second.headers["ETag"]}
    )
    assert third.status == 304
    assert (await client.get("/v1/status-lists/11000000000000000X")).status in (400, 404)
