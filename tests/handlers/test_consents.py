"""A holder's consents over HTTP, with the holder credential of the
licence's holder: full disclosure follows the consent, each grant and
withdrawal is a ledger entry, and nobody else can give or take one.
Real store, keys and ledger."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import ClientResponse
from jsonschema import Draft202012Validator
from pytest_aiohttp import AiohttpClient

from pyservice.appkeys import KEYRING, STORE
from pyservice.settings import Settings
from tests.partner_testkit import SignedClient, add_partner
from tests.registry_testkit import HOLDER_PERSON
from tests.verify_testkit import Seeded, holder_of, qr_token, signed_client, verify_qr


async def _error(response: ClientResponse) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def _valid(client: SignedClient, response: ClientResponse, path: str, method: str) -> Any:
    document = await (await client.client.get("/openapi.json")).json()
    responses = document["paths"][path][method]["responses"]
    schema = responses[str(response.status)]["content"]["application/json"]["schema"]
    body = await response.json()
    Draft202012Validator({**schema, "components": document["components"]}).validate(body)
    return body


async def _setup(
    aiohttp_client: AiohttpClient, settings: Settings
) -> tuple[SignedClient, Seeded, SignedClient, SignedClient]:
    """The seeded app with a verifying partner (``client``), its ids, a
    partner that may read in full, and the driving licence's holder."""
    client, ids = await signed_client(aiohttp_client, settings)
    reader = SignedClient(
        client.client, *add_partner(client.client.app, scopes=("verify:qr", "licence:read-full"))
    )
    return client, ids, reader, holder_of(client, ids.driving)


async def test_a_holder_grants_and_withdraws_a_consent(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids, reader, holder = await _setup(aiohttp_client, settings)
    app = client.client.app
    reader_id = reader.partner
    masked = "1101**********002X"

    before = await verify_qr(reader, await qr_token(client, ids.driving))
    assert before["licence"]["holder"]["id"] == masked
    response = await holder.post_json(
        f"/v1/licences/{ids.driving}/consents", {"partner": reader_id, "days": 30}
    )
    assert response.status == 201
    granted = await _valid(client, response, "/v1/licences/{id}/consents", "post")
    assert (granted["id"], granted["partner"]) == (ids.driving, reader_id)
    assert granted["expires_at"] is not None
    full = await verify_qr(reader, await qr_token(client, ids.driving))
    assert full["licence"]["holder"]["id"] == HOLDER_PERSON

    path = f"/v1/licences/{ids.driving}/consents/{reader_id}"
    response = await holder.request("DELETE", path)
    withdrawn = await _valid(client, response, "/v1/licences/{id}/consents/{partner}", "delete")
    assert withdrawn["revoked"] is True
    again = await _valid(
        client,
        await holder.request("DELETE", path),
        "/v1/licences/{id}/consents/{partner}",
        "delete",
    )
    assert (again["revoked"], again["ledger_index"]) == (False, None)
    after = await verify_qr(reader, await qr_token(client, ids.driving))
    assert after["licence"]["holder"]["id"] == masked

    # both are ledger entries by this holder credential, naming the licence
    # only by its keyed hash
    store = app[STORE]
    entries = {
        i: orjson.loads(store.ledger_leaves(i, i + 1)[0].entry)
        for i in (granted["ledger_index"], withdrawn["ledger_index"])
    }
    target = app[KEYRING].usage_target(ids.driving).hex()
    assert [(e["kind"], e["partner"], e["target"], e["actor"]) for e in entries.values()] == [
        ("consent.granted", reader_id, target, f"holder:{holder.partner}"),
        ("consent.revoked", reader_id, target, f"holder:{holder.partner}"),
    ]
    assert ids.driving.encode() not in orjson.dumps(list(entries.values()))


async def test_only_the_holder_may_consent_and_bad_requests_are_400(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids, reader, holder = await _setup(aiohttp_client, settings)
    grant, reader_id = f"/v1/licences/{ids.driving}/consents", reader.partner
    revoke = f"{grant}/{reader_id}"
    other = holder_of(client, ids.business)
    for response in (
        await other.post_json(grant, {"partner": reader_id}),
        await other.request("DELETE", revoke),
        await holder.post_json("/v1/licences/no-such-licence/consents", {"partner": reader_id}),
    ):
        assert await _error(response) == (403, "not_holder")
    for response in (
        await client.post_json(grant, {"partner": reader_id}),
        await client.request("DELETE", revoke),
    ):
        assert await _error(response) == (403, "scope_denied")
    unsigned = await client.client.post(grant, json={"partner": reader_id})
    assert await _error(unsigned) == (401, "missing_credentials")
    bodies: list[Any] = [
        {},
        [],
        {"partner": reader_id, "days": 0},
        {"partner": reader_id, "days": 3651},
        {"partner": reader_id, "days": True},
        {"partner": reader_id, "days": "30"},
        {"partner": 7},
        {"partner": "x" * 65},
        {"partner": reader_id, "extra": 1},
    ]
    for body in bodies:
        response = await holder.post_json(grant, body)
        assert await _error(response) == (400, "malformed_input"), body
    response = await holder.request("POST", grant, body=b"{not json")
    assert await _error(response) == (400, "malformed_json")
    for partner in ("p_0000000000000000", holder.partner):  # a holder credential is no partner
        response = await holder.post_json(grant, {"partner": partner})
        assert await _error(response) == (404, "unknown_partner"), partner
    assert (await holder.request("DELETE", f"{grant}/p_0000000000000000")).status == 404
    # nothing was recorded by any of these
    store = client.client.app[STORE]
    head = store.ledger_head()
    assert head is not None
    kinds = {leaf.kind for leaf in store.ledger_leaves(0, head.tree_size)}
    assert not kinds & {"consent.granted", "consent.revoked"}
    assert store.consent_get(ids.driving, reader_id) is None
