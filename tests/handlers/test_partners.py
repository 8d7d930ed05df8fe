"""Access applications over HTTP, signed end to end: a partner applies, an
admin reviews; responses validate against the OpenAPI document."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import ClientResponse
from jsonschema import Draft202012Validator

from pyservice.appkeys import PARTNERS, STORE
from tests.conftest import Client
from tests.partner_testkit import BUSINESS_LICENCE, DRIVING_LICENCE, SignedClient, add_partner


def _partner_and_admin(
    client: Client, scopes: tuple[str, ...]
) -> tuple[SignedClient, SignedClient]:
    """A partner with ``scopes`` and an admin partner, each signing its requests."""
    partner = SignedClient(client, *add_partner(client.app, scopes=scopes))
    admin = SignedClient(client, *add_partner(client.app, scopes=("admin",)))
    return partner, admin


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
    partner, admin = _partner_and_admin(client, ("status:read",))
    pid, secret, admin_id = partner.partner, partner.secret, admin.partner

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
    partner, admin = _partner_and_admin(client, ("status:read",))
    pid = partner.partner
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


def _ledger_entries(client: Client, kind: str) -> list[dict[str, Any]]:
    store = client.app[STORE]
    head = store.ledger_head()
    assert head is not None
    leaves = store.ledger_leaves(0, head.tree_size)
    return [orjson.loads(leaf.entry) for leaf in leaves if leaf.kind == kind]


async def _code(response: ClientResponse) -> str:
    code: str = (await response.json())["error"]["code"]
    return code


async def test_admin_suspends_resumes_and_rotates_a_partner(client: Client) -> None:
    partner, admin = _partner_and_admin(client, ("status:read",))
    pid, secret, admin_id = partner.partner, partner.secret, admin.partner
    # the partner's own signed request works (empty list of applications)
    assert (await partner.get("/v1/partner/applications")).status == 200

    one = await _checked(
        client, await admin.get(f"/v1/admin/partners/{pid}"), "/v1/admin/partners/{id}", "get", 200
    )
    assert (one["id"], one["kind"], one["status"]) == (pid, "partner", "active")
    assert "secret" not in one

    suspended = await _checked(
        client,
        await admin.request("POST", f"/v1/admin/partners/{pid}/suspend"),
        "/v1/admin/partners/{id}/suspend",
        "post",
        200,
    )
    assert suspended["partner"]["status"] == "suspended"
    refused = await partner.get("/v1/partner/applications")
    assert (refused.status, await _code(refused)) == (401, "partner_suspended")

    resumed = await admin.request("POST", f"/v1/admin/partners/{pid}/resume")
    assert (await resumed.json())["partner"]["status"] == "active"
    assert (await partner.get("/v1/partner/applications")).status == 200

    rotated = await _checked(
        client,
        await admin.request("POST", f"/v1/admin/partners/{pid}/rotate-secret"),
        "/v1/admin/partners/{id}/rotate-secret",
        "post",
        200,
    )
    assert rotated["id"] == pid
    assert rotated["secret"] != secret
    assert rotated["secret"].startswith("sk_")
    old = await partner.get("/v1/partner/applications")
    assert (old.status, await _code(old)) == (401, "bad_signature")
    assert old.headers["WWW-Authenticate"] == "SIDIAN-HMAC-SM3"
    fresh = SignedClient(client, pid, rotated["secret"])
    assert (await fresh.get("/v1/partner/applications")).status == 200

    # each action is a ledger entry naming the partner and the admin
    actor = f"partner:{admin_id}"
    statuses = _ledger_entries(client, "partner.status")
    assert [(e["id"], e["status"], e["actor"]) for e in statuses] == [
        (pid, "suspended", actor),
        (pid, "active", actor),
    ]
    # the answers name the entries
    store = client.app[STORE]
    for answer, kind in ((suspended, "partner.status"), (rotated, "partner.secret_rotated")):
        index = answer["ledger_index"]
        assert store.ledger_leaves(index, index + 1)[0].kind == kind
    (rotation,) = _ledger_entries(client, "partner.secret_rotated")
    assert (rotation["id"], rotation["actor"]) == (pid, actor)
    # the new secret is nowhere on the ledger
    head = store.ledger_head()
    assert head is not None
    assert all(
        rotated["secret"].encode() not in leaf.entry
        for leaf in store.ledger_leaves(0, head.tree_size)
    )


async def test_admin_partner_endpoints_refuse_the_unauthorised(client: Client) -> None:
    partner, admin = _partner_and_admin(client, ("verify:qr", "status:read"))
    admin_id = admin.partner
    paths = [
        ("GET", f"/v1/admin/partners/{admin_id}"),
        ("POST", f"/v1/admin/partners/{admin_id}/suspend"),
        ("POST", f"/v1/admin/partners/{admin_id}/resume"),
        ("POST", f"/v1/admin/partners/{admin_id}/rotate-secret"),
    ]
    for method, path in paths:
        unsigned = await client.request(method, path)
        assert (unsigned.status, await _code(unsigned)) == (401, "missing_credentials"), path
        denied = await partner.request(method, path)
        assert (denied.status, await _code(denied)) == (403, "scope_denied"), path
        unknown = await admin.request(method, path.replace(admin_id, "p_0000000000000000"))
        assert (unknown.status, await _code(unknown)) == (404, "unknown_partner"), path
    # a refused or failed action wrote nothing: the admin is still active, nothing logged
    assert (await admin.get(f"/v1/admin/partners/{admin_id}")).status == 200
    assert _ledger_entries(client, "partner.status") == []
    assert _ledger_entries(client, "partner.secret_rotated") == []


async def test_a_holder_credential_is_listed_but_cannot_apply(client: Client) -> None:
    new = client.app[PARTNERS].add_holder(bytes(16))
    holder = SignedClient(client, new.id, new.secret)
    response = await holder.post_json(
        "/v1/partner/applications", {"purpose": "x", "scopes": ["admin"]}
    )
    assert (response.status, await _code(response)) == (403, "not_a_partner")
    admin_id, admin_secret = add_partner(client.app, scopes=("admin",))
    admin = SignedClient(client, admin_id, admin_secret)
    listed = await _checked(
        client, await admin.get("/v1/admin/partners"), "/v1/admin/partners", "get", 200
    )
    kinds = {p["id"]: (p["kind"], p["scopes"]) for p in listed["partners"]}
    assert kinds[new.id] == ("holder", ["holder"])
    assert kinds[admin_id] == ("partner", ["admin"])
