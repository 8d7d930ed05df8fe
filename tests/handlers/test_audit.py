"""GET /v1/audit with a real app, store and signed partners: admin only,
filters (partner, licence by keyed hash, time, result, endpoint), paging with
the opaque cursor, and strict parameter validation."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from pytest_aiohttp import AiohttpClient

from pyservice.appkeys import KEYRING, STORE, USAGE
from pyservice.settings import Settings
from tests.partner_testkit import SignedClient, add_partner
from tests.verify_testkit import ALL_SCOPES, Seeded, qr_token, signed_client, verify_qr


@dataclasses.dataclass
class Audit:
    admin: SignedClient
    other: SignedClient
    ids: Seeded
    receipts: list[str]

    async def flush(self) -> None:
        app = self.admin.client.app
        assert app is not None
        await app[USAGE].flush()

    async def query(self, **params: Any) -> tuple[int, dict[str, Any]]:
        target = "/v1/audit" + (f"?{urlencode(params, quote_via=quote)}" if params else "")
        response = await self.admin.get(target)
        return response.status, await response.json()

    async def records(self, **params: Any) -> list[dict[str, Any]]:
        await self.flush()
        status, body = await self.query(**params)
        assert status == 200, body
        records: list[dict[str, Any]] = body["records"]
        return records


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@pytest.fixture
async def audit(aiohttp_client: AiohttpClient, settings: Settings) -> Audit:
    admin, ids = await signed_client(aiohttp_client, settings, scopes=(*ALL_SCOPES, "admin"))
    app = admin.client.app
    assert app is not None
    partner, secret = add_partner(app, scopes=("verify:qr",))
    other = SignedClient(admin.client, partner, secret)
    token = await qr_token(admin, ids.business)
    receipts = [(await verify_qr(other, token))["receipt"]["id"] for _ in range(3)]
    status = await admin.get(f"/v1/licences/{ids.driving}/status")
    assert status.status == 200
    return Audit(admin, other, ids, receipts)


async def test_admin_sees_every_call(audit: Audit) -> None:
    records = await audit.records()
    assert {r["id"] for r in records} >= set(audit.receipts)
    endpoints = [r["endpoint"] for r in records]
    assert endpoints.count("qr") == 3  # one record per verification, no double
    assert "licence_qr" in endpoints
    assert "licence_status" in endpoints
    # newest first
    at = [r["at_ms"] for r in records]
    assert at == sorted(at, reverse=True)
    qr = next(r for r in records if r["id"] == audit.receipts[0])
    assert qr["partner"] == audit.other.partner
    assert qr["result"] == "VALID"
    assert qr["full"] is False
    assert len(qr["target"]) == 32
    assert audit.ids.business not in str(records)  # never an id in clear


async def test_a_partner_without_admin_is_refused_and_that_is_recorded(audit: Audit) -> None:
    response = await audit.other.get("/v1/audit")
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "scope_denied"
    refused = await audit.records(endpoint="audit_records", partner=audit.other.partner)
    assert [r["result"] for r in refused] == ["scope_denied"]


async def test_filters(audit: Audit) -> None:
    app = audit.admin.client.app
    assert app is not None
    mine = await audit.records(partner=audit.other.partner)
    assert {r["id"] for r in mine} == set(audit.receipts)

    business = await audit.records(licence=audit.ids.business)
    target = app[KEYRING].usage_target(audit.ids.business).hex()
    assert {r["target"] for r in business} == {target}
    assert {r["endpoint"] for r in business} == {"qr", "licence_qr"}
    driving = await audit.records(licence=audit.ids.driving)
    assert [r["endpoint"] for r in driving] == ["licence_status"]
    assert await audit.records(licence="no-such-licence") == []

    assert {r["id"] for r in await audit.records(result="VALID")} == set(audit.receipts)
    assert [r["endpoint"] for r in await audit.records(endpoint="licence_status")] == [
        "licence_status"
    ]
    assert await audit.records(endpoint="licence_status", partner=audit.other.partner) == []


async def test_time_filters(audit: Audit) -> None:
    records = await audit.records()
    times = sorted({r["at_ms"] for r in records})
    middle = times[len(times) // 2]

    since = await audit.records(since=_iso(middle))
    assert since
    assert all(r["at_ms"] >= middle for r in since)
    until = await audit.records(until=_iso(middle))
    assert all(r["at_ms"] < middle for r in until)
    # since + until partition everything recorded up to the first query
    assert {r["id"] for r in records} <= {r["id"] for r in since} | {r["id"] for r in until}
    beijing = datetime.fromtimestamp(middle / 1000, UTC).astimezone(timezone(timedelta(hours=8)))
    assert {r["id"] for r in await audit.records(since=beijing.isoformat())} >= {
        r["id"] for r in since if r["at_ms"] < middle + 1
    }
    future = await audit.records(since="2099-01-01T00:00:00Z")
    assert future == []


async def test_paging_walks_every_record_once(audit: Audit) -> None:
    everything = await audit.records(limit=1000)
    seen: list[dict[str, Any]] = []
    # (until: not the calls made while paging)
    params: dict[str, Any] = {"limit": 2, "until": _iso(everything[0]["at_ms"] + 1)}
    pages = 0
    while True:
        status, body = await audit.query(**params)
        assert status == 200, body
        assert len(body["records"]) <= 2
        seen.extend(body["records"])
        pages += 1
        if body["next"] is None:
            break
        params["cursor"] = body["next"]
    expected = [r for r in everything if r["at_ms"] <= everything[0]["at_ms"]]
    assert [r["id"] for r in seen] == [r["id"] for r in expected]
    assert pages == -(-len(expected) // 2)  # no empty last page


async def test_default_limit_is_100(audit: Audit) -> None:
    app = audit.admin.client.app
    assert app is not None
    for i in range(120):
        app[USAGE].record_call(
            endpoint="ledger_sth",
            target_id=None,
            result="200",
            latency=0.0,
            request_id=f"r{i}",
            partner_id=None,
            client=None,
        )
    await audit.flush()
    status, body = await audit.query()
    assert status == 200
    assert len(body["records"]) == 100
    assert body["next"] is not None
    status, body = await audit.query(limit=1000)
    assert 120 < len(body["records"]) < 1000
    assert body["next"] is None
    await audit.flush()
    rows = await asyncio.to_thread(app[STORE].usage_query, limit=5000)
    assert len(rows) == len(body["records"]) + 2  # plus the two listing calls


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "invalid_limit"),
        ("limit=1001", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("limit=-1", "invalid_limit"),
        ("limit=%EF%BC%91", "invalid_limit"),  # a full-width digit
        ("limit=", "invalid_limit"),
        ("since=yesterday", "invalid_time"),
        ("until=2026-11-27T10:00:00", "invalid_time"),
        ("since=2026-11-28T00:00:00Z&until=2026-11-27T00:00:00Z", "invalid_time"),
        ("since=2026-11-27T00:00:00Z&until=2026-11-27T00:00:00Z", "invalid_time"),
        ("cursor=nope", "invalid_cursor"),
        ("cursor=", "invalid_cursor"),
        ("licence=", "invalid_query"),
        ("licence=" + "x" * 201, "invalid_query"),
        ("partner=" + "p" * 65, "invalid_query"),
        ("result=", "invalid_query"),
        ("endpoint=" + "e" * 65, "invalid_query"),
        ("limit=5&limit=6", "invalid_query"),
        ("partner=a&partner=b", "invalid_query"),
        ("order=asc", "invalid_query"),
        ("licence_id=L1", "invalid_query"),
    ],
)
async def test_bad_parameters_are_400_with_a_stable_code(
    audit: Audit, query: str, code: str
) -> None:
    response = await audit.admin.get(f"/v1/audit?{query}")
    assert response.status == 400, await response.text()
    assert (await response.json())["error"]["code"] == code
