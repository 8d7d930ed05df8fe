"""verify_ofd end to end on the real OFD vectors (expected.json agrees on
every field it states) and on altered copies of them; verify_signed_value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pyservice.crypto import sm3
from pyservice.errors import MalformedInputError, OfdMalformedError
from pyservice.seal import unreferenced_files, verify_ofd, verify_signed_value
from pyservice.seal.native import check_signed_value, check_signed_value_sm3
from pyservice.seal.package import OfdPackage
from tests.seal_testkit import (
    FORMATS,
    T_2026,
    expected,
    intact,
    make_pki,
    make_signed_ofd,
    ofd_bytes,
    ofd_entries,
    rewrite_ofd,
    seal_bytes,
)

CASES = [(f["file"], f) for f in expected()]


def _subject_values(text: str) -> list[str]:
    """The attribute values of a subject printed in any of the checker's
    formats (``Common Name: x, ...``, ``2.5.4.3=x, ...``, ``CN=x; ...``)."""
    out = []
    for raw in text.replace(";", ",").split(","):
        part = raw.strip()
        for sep in (": ", "="):
            if sep in part:
                part = part.split(sep, 1)[1]
                break
        if part:
            out.append(part.strip())
    return sorted(out)


@pytest.mark.parametrize(("name", "want"), CASES, ids=[c[0] for c in CASES])
def test_agrees_with_expected_json(name: str, want: dict[str, Any]) -> None:
    report = verify_ofd(ofd_bytes(name))
    assert len(report.signatures) == len(want["signatures"])
    for got, exp in zip(report.signatures, want["signatures"], strict=True):
        assert got.signature_xml == exp["signature_xml"]
        assert got.signed_value == exp["signed_value"]
        assert got.type == exp["type"]
        assert got.format == FORMATS[exp["format"]]
        assert got.references_total == exp["references"]
        assert got.check_method == exp["check_method"]
        if "signature_encoding" in exp:
            assert got.signature_encoding == exp["signature_encoding"]
        assert got.references_failed == exp["references_failed"]
        assert got.signature_ok is exp["signature_ok"]
        assert got.seal_signature_ok is exp.get("seal_signature_ok")
        data_hash = exp.get(
            "data_hash_matches",
            exp.get("message_digest_matches", exp.get("attached_content_is_sm3_of_signature_xml")),
        )
        assert got.data_hash_ok is data_hash
        assert got.seal_name == exp.get("seal_name")
        assert got.es_id == exp.get("es_id")
        assert got.signer_subject is not None
        assert _subject_values(got.signer_subject.replace(", ", ",")) == _subject_values(
            exp["signer_subject"]
        )
        if "time_info" in exp and exp["format"].startswith("SES V4"):
            t = exp["time_info"]
            iso = f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"
            assert got.signed_at == iso
        # Without trust anchors nothing is trusted.
        assert got.certificate_chain == "untrusted"
    assert report.result == ("INTACT_UNTRUSTED" if intact(want) else "INVALID")


def test_files_no_signature_covers_are_a_warning() -> None:
    assert verify_ofd(ofd_bytes("1.ofd")).unreferenced_files == []
    report = verify_ofd(ofd_bytes("keyword.ofd"))
    assert report.unreferenced_files == [
        "Doc_0/DocumentRes.xml",
        "Doc_0/PublicRes.xml",
        "Doc_0/Res/Font7.ttf",
    ]
    assert report.warnings == ["unreferenced_files"]
    assert unreferenced_files(OfdPackage(ofd_bytes("keyword.ofd"))) == report.unreferenced_files

    def add(e: dict[str, bytes]) -> None:
        e["Doc_0/Res/extra.png"] = b"not signed"

    report = verify_ofd(rewrite_ofd("1.ofd", add))
    assert report.unreferenced_files == ["Doc_0/Res/extra.png"]
    assert report.result == "INTACT_UNTRUSTED"  # a warning, not a failure


def test_n_ofd_is_never_valid() -> None:
    data = ofd_bytes("n.ofd")
    assert verify_ofd(data).result == "INVALID"
    # Not even when its own certificates are the trust anchors.
    value = ofd_entries(data)["Doc_0/Signs/Sign_0/SignedValue.dat"]
    report = check_signed_value(value, b"")
    anchors = [c for c in (report.signer_cert, report.seal_maker_cert) if c is not None]
    assert verify_ofd(data, trust_anchors=anchors).result == "INVALID"


def test_tampered_invoice_names_document_xml() -> None:
    report = verify_ofd(ofd_bytes("发票示例.ofd"))
    assert report.result == "INVALID"
    assert report.signatures[0].references_failed == ["/Doc_0/Document.xml"]
    assert any("references" in r for r in report.reasons)


def _pinned(name: str) -> list[bytes]:
    """The signer and seal maker certificates of the first signature."""
    entries = ofd_entries(ofd_bytes(name))
    value = next(v for k, v in entries.items() if k.endswith("SignedValue.dat"))
    r = check_signed_value(value, b"")
    return [c for c in (r.signer_cert, r.seal_maker_cert) if c is not None]


def test_valid_with_pinned_certificates_at_signing_time() -> None:
    anchors = _pinned("v4signed.ofd")
    at = datetime(2020, 10, 11, tzinfo=UTC)
    report = verify_ofd(ofd_bytes("v4signed.ofd"), trust_anchors=anchors, at=at)
    assert report.result == "VALID", report.reasons
    sig = report.signatures[0]
    assert sig.certificate_chain == "trusted"
    assert sig.seal_maker_chain == "trusted"
    assert sig.certificate_valid_at_signing is True


def test_expired_now_is_reported_separately_and_not_valid() -> None:
    anchors = _pinned("1.ofd")
    report = verify_ofd(
        ofd_bytes("1.ofd"), trust_anchors=anchors, at=datetime(2030, 1, 1, tzinfo=UTC)
    )
    sig = report.signatures[0]
    assert sig.certificate_valid_at_signing is True
    assert sig.certificate_valid_now is False
    assert sig.certificate_chain == "expired_now"
    assert report.result == "INVALID"


def test_naive_at_is_utc() -> None:
    naive = verify_ofd(ofd_bytes("1.ofd"), at=datetime(2030, 1, 1))
    assert naive.checked_at == "2030-01-01T00:00:00Z"


def test_unrelated_anchor_is_untrusted_and_invalid() -> None:
    anchors = _pinned("1.ofd")
    report = verify_ofd(ofd_bytes("v4signed.ofd"), trust_anchors=anchors)
    assert report.signatures[0].certificate_chain == "untrusted"
    assert report.result == "INVALID"


def test_a_bad_trust_anchor_is_malformed_input() -> None:
    with pytest.raises(MalformedInputError, match="trust anchor 0"):
        verify_ofd(ofd_bytes("1.ofd"), trust_anchors=[b"not a certificate"])


def test_changed_signature_xml_fails_the_data_hash() -> None:
    def change(e: dict[str, bytes]) -> None:
        e["Doc_0/Signs/Sign_0/Signature.xml"] = e["Doc_0/Signs/Sign_0/Signature.xml"].replace(
            b'StampAnnot ID="1"', b'StampAnnot ID="2"'
        )

    sig = verify_ofd(rewrite_ofd("1.ofd", change)).signatures[0]
    assert not sig.data_hash_ok
    assert sig.signature_ok


def test_changed_signed_value_fails_the_signature() -> None:
    def change(e: dict[str, bytes]) -> None:
        v = bytearray(e["Doc_0/Signs/Sign_0/SignedValue.dat"])
        v[-5] ^= 0x01  # inside the signer's signature value
        e["Doc_0/Signs/Sign_0/SignedValue.dat"] = bytes(v)

    report = verify_ofd(rewrite_ofd("1.ofd", change))
    assert report.result == "INVALID"
    assert not report.signatures[0].signature_ok


def test_removed_referenced_file_fails_that_reference() -> None:
    def change(e: dict[str, bytes]) -> None:
        del e["Doc_0/Res/image_78.jb2"]

    sig = verify_ofd(rewrite_ofd("1.ofd", change)).signatures[0]
    assert sig.references_failed == ["/Doc_0/Res/image_78.jb2"]
    assert any("missing" in (c.detail or "") for c in sig.checks)


@pytest.mark.parametrize("method", [b"1.2.156.10197.1.401.2", b"MD5", b"1.2.840.113549.2.5", b""])
def test_wrong_check_method_fails_every_reference(method: bytes) -> None:
    def change(e: dict[str, bytes]) -> None:
        path = "Doc_0/Signs/Sign_0/Signature.xml"
        e[path] = e[path].replace(
            b'CheckMethod="1.2.156.10197.1.401"', b'CheckMethod="' + method + b'"'
        )

    sig = verify_ofd(rewrite_ofd("1.ofd", change)).signatures[0]
    assert len(sig.references_failed) == sig.references_total == 13
    check = next(c for c in sig.checks if c.name == "check_method")
    assert not check.ok
    assert "not SM3" in (check.detail or "")


@pytest.mark.parametrize(
    "missing",
    [
        "OFD.xml",
        "Doc_0/Signs/Signatures.xml",
        "Doc_0/Signs/Sign_0/Signature.xml",
        "Doc_0/Signs/Sign_0/SignedValue.dat",
    ],
)
def test_missing_parts_are_malformed(missing: str) -> None:
    data = rewrite_ofd("1.ofd", lambda e: _drop(e, missing))
    with pytest.raises(OfdMalformedError) as info:
        verify_ofd(data)
    assert info.value.reason == "missing_part"


def _drop(entries: dict[str, bytes], name: str) -> None:
    del entries[name]


def test_no_signatures_is_invalid() -> None:
    def change(e: dict[str, bytes]) -> None:
        e["Doc_0/Signs/Signatures.xml"] = (
            b'<?xml version="1.0"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"/>'
        )

    report = verify_ofd(rewrite_ofd("1.ofd", change))
    assert report.result == "INVALID"
    assert report.signatures == []


def test_truncated_signed_value_at_every_offset_is_malformed() -> None:
    entries = ofd_entries(ofd_bytes("v4signed.ofd"))
    value = entries["Doc_0/Signs/Sign_0/SignedValue.dat"]
    xml = entries["Doc_0/Signs/Sign_0/Signature.xml"]
    for cut in range(len(value)):
        with pytest.raises(MalformedInputError):
            check_signed_value(value[:cut], xml)
    # And through the whole pipeline at a few offsets.
    for cut in (0, 1, 2, 100, len(value) // 2, len(value) - 1):

        def change(e: dict[str, bytes], cut: int = cut) -> None:
            e["Doc_0/Signs/Sign_0/SignedValue.dat"] = value[:cut]

        with pytest.raises(MalformedInputError):
            verify_ofd(rewrite_ofd("v4signed.ofd", change))


AT_2026 = datetime.fromtimestamp(T_2026 + 60, UTC)


# verify_signed_value: a SignedValue.dat on its own, with the signed bytes
# or only their SM3 (the /v1/verify/seal use).


def _value_and_xml(name: str, sign: str = "Sign_0") -> tuple[bytes, bytes]:
    e = ofd_entries(ofd_bytes(name))
    return e[f"Doc_0/Signs/{sign}/SignedValue.dat"], e[f"Doc_0/Signs/{sign}/Signature.xml"]


@pytest.mark.parametrize(
    ("name", "sign", "fmt"),
    [
        ("1.ofd", "Sign_0", "SES_V4"),
        ("keyword.ofd", "Sign_1", "SES_V4"),
        ("keyword.ofd", "Sign_3", "GBT35275"),
        ("26050100800_00001.ofd", "Sign_0", "GBT35275"),
    ],
)
def test_data_or_its_sm3_give_the_same_verdict(name: str, sign: str, fmt: str) -> None:
    value, xml = _value_and_xml(name, sign)
    by_data = verify_signed_value(value, data=xml, at=AT_2026)
    by_sm3 = verify_signed_value(value, data_sm3=sm3(xml), at=AT_2026)
    assert by_data == by_sm3
    assert by_data.format == fmt
    assert by_data.result == "INTACT_UNTRUSTED"
    assert by_data.data_hash_ok
    assert by_data.signature_ok
    assert by_data.to_dict()["result"] == "INTACT_UNTRUSTED"


def test_other_data_is_invalid() -> None:
    value, xml = _value_and_xml("1.ofd")
    r = verify_signed_value(value, data=xml + b" ")
    assert r.result == "INVALID"
    assert not r.data_hash_ok
    assert any("data_hash" in reason for reason in r.reasons)


def test_signed_value_v4_with_zero_data_hash() -> None:
    value = seal_bytes("SignedValueV4.dat")
    r = verify_signed_value(value, data_sm3=bytes(32))
    assert r.data_hash_ok
    assert r.signature_ok
    assert r.seal_signature_ok


def test_our_own_signature_is_valid_with_anchors() -> None:
    pki = make_pki()
    e = ofd_entries(make_signed_ofd(pki))
    value, xml = e["Doc_0/Signs/Sign_0/SignedValue.dat"], e["Doc_0/Signs/Sign_0/Signature.xml"]
    r = verify_signed_value(
        value, data=xml, trust_anchors=[pki.root], intermediates=[pki.intermediate], at=AT_2026
    )
    assert r.result == "VALID", r.reasons
    assert r.certificate_chain == "trusted"
    assert r.seal_maker_chain == "trusted"


def test_argument_errors() -> None:
    value, xml = _value_and_xml("1.ofd")
    with pytest.raises(MalformedInputError, match="either"):
        verify_signed_value(value)
    with pytest.raises(MalformedInputError, match="either"):
        verify_signed_value(value, data=xml, data_sm3=sm3(xml))
    with pytest.raises(MalformedInputError, match="32 bytes"):
        check_signed_value_sm3(value, b"short")
    with pytest.raises(MalformedInputError):
        verify_signed_value(value[:-1], data=xml)
