"""Partner policy on the verification and licence endpoints: scopes,
licence-type limits, full disclosure only with ``licence:read-full`` and
the holder's consent (QR flag or an explicit grant) and always audited,
single-use QR tokens (Redis ``SET NX EX``). Real store, keys, Redis."""

from __future__ import annotations

import asyncio
import time

from pytest_aiohttp import AiohttpClient

from pyservice.appkeys import STORE
from pyservice.settings import Settings
from pyservice.store import ConsentRow
from tests.partner_testkit import SignedClient, add_partner
from tests.redis_testkit import RedisServer
from tests.registry_testkit import DRIVING_TYPE, HOLDER_PERSON
from tests.verify_testkit import ALL_SCOPES, qr_token, signed_client, verify_qr


async def test_scopes_are_enforced(aiohttp_client: AiohttpClient, settings: Settings) -> None:
    holder, ids = await signed_client(aiohttp_client, settings)
    app = holder.client.app
    token = await qr_token(holder, ids.business)
    partner, secret = add_partner(app, scopes=("verify:qr",))
    scanner = SignedClient(holder.client, partner, secret)
    assert (await verify_qr(scanner, token))["result"] == "VALID"
    url = f"/v1/licences/{ids.business}/status"
    for response in (
        await scanner.post_json(url, {"status": "REVOKED", "reason": "x"}),
        await scanner.get(url),
        await scanner.post_json(f"/v1/licences/{ids.business}/qr", {}),
        await scanner.post_json("/v1/verify/licence", {}),
    ):
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "scope_denied"
    # a batch item of a kind the partner may not verify is refused on its own
    response = await scanner.post_json(
        "/v1/verify/batch",
        {"items": [{"kind": "qr", "token": token}, {"kind": "signature", "digest": "00"}]},
    )
    results = (await response.json())["results"]
    assert results[0]["result"] == "VALID"
    assert results[1]["error"]["code"] == "scope_denied"
    unsigned = await holder.client.post("/v1/verify/qr", json={"token": token})
    assert unsigned.status == 401


async def test_licence_type_limits(aiohttp_client: AiohttpClient, settings: Settings) -> None:
    holder, ids = await signed_client(aiohttp_client, settings)
    app = holder.client.app
    partner, secret = add_partner(
        app, scopes=("verify:qr", "status:read"), licence_types=(DRIVING_TYPE["code"],)
    )
    scanner = SignedClient(holder.client, partner, secret)
    assert (await verify_qr(scanner, await qr_token(holder, ids.driving)))["result"] == "VALID"
    business = await qr_token(holder, ids.business)
    response = await scanner.post_json("/v1/verify/qr", {"token": business})
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "licence_type_denied"
    response = await scanner.get(f"/v1/licences/{ids.business}/status")
    assert response.status == 403


async def test_no_full_disclosure_while_redis_is_down(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    holder, ids = await signed_client(aiohttp_client, settings, redis_url=redis_server.url)
    partner, secret = add_partner(holder.client.app, scopes=("verify:qr", "licence:read-full"))
    reader = SignedClient(holder.client, partner, secret)
    token = await qr_token(holder, ids.driving, consent=True)
    assert (await verify_qr(reader, token))["licence"]["holder"]["id"] == HOLDER_PERSON
    redis_server.stop()
    # Admitted on this worker's nonce set only (a replay to another worker
    # cannot be ruled out): the answer is the masked one.
    during = await verify_qr(reader, token)
    assert during["result"] == "VALID"
    assert during["licence"]["holder"]["id"] == "1101**********002X"


async def test_full_disclosure_needs_consent_and_is_audited(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    holder, ids = await signed_client(aiohttp_client, settings)
    app = holder.client.app
    partner, secret = add_partner(app, scopes=("verify:qr", "licence:read-full"))
    reader = SignedClient(holder.client, partner, secret)

    plain = await verify_qr(reader, await qr_token(holder, ids.driving))
    assert plain["licence"]["holder"]["id"] == "1101**********002X"
    consented = await verify_qr(reader, await qr_token(holder, ids.driving, consent=True))
    assert consented["licence"]["holder"]["id"] == HOLDER_PERSON
    # consent in the token alone is not enough: the partner needs read-full
    assert (await verify_qr(holder, await qr_token(holder, ids.driving, consent=True)))["licence"][
        "holder"
    ]["id"] == "1101**********002X"

    store = app[STORE]
    await asyncio.to_thread(
        store.consent_put, ConsentRow(ids.driving, partner, int(time.time() * 1000), None)
    )
    granted = await verify_qr(reader, await qr_token(holder, ids.driving))
    assert granted["licence"]["holder"]["name"] == "李四"

    records = await asyncio.to_thread(store.disclosures, ids.driving, partner)
    assert [r.basis for r in records] == ["qr_consent", "grant"]
    assert set(records[0].fields) >= {"holder.id", "holder.name"}
    # an organisation's licence has nothing classified to disclose
    org = await verify_qr(reader, await qr_token(holder, ids.business, consent=True))
    assert org["result"] == "VALID"
    assert len(await asyncio.to_thread(store.disclosures, None, partner)) == 2


async def test_single_use_tokens(
    aiohttp_client: AiohttpClient, settings: Settings, redis_server: RedisServer
) -> None:
    holder, ids = await signed_client(aiohttp_client, settings, redis_url=redis_server.url)
    partner, secret = add_partner(
        holder.client.app, scopes=ALL_SCOPES, single_use_tokens=True, rate_per_s=1000.0
    )
    strict = SignedClient(holder.client, partner, secret)
    token = await qr_token(holder, ids.business)
    assert (await verify_qr(strict, token))["result"] == "VALID"
    again = await verify_qr(strict, token)
    assert again["result"] == "INVALID"
    assert {c["name"]: c["ok"] for c in again["checks"]}["token_single_use"] is False
    # other partners' policy is theirs: reuse within the lifetime is fine
    assert (await verify_qr(holder, token))["result"] == "VALID"


async def test_single_use_without_redis_fails_closed(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    holder, ids = await signed_client(aiohttp_client, settings)
    partner, secret = add_partner(holder.client.app, scopes=ALL_SCOPES, single_use_tokens=True)
    strict = SignedClient(holder.client, partner, secret)
    response = await strict.post_json(
        "/v1/verify/qr", {"token": await qr_token(holder, ids.business)}
    )
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "nonce_check_unavailable"
