"""Partner policy on the verification and licence endpoints: scopes,
licence-type limits, full disclosure only with ``licence:read-full`` and
the holder's consent (QR flag or an explicit grant) and always audited,
single-use QR tokens (Redis ``SET NX EX``). Real store, keys, Redis."""

from __future__ import annotations

import asyncio
import functools
import time

import orjson
from aiohttp import ClientResponse
from pytest_aiohttp import AiohttpClient

from pyservice import merkle
from pyservice.appkeys import APPLICATIONS, KEYRING, LEDGER, PARTNERS, STORE, USAGE
from pyservice.settings import Settings
from pyservice.store import ConsentRow
from pyservice.usage import record_leaf
from tests.partner_testkit import SignedClient, add_partner
from tests.redis_testkit import RedisServer
from tests.registry_testkit import DRIVING_TYPE, HOLDER_PERSON
from tests.verify_testkit import ALL_SCOPES, holder_of, qr_token, signed_client, verify_qr


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


async def _error(response: ClientResponse) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def test_a_holder_credential_acts_only_on_its_holders_licences(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids = await signed_client(aiohttp_client, settings)
    holder = holder_of(client, ids.driving)
    own = await holder.post_json(f"/v1/licences/{ids.driving}/qr", {})
    assert own.status == 200
    assert (await verify_qr(client, (await own.json())["token"]))["result"] == "VALID"

    # another holder's licence and an unknown id get the same answer
    other = await holder.post_json(f"/v1/licences/{ids.business}/qr", {})
    unknown = await holder.post_json("/v1/licences/no-such-licence/qr", {})
    assert await _error(other) == (403, "not_holder")
    assert await _error(unknown) == (403, "not_holder")
    other_body, unknown_body = await other.json(), await unknown.json()
    assert other_body["error"]["message"] == unknown_body["error"]["message"]
    for path in (f"/v1/licences/{ids.business}/usage", "/v1/licences/no-such-licence/usage"):
        response = await holder.get(path)
        assert await _error(response) == (403, "not_holder")
        assert (await response.json())["error"]["message"] == other_body["error"]["message"]

    # a partner holding every other scope is not a holder
    for response in (
        await client.post_json(f"/v1/licences/{ids.driving}/qr", {}),
        await client.get(f"/v1/licences/{ids.driving}/usage"),
    ):
        assert await _error(response) == (403, "scope_denied")
    # ... and a holder credential may do nothing else
    for response in (
        await holder.get(f"/v1/licences/{ids.driving}/status"),
        await holder.post_json("/v1/verify/qr", {"token": (await own.json())["token"]}),
    ):
        assert await _error(response) == (403, "scope_denied")
    # unsigned, badly signed, suspended
    unsigned = await client.client.post(f"/v1/licences/{ids.driving}/qr", json={})
    assert await _error(unsigned) == (401, "missing_credentials")
    forged = SignedClient(client.client, holder.partner, holder.secret + "x")
    assert await _error(await forged.get(f"/v1/licences/{ids.driving}/usage")) == (
        401,
        "bad_signature",
    )
    app = client.client.app
    await asyncio.to_thread(app[PARTNERS].suspend, holder.partner)
    suspended = await holder.post_json(f"/v1/licences/{ids.driving}/qr", {})
    assert await _error(suspended) == (401, "partner_suspended")


async def test_a_holder_sees_who_verified_their_licence_and_why(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids = await signed_client(aiohttp_client, settings)
    app = client.client.app
    bank_id, bank_secret = add_partner(app, scopes=("verify:qr",), name="示例银行")
    bank = SignedClient(client.client, bank_id, bank_secret)
    hr_id, hr_secret = add_partner(app, scopes=("verify:qr",), name="示例人力资源公司")
    hr = SignedClient(client.client, hr_id, hr_secret)
    applications = app[APPLICATIONS]
    filed = applications.apply(hr_id, purpose="入职背景核验", scopes="verify:qr")
    applications.approve(filed.id, by="test")

    token = await qr_token(client, ids.driving)
    declared = await bank.post_json(
        "/v1/verify/qr",
        {"token": token},
        extra_headers={"X-Sidian-Purpose": "开户核验 KYC"},
    )
    assert declared.status == 200
    await asyncio.sleep(0.002)  # distinct times: the order below is by time
    assert (await verify_qr(hr, token))["result"] == "VALID"
    await asyncio.sleep(0.002)
    assert (await client.client.get(f"/v/{token}")).status == 200
    # another licence's checks are not listed
    assert (await verify_qr(bank, await qr_token(client, ids.business)))["result"] == "VALID"
    await app[USAGE].flush()

    holder = holder_of(client, ids.driving)
    response = await holder.get(f"/v1/licences/{ids.driving}/usage")
    assert response.status == 200
    page = await response.json()
    assert page["id"] == ids.driving
    assert page["next_cursor"] is None
    records = page["records"]
    assert [(r["partner"], r["purpose"], r["purpose_source"]) for r in records] == [
        (None, None, None),
        ({"id": hr_id, "name": "示例人力资源公司"}, "入职背景核验", "application"),
        ({"id": bank_id, "name": "示例银行"}, "开户核验 KYC", "declared"),
    ]
    assert {(r["endpoint"], r["result"], r["full_disclosure"]) for r in records} == {
        ("qr", "VALID", False)
    }
    assert records[2]["id"] == (await declared.json())["receipt"]["id"]

    # one record a page, newest first, following the cursor
    seen: list[str] = []
    target = f"/v1/licences/{ids.driving}/usage?limit=1"
    while True:
        response = await holder.get(target)
        assert response.status == 200
        body = await response.json()
        seen.extend(r["id"] for r in body["records"])
        if body["next_cursor"] is None:
            break
        target = f"/v1/licences/{ids.driving}/usage?limit=1&cursor={body['next_cursor']}"
    assert seen == [r["id"] for r in records]

    # the holder of the business licence sees only its own
    business = holder_of(client, ids.business)
    response = await business.get(f"/v1/licences/{ids.business}/usage")
    (only,) = (await response.json())["records"]
    assert only["partner"]["id"] == bank_id
    assert await _error(await business.get(f"/v1/licences/{ids.driving}/usage")) == (
        403,
        "not_holder",
    )


async def test_usage_and_purpose_bad_input_is_400(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    client, ids = await signed_client(aiohttp_client, settings)
    holder = holder_of(client, ids.driving)
    base = f"/v1/licences/{ids.driving}/usage"
    cases = [
        (f"{base}?limit=0", "malformed_limit"),
        (f"{base}?limit=101", "malformed_limit"),
        (f"{base}?limit=x", "malformed_limit"),
        (f"{base}?limit=%EF%BC%91", "malformed_limit"),  # a full-width digit one
        (f"{base}?limit={'9' * 5000}", "malformed_limit"),  # past int()'s digit limit
        (f"{base}?limit=", "malformed_limit"),
        (f"{base}?cursor=abc", "malformed_cursor"),
        (f"{base}?cursor=1.{'g' * 24}", "malformed_cursor"),
        (f"{base}?colour=red", "malformed_input"),
        (f"/v1/licences/{'x' * 201}/usage", "malformed_input"),
    ]
    for path, code in cases:
        assert await _error(await holder.get(path)) == (400, code), path
    # a declared purpose is bounded and printable; refused before any work
    token = await qr_token(client, ids.driving)
    for purpose in ("x" * 201, "tab\there", "zero\u200bwidth"):
        response = await client.post_json(
            "/v1/verify/qr", {"token": token}, extra_headers={"X-Sidian-Purpose": purpose}
        )
        assert await _error(response) == (400, "malformed_purpose"), purpose
    app = client.client.app
    await app[USAGE].flush()
    rows = await asyncio.to_thread(app[STORE].usage_records, 0, 100)
    assert all(r.endpoint != "qr" for r in rows)  # none of those was verified
    # blank counts as not declared
    ok = await client.post_json(
        "/v1/verify/qr", {"token": token}, extra_headers={"X-Sidian-Purpose": "  "}
    )
    assert ok.status == 200


async def test_a_full_disclosure_is_provable_from_the_ledger(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    """A disclosure has no ledger entry of its own: it is the usage record
    (``full: true``) of the call that disclosed, whose batch root is in a
    ``usage.batch`` entry — so the record is proved by an inclusion proof."""
    client, ids = await signed_client(aiohttp_client, settings)
    app = client.client.app
    partner, secret = add_partner(app, scopes=("verify:qr", "licence:read-full"))
    reader = SignedClient(client.client, partner, secret)
    result = await verify_qr(reader, await qr_token(client, ids.driving, consent=True))
    assert result["licence"]["holder"]["id"] == HOLDER_PERSON
    await app[USAGE].flush()
    store = app[STORE]
    (disclosure,) = await asyncio.to_thread(store.disclosures, ids.driving, partner)

    target = app[KEYRING].usage_target(ids.driving)
    rows = await asyncio.to_thread(functools.partial(store.usage_query, target=target, limit=10))
    (record,) = [r for r in rows if r.request_id == disclosure.request_id]
    assert record.full_disclosure
    assert record.record_id == result["receipt"]["id"]
    batch = await asyncio.to_thread(store.usage_batch, record.batch_root, 10_000)
    assert merkle.root([record_leaf(r) for r in batch]) == record.batch_root
    head = store.ledger_head()
    assert head is not None
    (entry,) = [
        leaf
        for leaf in store.ledger_leaves(0, head.tree_size)
        if leaf.kind == "usage.batch"
        and orjson.loads(leaf.entry)["root"] == record.batch_root.hex()
    ]
    proof = await app[LEDGER].inclusion_proof(entry.leaf_hash, None)
    merkle.verify_inclusion(  # raises unless it proves the entry
        entry.leaf_hash, proof.index, proof.sth.tree_size, proof.proof, proof.sth.root
    )
    # an altered record no longer matches the root on the ledger
    altered = [
        r._replace(full_disclosure=False) if r.record_id == record.record_id else r for r in batch
    ]
    assert merkle.root([record_leaf(r) for r in altered]) != record.batch_root
