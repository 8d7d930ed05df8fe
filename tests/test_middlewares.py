"""Every call leaves one usage (audit) record (the metrics middleware's
audit_call): refused calls (401/403/429) with their error code, public pages,
unrouted paths; verifications keep exactly their own record (the receipt);
probes, metrics and docs leave none. Real app, store and signed partners;
each record is found by the call's X-Request-Id."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientResponse, web
from pytest_aiohttp import AiohttpClient

from pyservice.appkeys import KEYRING, STORE, USAGE
from pyservice.settings import Settings
from pyservice.store import UsageRow
from tests.partner_testkit import SignedClient, add_partner
from tests.verify_testkit import Seeded, qr_token, signed_client, verify_qr


@pytest.fixture
async def seeded(aiohttp_client: AiohttpClient, settings: Settings) -> tuple[SignedClient, Seeded]:
    return await signed_client(aiohttp_client, settings)


async def _all_records(app: web.Application) -> list[UsageRow]:
    await app[USAGE].flush()
    return await asyncio.to_thread(app[STORE].usage_query, limit=10_000)


async def _records_of(app: web.Application, response: ClientResponse) -> list[UsageRow]:
    request_id = response.headers["X-Request-Id"]
    return [r for r in await _all_records(app) if r.request_id == request_id]


async def _record_of(app: web.Application, response: ClientResponse) -> UsageRow:
    records = await _records_of(app, response)
    assert len(records) == 1, records
    return records[0]


def _app(client: SignedClient) -> web.Application:
    app = client.client.app
    assert app is not None
    return app


async def test_unauthenticated_calls_are_recorded_with_their_code(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    app = _app(client)
    response = await client.client.get(f"/v1/licences/{ids.business}/status")
    assert response.status == 401
    record = await _record_of(app, response)
    assert record.endpoint == "licence_status"
    assert record.result == "missing_credentials"
    assert record.partner_id is None
    assert record.target == app[KEYRING].usage_target(ids.business)
    assert record.client == "127.0.0.1"
    assert record.latency_us >= 0

    forged = SignedClient(client.client, client.partner, "sk_wrong")
    response = await forged.get(f"/v1/licences/{ids.business}/status")
    assert response.status == 401
    record = await _record_of(app, response)
    assert record.result == "bad_signature"
    assert record.partner_id is None  # the signature did not verify: no partner claimed


async def test_scope_denied_and_rate_limited_calls_name_the_partner(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    app = _app(client)
    slow = SignedClient(client.client, *add_partner(app, scopes=("verify:qr",), rate_per_s=1.0))
    response = await slow.get(f"/v1/licences/{ids.business}/status")
    assert response.status == 403
    record = await _record_of(app, response)
    assert (record.partner_id, record.result) == (slow.partner, "scope_denied")
    assert record.target == app[KEYRING].usage_target(ids.business)

    responses = [await slow.get("/v1/audit") for _ in range(4)]
    limited = [r for r in responses if r.status == 429]
    assert limited
    record = await _record_of(app, limited[0])
    assert (record.partner_id, record.result, record.endpoint) == (
        slow.partner,
        "rate_limited",
        "audit_records",
    )


async def test_public_pages_and_unrouted_paths_are_recorded(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, _ = seeded
    app = _app(client)
    response = await client.client.get("/v1/ledger/sth")
    assert response.status == 200
    record = await _record_of(app, response)
    assert (record.endpoint, record.result, record.partner_id, record.target) == (
        "ledger_sth",
        "200",
        None,
        None,
    )

    response = await client.client.get("/no/such/page")
    assert response.status == 404
    record = await _record_of(app, response)
    assert (record.endpoint, record.result) == ("unmatched", "not_found")

    token = "NOT-A-TOKEN"
    response = await client.client.get(f"/v/{token}")
    assert response.status == 400
    record = await _record_of(app, response)
    assert (record.endpoint, record.result) == ("scan_page", "400")
    assert token not in repr(record)


async def test_seal_routes_name_the_seal_and_other_ids_name_nothing(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, _ = seeded
    app = _app(client)
    response = await client.client.get("/v1/seals/4301000000001")
    record = await _record_of(app, response)
    assert record.endpoint == "seal_show"
    assert record.target == app[KEYRING].usage_target("4301000000001")
    response = await client.client.get("/v1/admin/applications/a_123")
    record = await _record_of(app, response)
    assert (record.endpoint, record.target) == ("admin_application", None)


async def test_verifications_keep_exactly_their_own_record(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    app = _app(client)
    token = await qr_token(client, ids.business)
    response = await client.post_json("/v1/verify/qr", {"token": token})
    body = await response.json()
    record = await _record_of(app, response)
    assert record.record_id == body["receipt"]["id"]
    assert (record.endpoint, record.result) == ("qr", "VALID")

    items = {"items": [{"kind": "qr", "token": token}, {"kind": "qr", "token": token}]}
    response = await client.post_json("/v1/verify/batch", items)
    receipts = {r["receipt"]["id"] for r in (await response.json())["results"]}
    assert {r.record_id for r in await _records_of(app, response)} == receipts

    # A verification refused before it ran is recorded by the middleware.
    response = await client.post_json("/v1/verify/qr", {"token": 5})
    assert response.status == 400
    record = await _record_of(app, response)
    assert (record.endpoint, record.result) == ("verify_qr", "malformed_input")

    # The scan page records the verification once, with its verdict.
    response = await client.client.get(f"/v/{token}")
    assert response.status == 200
    record = await _record_of(app, response)
    assert (record.endpoint, record.result) == ("qr", "VALID")
    assert (await verify_qr(client, token))["result"] == "VALID"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"])
async def test_probes_metrics_and_docs_are_not_recorded(
    seeded: tuple[SignedClient, Seeded], path: str
) -> None:
    client, _ = seeded
    app = _app(client)
    before = len(await _all_records(app))
    response = await client.client.get(path)
    assert response.status in {200, 503}
    assert await _records_of(app, response) == []
    assert len(await _all_records(app)) == before
