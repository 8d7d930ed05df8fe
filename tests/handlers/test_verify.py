"""Verification endpoints end to end: real SQLite store, real keys and
crypto, the running app (issue → QR → verify; status changes; tampered,
foreign, expired and unknown tokens; malformed input; documents;
signatures; batches; usage records on the ledger)."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from pyservice import merkle
from pyservice.appkeys import KEYRING, LEDGER, REGISTRY, STORE, USAGE
from pyservice.crypto import PrivateKey, sm3
from pyservice.qr import TEXT_LEN, make_token
from pyservice.settings import Settings
from pyservice.usage import record_leaf
from tests.partner_testkit import SignedClient
from tests.verify_testkit import Seeded, checks, qr_token, signed_client, verify_qr
from tests.x509_testkit import SIGN_CERT_PEM, make_ca, pem


@pytest.fixture
async def seeded(aiohttp_client: AiohttpClient, settings: Settings) -> tuple[SignedClient, Seeded]:
    return await signed_client(aiohttp_client, settings)


async def test_issue_qr_then_verify_is_valid_with_a_masked_summary(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    token = await qr_token(client, ids.driving)
    assert len(token) == TEXT_LEN
    result = await verify_qr(client, token)
    assert result["result"] == "VALID", result
    assert result["status"] == "VALID"
    assert all(c["ok"] is True for c in result["checks"])
    assert set(checks(result)) == {
        "token_format",
        "token_signature",
        "token_lifetime",
        "licence_ref",
        "status",
        "validity_period",
    }
    holder = result["licence"]["holder"]
    assert holder["name"] == "李*"
    assert holder["id"] == "1101**********002X"
    assert result["licence"]["number"] == "1101**********002X"
    assert result["status_as_of"].endswith("Z")
    assert set(result["receipt"]) == {"id", "at"}
    # A repeat scan is answered from the caches, with the same verdict.
    again = await verify_qr(client, token)
    assert again["result"] == "VALID"
    assert again["receipt"]["id"] != result["receipt"]["id"]


async def test_status_changes_show_at_once_and_illegal_ones_are_409(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    token = await qr_token(client, ids.business)
    assert (await verify_qr(client, token))["result"] == "VALID"
    url = f"/v1/licences/{ids.business}/status"

    response = await client.post_json(url, {"status": "SUSPENDED", "reason": "检查"})
    assert response.status == 200, await response.text()
    change = await response.json()
    assert (change["from"], change["to"]) == ("VALID", "SUSPENDED")
    result = await verify_qr(client, token)
    assert (result["result"], result["status"]) == ("INVALID", "SUSPENDED")
    assert checks(result)["status"] is False
    status = await (await client.get(url)).json()
    assert status["status"] == "SUSPENDED"
    assert status["status_as_of"].endswith("Z")

    await client.post_json(url, {"status": "VALID", "reason": "复核"})
    assert (await verify_qr(client, token))["result"] == "VALID"

    await client.post_json(url, {"status": "REVOKED", "reason": "吊销"})
    result = await verify_qr(client, token)
    assert (result["result"], result["status"]) == ("INVALID", "REVOKED")
    response = await client.post_json(url, {"status": "VALID", "reason": "no"})
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "illegal_status_transition"
    response = await client.post_json(url, {"status": "EXPIRED", "reason": "no"})
    assert response.status == 409


async def test_expired_and_not_yet_valid_licences_are_invalid(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    result = await verify_qr(client, await qr_token(client, ids.expired))
    assert (result["result"], result["status"]) == ("INVALID", "EXPIRED")
    assert checks(result)["validity_period"] is False
    result = await verify_qr(client, await qr_token(client, ids.future))
    assert (result["result"], result["status"]) == ("INVALID", "VALID")
    assert checks(result)["validity_period"] is False


def _flip(token: str, position: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "="))
    raw[position] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


async def test_a_token_tampered_at_any_byte_is_never_valid(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    token = await qr_token(client, ids.business)
    seen: dict[Any, int] = {}
    for position in range(104):
        response = await client.post_json("/v1/verify/qr", {"token": _flip(token, position)})
        body = await response.json()
        if response.status == 400:
            assert body["error"]["code"] == "malformed_token"
            key: Any = 400
        else:
            assert response.status == 200
            assert body["result"] == "INVALID", (position, body)
            key = next(c["name"] for c in body["checks"] if c["ok"] is False)
        seen[key] = seen.get(key, 0) + 1
    # version/flags/lifetime bytes are malformed; the rest fail a check
    assert seen.get("token_signature", 0) > 60
    assert (await verify_qr(client, token))["result"] == "VALID"


async def test_foreign_key_expired_token_and_unknown_licence(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    now = int(time.time())
    foreign = make_token(PrivateKey.generate(), ids.business, now=now)
    result = await verify_qr(client, foreign)
    assert result["result"] == "INVALID"
    assert checks(result)["token_signature"] is False
    assert result["licence"] is None

    assert client.client.app is not None
    _, platform = client.client.app[KEYRING].qr_signing_key()
    expired = make_token(platform, ids.business, now=now - 600, lifetime=180)
    result = await verify_qr(client, expired)
    assert result["result"] == "INVALID"
    assert checks(result)["token_lifetime"] is False
    # inside the 30 s skew a token from the near future is fine; beyond it not
    assert (await verify_qr(client, make_token(platform, ids.business, now=now + 20)))[
        "result"
    ] == "VALID"
    result = await verify_qr(client, make_token(platform, ids.business, now=now + 90))
    assert checks(result)["token_lifetime"] is False

    unknown = make_token(platform, ids.business.replace("V00001", "X99999"), now=now)
    result = await verify_qr(client, unknown)
    assert (result["result"], result["status"]) == ("INVALID", "UNDETERMINED")
    assert checks(result)["licence_ref"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"token": "!" * TEXT_LEN}, "malformed_token"),
        ({"token": "A" * (TEXT_LEN - 1)}, "malformed_token"),
        ({"token": "é" * TEXT_LEN}, "malformed_token"),
        ({"token": 5}, "malformed_input"),
        ({"token": "x", "extra": 1}, "malformed_input"),
        ([], "malformed_input"),
    ],
)
async def test_malformed_requests_are_400(
    seeded: tuple[SignedClient, Seeded], body: Any, code: str
) -> None:
    client, _ = seeded
    response = await client.post_json("/v1/verify/qr", body)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == code


async def test_not_json_and_too_large(seeded: tuple[SignedClient, Seeded]) -> None:
    client, _ = seeded
    response = await client.request("POST", "/v1/verify/qr", body=b"{not json")
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_json"
    big = b"x" * (2 << 20)
    headers = client.headers("POST", "/v1/verify/qr", big)
    response = await client.client.post("/v1/verify/qr", data=io.BytesIO(big), headers=headers)
    assert response.status == 413


async def test_signed_licence_document(seeded: tuple[SignedClient, Seeded]) -> None:
    client, ids = seeded
    assert client.client.app is not None
    document = await client.client.app[REGISTRY].export(ids.business)
    response = await client.post_json("/v1/verify/licence", document)
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["result"] == "VALID", result
    assert result["licence"]["id"] == ids.business
    # without the proof the stored one is used
    document_without = {k: v for k, v in document.items() if k != "ledger"}
    result = await (await client.post_json("/v1/verify/licence", document_without)).json()
    assert result["result"] == "VALID", result
    # a changed body no longer matches the signature nor the ledger
    document["licence"]["face"]["registered_capital"] = "999万元"
    result = await (await client.post_json("/v1/verify/licence", document)).json()
    assert result["result"] == "INVALID"
    assert checks(result)["signature"] is False
    response = await client.request(
        "POST", "/v1/verify/licence", body=b'{"licence": {}, "licence": {}}'
    )
    assert response.status == 400


async def test_sm2_signatures_over_data_and_digest(seeded: tuple[SignedClient, Seeded]) -> None:
    client, _ = seeded
    key = PrivateKey.generate()
    data = "申请材料".encode()
    signature = key.sign(data)
    public = key.public_key().to_bytes().hex()
    request = {
        "data": base64.b64encode(data).decode(),
        "public_key": public,
        "signature": base64.b64encode(signature).decode(),
    }
    result = await (await client.post_json("/v1/verify/signature", request)).json()
    assert result["result"] == "VALID", result
    request["data"] = base64.b64encode(data + b"!").decode()
    result = await (await client.post_json("/v1/verify/signature", request)).json()
    assert result["result"] == "INVALID"

    e = sm3(key.public_key().za(b"1234567812345678") + data)
    digest_request = {
        "digest": e.hex(),
        "public_key": base64.b64encode(key.public_key().to_der()).decode(),
        "signature": base64.b64encode(key.sign_digest(e, raw=True)).decode(),
    }
    result = await (await client.post_json("/v1/verify/signature", digest_request)).json()
    assert result["result"] == "VALID", result

    # by kid: an issuer key of the trust list
    assert client.client.app is not None
    keyring = client.client.app[KEYRING]
    row, issuer_key = keyring.signing_key("11430000006122244L")
    kid_request = {
        "data": base64.b64encode(data).decode(),
        "kid": row.kid,
        "signature": base64.b64encode(issuer_key.sign(data)).decode(),
    }
    result = await (await client.post_json("/v1/verify/signature", kid_request)).json()
    assert result["result"] == "VALID", result
    assert checks(result) == {"signer_key": True, "signature": True}
    kid_request["kid"] = "0" * 16
    result = await (await client.post_json("/v1/verify/signature", kid_request)).json()
    assert result["result"] == "INVALID"

    for bad in (
        {**request, "kid": row.kid},
        {"signature": request["signature"], "public_key": public},
        {**request, "public_key": "zz"},
        {**request, "signature": "AAAA"},
        {**digest_request, "digest": "00"},
    ):
        response = await client.post_json("/v1/verify/signature", bad)
        assert response.status == 400, bad


def _cert_request(key: PrivateKey, cert: str, data: bytes = b"material") -> dict[str, Any]:
    return {
        "data": base64.b64encode(data).decode(),
        "certificate": cert,
        "signature": base64.b64encode(key.sign(data)).decode(),
    }


async def test_sm2_signatures_with_a_certificate_need_a_trust_anchor(
    aiohttp_client: AiohttpClient, settings: Settings, tmp_path: Path
) -> None:
    ca, other = make_ca(), make_ca("Other CA")
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "ca.pem").write_text(pem(ca.der))
    (anchors / "other.der").write_bytes(other.der)
    (anchors / "README").write_text("not a certificate: ignored")
    key = PrivateKey.generate()
    leaf = ca.leaf(key)
    request = _cert_request(key, pem(leaf))
    expired = _cert_request(
        key, pem(ca.leaf(key, not_before=int(time.time()) - 9 * 86_400, days=2))
    )
    untrusted = _cert_request(key, base64.b64encode(make_ca("Stranger").leaf(key)).decode())

    client, _ = await signed_client(aiohttp_client, settings, trust_anchors=anchors)
    result = await (await client.post_json("/v1/verify/signature", request)).json()
    assert result["result"] == "VALID", result
    assert checks(result) == {
        "certificate_validity": True,
        "certificate_key_usage": True,
        "certificate_chain": True,
        "signature": True,
    }
    for bad in (expired, untrusted, {**request, "data": "AAAA"}):
        result = await (await client.post_json("/v1/verify/signature", bad)).json()
        assert result["result"] == "INVALID", result
    batch = {"items": [{"kind": "signature", **request}, {"kind": "signature", **untrusted}]}
    results = (await (await client.post_json("/v1/verify/batch", batch)).json())["results"]
    assert [r["result"] for r in results] == ["VALID", "INVALID"]

    der = base64.b64encode(leaf).decode()
    for cert in ("MIIB", der[: len(der) // 2], "A" * 40, pem(leaf)[:-30], "junk" + pem(leaf)):
        response = await client.post_json("/v1/verify/signature", {**request, "certificate": cert})
        assert response.status == 400, cert
        assert (await response.json())["error"]["code"] == "malformed_certificate"


async def test_certificates_without_trust_anchors_are_undetermined(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, _ = seeded
    key = PrivateKey.generate()
    result = await (
        await client.post_json("/v1/verify/signature", _cert_request(key, pem(make_ca().leaf(key))))
    ).json()
    assert result["result"] == "UNDETERMINED", result
    assert result["checks"][2] == {
        "name": "certificate_chain",
        "ok": None,
        "detail": "no trust anchor configured",
    }
    real = SIGN_CERT_PEM.read_text()
    result = await (await client.post_json("/v1/verify/signature", _cert_request(key, real))).json()
    assert (result["result"], result["status"]) == ("INVALID", "EXPIRED")


async def test_batch_answers_each_item_and_reports_partial_failures(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    token = await qr_token(client, ids.business)
    items = [
        {"kind": "qr", "token": token},
        {"kind": "qr", "token": "!" * TEXT_LEN},
        {"kind": "nope"},
        {"kind": "signature", "digest": "00"},
        {"kind": "qr", "token": token},
        "not an object",
    ]
    response = await client.post_json("/v1/verify/batch", {"items": items})
    assert response.status == 200, await response.text()
    results = (await response.json())["results"]
    assert len(results) == len(items)
    assert results[0]["result"] == "VALID"
    assert results[1]["error"]["code"] == "malformed_token"
    assert results[2]["error"]["code"] == "malformed_input"
    assert results[3]["error"]["code"] == "malformed_input"
    assert results[4]["result"] == "VALID"
    assert results[5]["error"]["code"] == "malformed_input"
    too_many = {"items": [{"kind": "qr", "token": token}] * 1001}
    assert (await client.post_json("/v1/verify/batch", too_many)).status == 400
    assert (await client.post_json("/v1/verify/batch", {"items": []})).status == 400


async def test_usage_records_are_batched_to_the_store_and_the_ledger(
    seeded: tuple[SignedClient, Seeded],
) -> None:
    client, ids = seeded
    assert client.client.app is not None
    app = client.client.app
    token = await qr_token(client, ids.business)
    receipts = [(await verify_qr(client, token))["receipt"]["id"] for _ in range(3)]
    await app[USAGE].flush()
    rows = await asyncio.to_thread(app[STORE].usage_records, 0, 100)
    by_id = {row.record_id: row for row in rows}
    assert set(receipts) <= set(by_id)
    row = by_id[receipts[0]]
    assert row.endpoint == "qr"
    assert row.result == "VALID"
    assert row.target == app[KEYRING].usage_target(ids.business)
    assert ids.business.encode() not in row.target  # a keyed hash, not the id
    batch = sorted((r for r in rows if r.batch_root == row.batch_root), key=lambda r: r.batch_pos)
    assert merkle.root([record_leaf(r) for r in batch]) == row.batch_root
    # the root is on the ledger (usage.batch)
    head = await app[LEDGER].head()
    entries = await app[LEDGER].entries(0, head.tree_size)
    roots = [e.entry for e in entries if b'"usage.batch"' in e.entry]
    assert any(row.batch_root.hex().encode() in e for e in roots)
