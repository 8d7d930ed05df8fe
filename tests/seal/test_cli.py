"""sidian verify-ofd."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pyservice.cli import main
from pyservice.seal.native import check_signed_value
from tests.seal_testkit import make_pki, make_signed_ofd, ofd_bytes, ofd_dir, ofd_entries


def test_human_report_marks_each_check() -> None:
    result = CliRunner().invoke(main, ["verify-ofd", str(ofd_dir() / "发票示例.ofd")])
    assert result.exit_code == 4
    assert "INVALID" in result.output
    assert "✗ references: 1 of 13 fail: /Doc_0/Document.xml" in result.output
    assert "✓ seal_signature" in result.output
    assert "seal name: 测试全国统一发票监制章国家税务总局重庆市税务局" in result.output
    assert "esID: 50011200000399" in result.output
    assert "⚠" not in result.output


def test_human_report_warns_about_uncovered_files() -> None:
    result = CliRunner().invoke(main, ["verify-ofd", str(ofd_dir() / "keyword.ofd")])
    assert "⚠ files no signature covers (not verified): Doc_0/DocumentRes.xml" in result.output


def test_json_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["verify-ofd", "--json", "--data-dir", str(tmp_path), str(ofd_dir() / "1.ofd")]
    )
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert report["result"] == "INTACT_UNTRUSTED"
    sig = report["signatures"][0]
    for key in (
        "signature_xml",
        "signed_value",
        "type",
        "format",
        "signature_ok",
        "seal_signature_ok",
        "data_hash_ok",
        "references_total",
        "references_failed",
        "seal_name",
        "es_id",
        "signer_subject",
        "signed_at",
        "certificate_chain",
    ):
        assert key in sig
    assert sig["format"] == "SES_V4"
    assert sig["certificate_chain"] == "untrusted"


def test_trust_dir_makes_it_valid(tmp_path: Path) -> None:
    entries = ofd_entries(ofd_bytes("v4signed.ofd"))
    r = check_signed_value(entries["Doc_0/Signs/Sign_0/SignedValue.dat"], b"")
    assert r.signer_cert is not None
    assert r.seal_maker_cert is not None
    (tmp_path / "signer.der").write_bytes(r.signer_cert)
    (tmp_path / "maker.der").write_bytes(r.seal_maker_cert)
    args = [
        "verify-ofd",
        "--trust",
        str(tmp_path),
        "--at",
        "2020-10-11",
        str(ofd_dir() / "v4signed.ofd"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "v4signed.ofd: VALID" in result.output
    assert "✓ certificate chain: trusted" in result.output


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.ofd"
    bad.write_bytes(b"not a zip")
    result = CliRunner().invoke(main, ["verify-ofd", str(bad)])
    assert result.exit_code == 1
    assert "malformed_ofd: not_zip" in result.output


def test_trust_and_intermediates_dirs(tmp_path: Path) -> None:
    pki = make_pki()
    ofd = tmp_path / "own.ofd"
    ofd.write_bytes(make_signed_ofd(pki))
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "root.der").write_bytes(pki.root)
    (tmp_path / "cas").mkdir()
    (tmp_path / "cas" / "ca.der").write_bytes(pki.intermediate)
    base = ["verify-ofd", "--trust", str(tmp_path / "roots"), "--at", "2026-06-01", str(ofd)]
    assert CliRunner().invoke(main, base).exit_code == 4
    result = CliRunner().invoke(main, [*base, "--intermediates", str(tmp_path / "cas")])
    assert result.exit_code == 0, result.output
    assert "own.ofd: VALID" in result.output
