"""The verification steps on parts built in memory (no zip)."""

from __future__ import annotations

import pytest

from pyservice.crypto import sm3
from pyservice.errors import MalformedInputError
from pyservice.seal.ofdxml import Reference, SignatureEntry, SignatureXml
from pyservice.seal.verify import DigestCache, SignatureParts, verify_signature
from tests.seal_testkit import ofd_bytes, ofd_entries

ENTRIES = ofd_entries(ofd_bytes("v4signed.ofd"))
XML = ENTRIES["Doc_0/Signs/Sign_0/Signature.xml"]
VALUE = ENTRIES["Doc_0/Signs/Sign_0/SignedValue.dat"]


def _parts(
    method: str | None, refs: dict[str, bytes | None], value: bytes = VALUE
) -> SignatureParts:
    references = [Reference(file_ref=k, check_value=sm3(b"content of " + k.encode())) for k in refs]
    return SignatureParts(
        entry=SignatureEntry(id="1", type="Seal", base_loc="/Doc_0/Signs/Sign_0/Signature.xml"),
        signature_xml_path="Doc_0/Signs/Sign_0/Signature.xml",
        signature_xml=XML,
        parsed=SignatureXml(method, references, "/x", None, None),
        signed_value_path="Doc_0/Signs/Sign_0/SignedValue.dat",
        signed_value=value,
        referenced=refs,
    )


def _checks(parts: SignatureParts) -> dict[str, bool]:
    return {c.name: c.ok for c in verify_signature(parts).checks}


def test_all_checks_pass() -> None:
    facts = verify_signature(_parts("1.2.156.10197.1.401", {"/a.xml": b"content of /a.xml"}))
    assert all(c.ok for c in facts.checks), facts.checks
    assert {c.name for c in facts.checks} == {
        "check_method",
        "references",
        "data_hash",
        "signature",
        "seal_signature",
        "seal_validity",
        "signer_in_seal",
    }


def test_check_method_names() -> None:
    assert _checks(_parts("SM3", {"/a": b"content of /a"}))["check_method"]
    assert _checks(_parts(" sm3 ", {"/a": b"content of /a"}))["check_method"]
    assert not _checks(_parts(None, {"/a": b"content of /a"}))["check_method"]
    assert not _checks(_parts(None, {"/a": b"content of /a"}))["references"]


def test_reference_failures() -> None:
    facts = verify_signature(_parts("SM3", {"/a": b"content of /a", "/b": b"other", "/c": None}))
    assert facts.references_failed == ["/b", "/c"]
    assert not _checks(_parts("SM3", {}))["references"]


def test_unparseable_value_raises() -> None:
    with pytest.raises(MalformedInputError):
        verify_signature(_parts("SM3", {}, value=VALUE[:-1]))


def test_a_file_named_by_many_references_is_hashed_once() -> None:
    blob = b"content of /a"
    refs: dict[str, bytes | None] = {f"/a{i}": blob for i in range(50)}
    parts = _parts("SM3", refs)
    cache = DigestCache()
    facts = verify_signature(parts, cache)
    # Each reference expects the digest of its own name, so none matches.
    assert len(facts.references_failed) == 50
    assert len(cache._digests) == 1
    assert cache.sm3(blob) == sm3(blob)
    other = b"content of /a"[:]
    assert cache.sm3(bytes(bytearray(other))) == sm3(other)
