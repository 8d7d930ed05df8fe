"""``sidian partner …`` end to end on a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyservice.cli import main
from pyservice.partners.disclosure import Disclosures, record_disclosure
from pyservice.partners.registry import PartnerRegistry
from pyservice.registry.keys import KeyRing, load_master_key
from pyservice.store import open_store


def _run(*args: str, data: Path, code: int = 0) -> str:
    result = CliRunner().invoke(main, [*args, "--data-dir", str(data)])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    _run("init", data=path)
    return path


def _secret_of(data: Path, partner_id: str) -> str:
    store = open_store(data)
    try:
        return PartnerRegistry(store, KeyRing(store, load_master_key(data))).get(partner_id).secret
    finally:
        store.close()


def test_help_everywhere() -> None:
    for command in (
        ["partner"],
        *(
            ["partner", c]
            for c in (
                "add",
                "list",
                "suspend",
                "resume",
                "rotate-secret",
                "apply",
                "applications",
                "approve",
                "reject",
                "consent",
                "disclosures",
            )
        ),
        ["holder"],
        ["holder", "add"],
    ):
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_partner_lifecycle(data: Path) -> None:
    added = json.loads(
        _run(
            "partner", "add", "某银行开户系统", "--scopes", "verify:qr,status:read",
            "--types", "11100000000013338W032", "--rate", "5", "--single-use",
            data=data,
        )
    )  # fmt: skip
    assert set(added) == {"id", "secret"}
    assert _secret_of(data, added["id"]) == added["secret"]
    listing = _run("partner", "list", data=data)
    assert added["id"] in listing
    assert added["secret"] not in listing
    rows = json.loads(_run("partner", "list", "--json", data=data))
    assert rows[0]["scopes"] == ["status:read", "verify:qr"]
    assert (rows[0]["rate_per_s"], rows[0]["single_use_tokens"]) == (5.0, True)
    assert added["secret"] not in json.dumps(rows)
    suspended = json.loads(_run("partner", "suspend", added["id"], data=data))
    assert suspended["status"] == "suspended"
    assert json.loads(_run("partner", "resume", added["id"], data=data))["status"] == "active"
    rotated = json.loads(_run("partner", "rotate-secret", added["id"], data=data))
    assert rotated["id"] == added["id"]
    assert rotated["secret"] != added["secret"]
    assert _secret_of(data, added["id"]) == rotated["secret"]


def test_bad_input_is_a_cli_error_not_a_traceback(data: Path) -> None:
    out = _run("partner", "add", "X", "--scopes", "verify:everything", data=data, code=1)
    assert "unknown_scope" in out
    out = _run("partner", "add", "X", "--scopes", "verify:qr", "--rate", "0", data=data, code=2)
    assert "rate" in out.lower()
    assert "unknown_partner" in _run("partner", "suspend", "p_missing", data=data, code=1)
    assert "no store" in _run("partner", "list", data=data / "nowhere", code=1)


def test_application_review(data: Path) -> None:
    pid = json.loads(_run("partner", "add", "A", "--scopes", "status:read", data=data))["id"]
    filed = json.loads(
        _run(
            "partner", "apply", pid, "--purpose", "银行开户核验",
            "--scopes", "verify:qr,verify:licence", "--types", "11100000000013338W032",
            data=data,
        )
    )  # fmt: skip
    assert (filed["status"], filed["overdue"]) == ("pending", False)
    assert filed["id"] in _run("partner", "applications", "--status", "pending", data=data)
    assert json.loads(_run("partner", "applications", "--overdue", "--json", data=data)) == []
    out = _run("partner", "approve", filed["id"], "--scopes", "verify:admin", data=data, code=1)
    assert "unknown_scope" in out
    approved = json.loads(
        _run(
            "partner", "approve", filed["id"], "--scopes", "verify:qr", "--by", "张审核", data=data
        )
    )
    assert approved["granted"]["scopes"] == ["verify:qr"]
    assert approved["decided_by"] == "张审核"
    rows = json.loads(_run("partner", "list", "--json", data=data))
    assert rows[0]["scopes"] == ["verify:qr"]
    assert rows[0]["licence_types"] == ["11100000000013338W032"]
    again = _run("partner", "reject", filed["id"], "--reason", "x", data=data, code=1)
    assert "application_not_pending" in again
    second = json.loads(
        _run("partner", "apply", pid, "--purpose", "p", "--scopes", "admin", data=data)
    )
    rejected = json.loads(
        _run("partner", "reject", second["id"], "--reason", "不予授权", data=data)
    )
    assert (rejected["status"], rejected["reason"]) == ("rejected", "不予授权")
    assert rejected["decided_by"].startswith("cli:")


def test_consent_and_disclosure_record(data: Path) -> None:
    pid = json.loads(_run("partner", "add", "A", "--scopes", "licence:read-full", data=data))["id"]
    lid = "1.2.156.3005.2.11100000000013661B006.11430000006122244L.000001.001.X"
    granted = json.loads(_run("partner", "consent", lid, pid, "--days", "30", data=data))
    assert granted["expires_at"] - granted["granted_at"] == 30 * 86_400_000
    store = open_store(data)
    try:
        assert Disclosures(store).has_consent(lid, pid)
        record_disclosure(
            store, partner_id=pid, licence_id=lid, fields=["holder.id"], basis="grant",
            request_id="req-1",
        )  # fmt: skip
    finally:
        store.close()
    rows = json.loads(_run("partner", "disclosures", "--licence", lid, data=data))
    assert [(r["partner_id"], r["basis"], r["fields"]) for r in rows] == [
        (pid, "grant", ["holder.id"])
    ]
    assert json.loads(_run("partner", "disclosures", "--partner", "p_other", data=data)) == []
    assert json.loads(_run("partner", "consent", lid, pid, "--revoke", data=data)) == {
        "revoked": True
    }
    assert "unknown_partner" in _run("partner", "consent", lid, "p_missing", data=data, code=1)


def _ledger_kinds(data: Path) -> list[str]:
    store = open_store(data)
    try:
        head = store.ledger_head()
        assert head is not None
        return [leaf.kind for leaf in store.ledger_leaves(0, head.tree_size)]
    finally:
        store.close()


def test_admin_commands_are_ledger_entries(data: Path) -> None:
    pid = json.loads(_run("partner", "add", "A", "--scopes", "licence:read-full", data=data))["id"]
    _run("partner", "suspend", pid, data=data)
    _run("partner", "resume", pid, data=data)
    _run("partner", "rotate-secret", pid, data=data)
    lid = "1.2.156.3005.2.11100000000013661B006.11430000006122244L.000001.001.X"
    _run("partner", "consent", lid, pid, data=data)
    _run("partner", "consent", lid, pid, "--revoke", data=data)
    assert _ledger_kinds(data)[-6:] == [
        "partner.added",
        "partner.status",
        "partner.status",
        "partner.secret_rotated",
        "consent.granted",
        "consent.revoked",
    ]
    out = _run("partner", "add", "B", "--scopes", "verify:qr,holder", data=data, code=1)
    assert "holder_scope_reserved" in out


def test_holder_add_binds_a_credential_to_one_holder(data: Path) -> None:
    holder_id = "11010519491231002X"
    result = CliRunner().invoke(
        main, ["holder", "add", "--holder-id", holder_id, "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    new = json.loads(result.output)
    assert set(new) == {"id", "secret", "licences"}
    assert new["licences"] == []  # no licence issued to this holder yet
    assert holder_id not in result.output
    store = open_store(data)
    try:
        keyring = KeyRing(store, load_master_key(data))
        holder = PartnerRegistry(store, keyring).get(new["id"])
        assert holder.holder_key == keyring.holder_key("111", holder_id)
        assert holder.secret == new["secret"]
        assert holder_id.encode() not in (data / "sidian.db").read_bytes()
    finally:
        store.close()
    assert _ledger_kinds(data)[-1] == "partner.added"
    # prompted without echo when not given on the command line
    prompted = CliRunner().invoke(
        main, ["holder", "add", "--data-dir", str(data)], input=holder_id + "\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert holder_id not in prompted.output
    for bad in ("", "x" * 65, "tab\there"):
        out = _run("holder", "add", "--holder-id", bad, data=data, code=1)
        assert "--holder-id" in out
