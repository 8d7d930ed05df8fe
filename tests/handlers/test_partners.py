"""Access applications over HTTP, signed end to end: a partner applies, an
admin reviews; responses validate against the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from jsonschema import Draft202012Validator

from pyservice.appkeys import PARTNERS
from tests.conftest import Client
from tests.partner_testkit import BUSINESS_LICENCE, DRIVING_LICENCE, SignedClient, add_partner


async def _checked(
    client: Client, response: ClientResponse, path: str, method: str, status: int
) -> Any:
    assert response.status == status, await response.text()
    document = await (await client.get("/openapi.json")).json()
    schema = document["paths"][path][method]["responses"][str(status)]["content"][
        "application/json"
    ]["schema"]
    body = await response.json()
    Draft202012Validator({**schema, "components": document["components"]}).validate(body)
    return body


async def test_apply_review_and_the_grant_takes_effect(client: Client) -> None:
    pid, secret = add_partner(client.app, scopes=("status:read",))
    partner = SignedClient(client, pid, secret)
    admin_id, admin_secret = add_partner(client.app, scopes=("admin",))
    admin = SignedClient(client, admin_id, admin_secret)

    filed = await _checked(
        client,
        await partner.post_json(
            "/v1/partner/applications",
            {
                "purpose": "银行开户时核验营业执照",
                "scopes": ["verify:qr", "verify:licence"],
                "licence_types": [BUSINESS_LICENCE, DRIVING_LICENCE],
            },
        ),
        "/v1/partner/applications",
        "post",
        201,
    )
    assert (filed["status"], filed["overdue"]) == ("pending", False)
    mine = await _checked(
        client,
        await partner.get("/v1/partner/applications"),
        "/v1/partner/applications",
        "get",
        200,
    )
    assert [a["id"] for a in mine["applications"]] == [filed["id"]]

    # The partner cannot review its own application.
    denied = await partner.post_json(f"/v1/admin/applications/{filed['id']}/approve", {})
    assert denied.status == 403
    pending = await _checked(
        client,
        await admin.get("/v1/admin/applications?status=pending"),
        "/v1/admin/applications",
        "get",
        200,
    )
    assert [a["id"] for a in pending["applications"]] == [filed["id"]]
    overdue = await admin.get("/v1/admin/applications?overdue=true")
    assert (await overdue.json())["applications"] == []
    one = await admin.get(f"/v1/admin/applications/{filed['id']}")
    await _checked(client, one, "/v1/admin/applications/{id}", "get", 200)

    too_much = await admin.post_json(
        f"/v1/admin/applications/{filed['id']}/approve", {"scopes": ["admin"]}
    )
    assert (await too_much.json())["error"]["code"] == "approval_exceeds_application"
    approved = await _checked(
        client,
        await admin.post_json(
            f"/v1/admin/applications/{filed['id']}/approve",
            {"scopes": ["verify:licence"], "licence_types": [BUSINESS_LICENCE], "reason": "ok"},
        ),
        "/v1/admin/applications/{id}/approve",
        "post",
        200,
    )
    assert approved["granted"] == {
        "scopes": ["verify:licence"],
        "licence_types": [BUSINESS_LICENCE],
        "issuers": [],
    }
    assert approved["decided_by"] == admin_id
    grant = client.app[PARTNERS].get(pid).grant
    assert grant.scopes == {"verify:licence"}
    assert grant.licence_types == {BUSINESS_LICENCE}
    again = await admin.post_json(f"/v1/admin/applications/{filed['id']}/reject", {"reason": "x"})
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "application_not_pending"

    listing = await _checked(
        client, await admin.get("/v1/admin/partners"), "/v1/admin/partners", "get", 200
    )
    assert {p["id"] for p in listing["partners"]} == {pid, admin_id}
    assert secret not in str(listing)


async def test_rejection_and_bad_requests(client: Client) -> None:
    pid, secret = add_partner(client.app, scopes=("status:read",))
    partner = SignedClient(client, pid, secret)
    admin_id, admin_secret = add_partner(client.app, scopes=("admin",))
    admin = SignedClient(client, admin_id, admin_secret)
    filed = await (
        await partner.post_json(
            "/v1/partner/applications", {"purpose": "p", "scopes": ["licence:read-full"]}
        )
    ).json()
    no_reason = await admin.post_json(f"/v1/admin/applications/{filed['id']}/reject", {})
    assert no_reason.status == 400
    rejected = await _checked(
        client,
        await admin.post_json(
            f"/v1/admin/applications/{filed['id']}/reject", {"reason": "未说明用途"}
        ),
        "/v1/admin/applications/{id}/reject",
        "post",
        200,
    )
    assert (rejected["status"], rejected["reason"]) == ("rejected", "未说明用途")
    assert client.app[PARTNERS].get(pid).grant.scopes == {"status:read"}

    missing = await admin.get("/v1/admin/applications/app_missing")
    await _checked(client, missing, "/v1/admin/applications/{id}", "get", 404)
    for body in (b"not json", b"[1]", b'{"purpose": 5, "scopes": []}', b'{"scopes": "x"}'):
        response = await partner.request(
            "POST", "/v1/partner/applications", body=body,
            extra_headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert response.status == 400, body
    unknown = await partner.post_json(
        "/v1/partner/applications", {"purpose": "p", "scopes": ["verify:everything"]}
    )
    assert (await unknown.json())["error"]["code"] == "unknown_scope"
    bad_flag = await admin.get("/v1/admin/applications?overdue=maybe")
    assert bad_flag.status == 400
    bad_status = await admin.get("/v1/admin/applications?status=maybe")
    assert bad_status.status == 400
    # Unauthenticated: 401, never the data.
    assert (await client.get("/v1/partner/applications")).status == 401
    assert (await client.get("/v1/admin/partners")).status == 401
