"""The registry commands of ``sidian`` end to end on a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pyservice.cli import main
from pyservice.partners.registry import PartnerRegistry
from pyservice.registry.keys import KeyRing, load_master_key
from pyservice.store import open_store
from tests.registry_testkit import BUSINESS_TYPE, business_body


def _run(*args: str, data: Path, stdin: str | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(main, [*args, "--data-dir", str(data)], input=stdin)
    assert result.exit_code == code, result.output
    return result.output


def test_help_everywhere() -> None:
    for command in (
        [],
        ["init"],
        ["issuer", "add"],
        ["key", "rotate"],
        ["type", "list"],
        ["issue"],
        ["import"],
        ["status", "set"],
        ["annotate"],
        ["export"],
        ["verify"],
        ["stats"],
    ):
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_demo_lifecycle(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert "demo data" in _run("init", "--demo", data=data)
    assert (data / "master.key").stat().st_mode & 0o777 == 0o600
    stats = json.loads(_run("stats", "--json", data=data))
    assert stats["licences"] == 301
    assert set(stats["licences_by_status"]) == {"VALID", "SUSPENDED", "REVOKED", "CANCELLED"}
    assert stats["ledger_size"] > stats["licences"]
    types = json.loads(_run("type", "list", "--json", data=data))
    assert {t["name"] for t in types} == {"营业执照", "食品经营许可证", "居民身份证", "驾驶证"}
    driving = next(t for t in types if t["name"] == "驾驶证")
    assert driving["schema"]["number_is_holder_id"] is True
    assert driving["schema"]["holder_id_types"] == ["111"]
    # A second init --demo adds nothing.
    assert "not added" in _run("init", "--demo", data=data)

    issuer = "11430000006122244L"
    _run(
        "type",
        "add",
        "-",
        data=data,
        stdin=json.dumps(BUSINESS_TYPE | {"code": BUSINESS_TYPE["code"][:-3] + "099"}),
    )
    _run("type", "add", "-", data=data, stdin='{"code": "x"}', code=1)
    body = business_body("CLI1", type_code=BUSINESS_TYPE["code"][:-3] + "099")
    request = {k: v for k, v in body.items() if k not in ("id", "type_name", "version")}
    request["serial"] = "CLI1"
    licence_id = _run("issue", "-", data=data, stdin=json.dumps(request)).strip()
    assert licence_id.startswith("1.2.156.3005.2.11100000000013338W099." + issuer + ".CLI1.001.")

    assert "VALID -> SUSPENDED" in _run(
        "status", "set", licence_id, "SUSPENDED", "--reason", "检查", "--actor", "执法员", data=data
    )
    out = _run(
        "status", "set", licence_id, "EXPIRED", "--reason", "r", "--actor", "a", data=data, code=2
    )
    assert "EXPIRED" in out
    _run("status", "set", licence_id, "VALID", "--reason", "复核", "--actor", "a", data=data)
    _run(
        "annotate", licence_id, "--annotator", issuer, "--content", "c", "--reason", "r",
        "--actor", "a", "--until", "2030-01-01", data=data,
    )  # fmt: skip
    shown = json.loads(_run("status", "show", licence_id, data=data))
    assert [e["to"] for e in shown["events"]] == ["SUSPENDED", "VALID"]

    doc = tmp_path / "licence.json"
    _run("export", licence_id, "-o", str(doc), data=data)
    report = json.loads(_run("verify", str(doc), data=data))
    assert report["result"] == "VALID"
    trust = tmp_path / "trust.json"
    trust.write_text(_run("key", "list", "--json", data=data))
    offline = CliRunner().invoke(main, ["verify", str(doc), "--trust-list", str(trust)])
    assert offline.exit_code == 1
    assert json.loads(offline.output)["result"] == "UNDETERMINED"

    _run("status", "set", licence_id, "REVOKED", "--reason", "吊销", "--actor", "a", data=data)
    revoked = CliRunner().invoke(main, ["verify", str(doc), "--data-dir", str(data)])
    assert revoked.exit_code == 1
    assert json.loads(revoked.output)["status"] == "REVOKED"
    out = _run(
        "status", "set", licence_id, "VALID", "--reason", "r", "--actor", "a", data=data, code=1
    )
    assert "illegal_status_transition" in out

    tampered = json.loads(doc.read_text())
    tampered["licence"]["number"] = "forged"
    doc.write_text(json.dumps(tampered, ensure_ascii=False))
    report = json.loads(
        CliRunner().invoke(main, ["verify", str(doc), "--data-dir", str(data)]).output
    )
    assert {c["name"]: c["ok"] for c in report["checks"]}["signature"] is False
    doc.write_text("{")
    assert (
        "malformed_input"
        in CliRunner().invoke(main, ["verify", str(doc), "--data-dir", str(data)]).output
    )


def test_issuers_and_keys(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _run("init", data=data)
    _run("issuer", "add", "430000", "湖南省人民政府", "--region", "湖南省", data=data)
    _run("issuer", "add", "11100000000013338X", "x", "--region", "y", data=data, code=1)
    assert json.loads(_run("issuer", "list", "--json", data=data)) == [
        {"code": "430000", "name": "湖南省人民政府", "region": "湖南省"}
    ]
    before = json.loads(_run("key", "list", "--json", data=data))
    assert {(k["owner"], k["purpose"]) for k in before} == {
        ("platform", "ledger"),
        ("platform", "qr"),
        ("430000", "licence"),
    }
    assert "key is now" in _run("key", "rotate", "430000", data=data)
    after = json.loads(_run("key", "list", "--json", data=data))
    assert sorted(k["status"] for k in after if k["owner"] == "430000") == ["active", "retired"]
    # No private key material in any listing.
    assert all(
        set(k) == {"kid", "owner", "purpose", "public_key", "valid_from", "valid_until", "status"}
        for k in after
    )


def test_commands_need_a_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["stats", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "sidian init" in result.output


def test_init_demo_saves_a_demo_holder_credential(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = _run("init", "--demo", data=data)
    path = data / "demo-holder.json"
    assert str(path) in out
    assert path.stat().st_mode & 0o777 == 0o600
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert set(saved) == {"id", "secret", "licences"}
    assert saved["secret"] not in out
    assert saved["licences"]
    store = open_store(data)
    try:
        keyring = KeyRing(store, load_master_key(data))
        holder = PartnerRegistry(store, keyring).get(saved["id"])
        assert holder.kind == "holder"
        # it covers exactly the licences of one person holding a licence in force
        assert holder.holder_key is not None
        assert store.licences_by_holder(holder.holder_key) == saved["licences"]
        row = store.licence_get(saved["licences"][0])
        assert row is not None
        assert row.status == "VALID"
        body = json.loads(keyring.open_body(row.id, row.body))
        assert body["holder"]["id_type"] == "111"
        assert body["holder"]["id"] not in out  # the ID number is never printed
        assert body["holder"]["id"] not in path.read_text(encoding="utf-8")
    finally:
        store.close()
