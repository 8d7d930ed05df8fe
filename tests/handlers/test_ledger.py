"""The public ledger endpoints through the real app (SQLite in a tmp dir)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses

import pytest
from pytest_aiohttp import AiohttpClient

from pyservice import merkle
from pyservice.app import create_app
from pyservice.appkeys import LEDGER
from pyservice.ledger.entries import make_entry
from pyservice.ledger.keys import load_ledger_public_key
from pyservice.ledger.sth import sth_from_json, verify_sth
from pyservice.settings import Settings
from tests.conftest import Client
from tests.ledger_testkit import entry_fields


@pytest.fixture
async def ledger_client(aiohttp_client: AiohttpClient, settings: Settings) -> Client:
    app = create_app(dataclasses.replace(settings, ledger_batch_interval=0.01, ledger_batch_size=4))
    client = await aiohttp_client(app)
    ledger = client.app[LEDGER]
    indices = await asyncio.gather(*(ledger.append(entry_fields(i)) for i in range(10)))
    assert indices == list(range(10))  # batches of 4, 4, 2: STHs at 4, 8, 10
    return client


async def test_sth_is_signed_and_cacheable(ledger_client: Client, settings: Settings) -> None:
    response = await ledger_client.get("/v1/ledger/sth")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, no-cache"
    etag = response.headers["ETag"]
    sth = sth_from_json(await response.json())
    assert sth.tree_size == 10
    verify_sth(load_ledger_public_key(settings.data_dir), sth)
    again = await ledger_client.get("/v1/ledger/sth", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["ETag"] == etag


async def test_empty_ledger_has_a_signed_head(client: Client, settings: Settings) -> None:
    sth = sth_from_json(await (await client.get("/v1/ledger/sth")).json())
    assert sth.tree_size == 0
    verify_sth(load_ledger_public_key(settings.data_dir), sth)


async def test_inclusion_proof_with_its_sth(ledger_client: Client) -> None:
    leaf = merkle.leaf_hash(make_entry(entry_fields(6)).data)
    response = await ledger_client.get(f"/v1/ledger/proof/inclusion?leaf_hash={leaf.hex()}")
    assert response.status == 200
    body = await response.json()
    sth = sth_from_json(body["sth"])
    assert (body["index"], body["tree_size"], sth.tree_size) == (6, 10, 10)
    proof = [bytes.fromhex(h) for h in body["proof"]]
    merkle.verify_inclusion(leaf, 6, 10, proof, sth.root)
    fixed = await ledger_client.get(
        f"/v1/ledger/proof/inclusion?leaf_hash={leaf.hex()}&tree_size=8"
    )
    assert fixed.status == 200
    assert "immutable" in fixed.headers["Cache-Control"]
    body = await fixed.json()
    merkle.verify_inclusion(
        leaf, 6, 8, [bytes.fromhex(h) for h in body["proof"]], sth_from_json(body["sth"]).root
    )


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "malformed_input"),
        ("leaf_hash=zz", 400, "malformed_input"),
        ("leaf_hash=" + "g" * 64, 400, "malformed_input"),
        ("leaf_hash=" + "00" * 32, 404, "unknown_leaf"),
        ("leaf_hash=" + "00" * 32 + "&tree_size=-1", 400, "malformed_input"),
        ("leaf_hash=" + "00" * 32 + "&tree_size=99999999999999999999", 400, "malformed_input"),
        ("leaf_hash=" + "00" * 32 + "&tree_size=11", 404, "tree_size_beyond_current"),
        ("leaf_hash=" + "00" * 32 + "&tree_size=5", 404, "unknown_tree_head"),
    ],
)
async def test_inclusion_errors(ledger_client: Client, query: str, status: int, code: str) -> None:
    response = await ledger_client.get(f"/v1/ledger/proof/inclusion?{query}")
    assert response.status == status
    assert (await response.json())["error"]["code"] == code


async def test_consistency_proof(ledger_client: Client) -> None:
    sths = {}
    for size in (4, 8, 10):
        sth = ledger_client.app[LEDGER].store.ledger_sth(size)
        assert sth is not None
        sths[size] = sth
    response = await ledger_client.get("/v1/ledger/proof/consistency?first=4&second=10")
    assert response.status == 200
    assert "ETag" in response.headers
    body = await response.json()
    assert sth_from_json(body["first_sth"]) == sths[4]
    merkle.verify_consistency(
        4, 10, [bytes.fromhex(h) for h in body["proof"]], sths[4].root, sths[10].root
    )
    for query, status in (
        ("first=0&second=4", 400),
        ("first=5&second=4", 400),
        ("first=4", 400),
        ("first=4&second=11", 404),
    ):
        assert (await ledger_client.get(f"/v1/ledger/proof/consistency?{query}")).status == status


async def test_entries_page(ledger_client: Client) -> None:
    response = await ledger_client.get("/v1/ledger/entries?start=2&end=5")
    assert response.status == 200
    body = await response.json()
    assert [e["index"] for e in body["entries"]] == [2, 3, 4]
    for e in body["entries"]:
        data = base64.b64decode(e["entry"])
        assert merkle.leaf_hash(data).hex() == e["leaf_hash"]
    for query, status in (
        ("start=0&end=1001", 400),
        ("start=5&end=5", 400),
        ("start=a&end=5", 400),
        ("start=0&end=11", 404),
    ):
        assert (await ledger_client.get(f"/v1/ledger/entries?{query}")).status == status
