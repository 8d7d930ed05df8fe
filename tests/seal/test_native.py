"""The seal files of ses/seal through the native bindings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyservice.crypto import PublicKey
from pyservice.errors import MalformedInputError
from pyservice.seal.anchors import pem_certificates
from pyservice.seal.native import (
    certificate_summary,
    check_seal,
    check_signed_value,
    evaluate_chain,
)
from tests.seal_testkit import seal_bytes


@pytest.mark.parametrize(
    ("name", "fmt"), [("UserV1.esl", "SES_V1"), ("UserV4.esl", "SES_V4"), ("UserV5.esl", "SES_V5")]
)
def test_seals_parse_and_verify(name: str, fmt: str) -> None:
    r = check_seal(seal_bytes(name))
    assert r.format == fmt
    assert r.seal_signature_ok, r.seal_signature_error
    assert r.picture_type == "PNG"
    assert r.valid_start <= r.valid_end
    assert len(r.cert_list) == 1
    assert "OFD R&W" in certificate_summary(r.cert_list[0]).subject


def test_sesealdata_maker_signature_fails() -> None:
    r = check_seal(seal_bytes("SESealData.DER"))
    assert r.format == "SES_V4"
    assert not r.seal_signature_ok
    assert r.seal_name == "测试单位名称 合同专用章"


def test_signed_value_v4_verifies_with_zero_data_hash() -> None:
    r = check_signed_value(seal_bytes("SignedValueV4.dat"), b"")
    assert r.format == "SES_V4"
    assert r.signature_ok, r.signature_error
    assert r.seal_signature_ok
    assert not r.data_hash_ok  # dataHash is zeros, SM3("") is not


def test_sign_cert_pem() -> None:
    [der] = pem_certificates(seal_bytes("sign_cert.pem"))
    s = certificate_summary(der)
    assert s.subject.startswith("CN=Test Certificate")
    assert "OFD Reader and WriterROOT Certificate" in s.issuer
    assert s.not_before < s.not_after
    # The subject key, uncompressed SEC1, is the one the SPKI carries.
    assert len(s.public_key) == 65
    assert s.public_key[0] == 4
    assert PublicKey.from_bytes(s.public_key).to_bytes() == s.public_key
    assert s.public_key in der
    # digitalSignature, nonRepudiation, keyCertSign (bits 0, 1, 5)
    assert s.key_usage == 0b100011
    # Pinned to itself: a path of one, valid in 2022, not in 2024.
    out = evaluate_chain(der, [], [der], [1_660_000_000, 1_720_000_000])
    assert out.path_len == 1
    assert out.valid_at == [True, False]
    assert evaluate_chain(der, [], [], [1_660_000_000]).path_len == 0


@settings(max_examples=200)
@given(st.data())
def test_mutated_seals_raise_only_malformed(data: st.DataObject) -> None:
    seal = bytearray(seal_bytes("UserV4.esl"))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(seal) - 1))
        seal[pos] = data.draw(st.integers(0, 255))
    try:
        r = check_seal(bytes(seal))
    except MalformedInputError:
        return
    assert r.format in ("SES_V4", "SES_V5", "SES_V1")
