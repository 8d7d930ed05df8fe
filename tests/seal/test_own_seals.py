"""OFDs signed with the platform's own V4 seals (generated here): verified
end to end, with certificate chains through an intermediate CA."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyservice.errors import MalformedInputError
from pyservice.seal import verify_ofd
from pyservice.seal.native import check_seal, issue_certificate
from tests.seal_testkit import (
    T_2024,
    T_2026,
    T_2029,
    T_2030,
    make_pki,
    make_seal,
    make_signed_ofd,
    ofd_entries,
    rewrite_ofd_bytes,
)

PKI = make_pki()
AT_2026 = datetime.fromtimestamp(T_2026 + 3600, UTC)


def test_valid_through_the_intermediate_to_the_root() -> None:
    data = make_signed_ofd(PKI)
    report = verify_ofd(
        data, trust_anchors=[PKI.root], intermediates=[PKI.intermediate], at=AT_2026
    )
    assert report.result == "VALID", report.reasons
    sig = report.signatures[0]
    assert sig.format == "SES_V4"
    assert sig.references_total == 2
    assert sig.seal_name == "某单位合同专用章"
    assert sig.signer_subject == "CN=某单位"
    assert sig.certificate_chain == "trusted"
    assert sig.seal_maker_chain == "trusted"
    assert sig.signed_at == "2026-01-01T00:00:00Z"
    # Without the intermediate no path reaches the root.
    alone = verify_ofd(data, trust_anchors=[PKI.root], at=AT_2026)
    assert alone.result == "INVALID"
    assert alone.signatures[0].certificate_chain == "untrusted"
    # The intermediate itself may be configured as the anchor.
    assert verify_ofd(data, trust_anchors=[PKI.intermediate], at=AT_2026).result == "VALID"


def test_without_anchors_it_is_intact_untrusted() -> None:
    report = verify_ofd(make_signed_ofd(PKI), at=AT_2026)
    assert report.result == "INTACT_UNTRUSTED"


def test_other_root_or_expired_is_invalid() -> None:
    data = make_signed_ofd(PKI)
    other = make_pki()
    assert verify_ofd(data, trust_anchors=[other.root], at=AT_2026).result == "INVALID"
    later = verify_ofd(
        data,
        trust_anchors=[PKI.root],
        intermediates=[PKI.intermediate],
        at=datetime.fromtimestamp(T_2030, UTC),
    )
    assert later.result == "INVALID"
    assert later.signatures[0].certificate_chain == "expired_now"
    assert later.signatures[0].certificate_valid_at_signing is True


def test_any_changed_document_byte_is_caught() -> None:
    data = make_signed_ofd(PKI)

    def change(e: dict[str, bytes]) -> None:
        e["Doc_0/Document.xml"] = e["Doc_0/Document.xml"].replace(b"CommonData", b"CommonDatb")

    report = verify_ofd(
        rewrite_ofd_bytes(data, change),
        trust_anchors=[PKI.root],
        intermediates=[PKI.intermediate],
        at=AT_2026,
    )
    assert report.result == "INVALID"
    assert report.signatures[0].references_failed == ["/Doc_0/Document.xml"]


def test_signing_outside_the_seal_validity_is_refused() -> None:
    with pytest.raises(MalformedInputError, match="validity"):
        make_signed_ofd(PKI, signed_at=T_2030)


def test_our_seal_parses_like_real_ones() -> None:
    r = check_seal(make_seal(PKI, picture_type="ofd", name="测试专用章"))
    assert r.format == "SES_V4"
    assert r.seal_signature_ok
    assert r.seal_name == "测试专用章"
    assert r.picture_type == "ofd"
    assert r.cert_list == [PKI.signer]
    assert r.maker_cert == PKI.maker
    assert (r.valid_start, r.valid_end) == (T_2024, T_2029)


@pytest.mark.parametrize(
    ("serial", "not_before", "not_after"),
    [(b"\x00", T_2024, T_2029), (b"\x01" * 21, T_2024, T_2029), (b"\x01", T_2029, T_2024)],
)
def test_certificate_issuer_refuses_bad_input(
    serial: bytes, not_before: int, not_after: int
) -> None:
    with pytest.raises(MalformedInputError):
        issue_certificate(
            PKI.signer_key.public_key(),
            PKI.maker_key,
            serial=serial,
            subject_cn="x",
            issuer_cn="y",
            not_before=not_before,
            not_after=not_after,
            ca=False,
        )


def test_the_signed_value_is_der() -> None:
    assert ofd_entries(make_signed_ofd(PKI))["Doc_0/Signs/Sign_0/SignedValue.dat"][:1] == b"\x30"
