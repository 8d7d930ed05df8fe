"""``sidian seal …`` end to end over a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyservice.cli import main
from pyservice.crypto import sm3
from pyservice.seal.anchors import load_trust_anchors
from pyservice.seal.native import certificate_summary, check_seal
from tests.seal_testkit import ORG, build_signed_ofd, ofd_signature_xml, open_seal_registry


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIDIAN_MASTER_KEY", "00112233445566778899aabbccddeeff")
    path = tmp_path / "data"
    assert CliRunner().invoke(main, ["init", "--data-dir", str(path)]).exit_code == 0
    (tmp_path / "seal.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    return path


def _run(data: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["seal", *args, "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    return result.output


def _apply(data: Path) -> str:
    out = _run(
        data,
        "apply",
        "--org",
        ORG,
        "--org-name",
        "示例科技有限公司",
        "--name",
        "示例科技有限公司公章",
        "--picture",
        str(data.parent / "seal.png"),
        "--valid-until",
        "2099-12-31",
        "--applicant",
        "张经办",
        "--json",
    )
    es_id: str = json.loads(out)["es_id"]
    return es_id


def test_lifecycle_list_show_and_sign(data: Path) -> None:
    es_id = _apply(data)
    for step in ("approve", "make", "file"):
        out = _run(data, step, es_id, "--actor", "管理员", "--reason", step, "--json")
    assert json.loads(out)["status"] == "active"
    listed = json.loads(_run(data, "list", "--json", "--status", "active"))
    assert [s["es_id"] for s in listed] == [es_id]
    assert es_id in _run(data, "list", "--org", ORG)
    shown = json.loads(_run(data, "show", es_id, "--json"))
    assert [e["action"] for e in shown["events"]] == ["apply", "approve", "make", "file"]
    assert shown["signer_subject"] == "CN=示例科技有限公司"

    doc = data.parent / "contract.txt"
    doc.write_bytes("合同正文".encode())
    out_path = data.parent / "SignedValue.dat"
    _run(data, "sign", es_id, str(doc), "--out", str(out_path), "--property-info", "/c")
    reg = open_seal_registry(data)
    try:
        verdict, kinds = reg.verify_signed_value(
            out_path.read_bytes(), data_sm3=sm3(doc.read_bytes())
        )
    finally:
        reg.store.close()
    assert verdict.es_id == es_id
    assert verdict.signature_ok
    assert verdict.seal_signature_ok
    assert kinds  # the registry was consulted

    renewed = json.loads(
        _run(
            data,
            "renew",
            es_id,
            "--valid-until",
            "2100-06-30",
            "--actor",
            "a",
            "--reason",
            "续期",
            "--json",
        )
    )
    assert renewed["version"] == 2
    changed = json.loads(
        _run(data, "change", es_id, "--name", "新名称章", "--actor", "a", "--reason", "r", "--json")
    )
    assert changed["name"] == "新名称章"
    assert changed["version"] == 3
    cancelled = json.loads(_run(data, "cancel", es_id, "--actor", "a", "--reason", "r", "--json"))
    assert cancelled["status"] == "cancelled"
    reg = open_seal_registry(data)
    try:
        assert check_seal(reg.seal(es_id).seal_der or b"").seal_name == "新名称章"
    finally:
        reg.store.close()


def test_verify_ofd_consults_the_registry(data: Path) -> None:
    es_id = _apply(data)
    for step in ("approve", "make", "file"):
        _run(data, step, es_id, "--actor", "管理员", "--reason", step)
    xml = data.parent / "Signature.xml"
    xml.write_bytes(ofd_signature_xml())
    value = data.parent / "SignedValue.dat"
    info = "/Doc_0/Signs/Sign_0/Signature.xml"
    _run(data, "sign", es_id, str(xml), "--out", str(value), "--property-info", info)
    ofd = data.parent / "signed.ofd"
    ofd.write_bytes(build_signed_ofd(lambda h, p: value.read_bytes()))
    result = CliRunner().invoke(main, ["verify-ofd", str(ofd), "--json", "--data-dir", str(data)])
    report = json.loads(result.output)
    assert result.exit_code == 0, report["reasons"]
    assert report["result"] == "VALID"
    assert report["signatures"][0]["checks"][-1] == {"name": "seal_status", "ok": True}
    # Without the data directory's store nothing is trusted.
    alone = CliRunner().invoke(
        main, ["verify-ofd", str(ofd), "--data-dir", str(data.parent / "none")]
    )
    assert alone.exit_code == 3


def test_errors_are_reported_not_raised(data: Path) -> None:
    es_id = _apply(data)
    result = CliRunner().invoke(
        main, ["seal", "file", es_id, "--actor", "a", "--reason", "r", "--data-dir", str(data)]
    )
    assert result.exit_code == 1
    assert "illegal_status_transition" in result.output
    result = CliRunner().invoke(main, ["seal", "show", "nope", "--data-dir", str(data)])
    assert result.exit_code == 1
    assert "unknown_seal" in result.output
    result = CliRunner().invoke(main, ["seal", "list", "--data-dir", str(data / "missing")])
    assert result.exit_code == 1
    assert "no store" in result.output


def test_ca_certificate_is_a_trust_anchor_file(data: Path, tmp_path: Path) -> None:
    pem = _run(data, "ca-cert")
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "ca.pem").write_text(pem)
    anchors = load_trust_anchors(tmp_path / "trust")
    assert len(anchors) == 1
    assert certificate_summary(anchors[0]).subject == "CN=Sidian Seal CA (development)"
    assert _run(data, "ca-cert") == pem  # created once
