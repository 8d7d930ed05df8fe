"""SM2 signature requests: the parser refuses anything but one
well-formed request (hypothesis over arbitrary JSON objects), and the
verification steps with real keys (trust entry in force or not; signer
certificates from a real test CA, with and without trust anchors)."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyservice.crypto import PrivateKey
from pyservice.errors import MalformedCertificateError, MalformedInputError
from pyservice.registry.keys import TrustedKey
from pyservice.verify.signature import (
    parse_signature_request,
    verify_signature,
)
from tests.x509_testkit import SIGN_CERT_PEM, make_ca, pem

KEY = PrivateKey.generate()
DATA = b"electronic material"
NOW_MS = int(time.time() * 1000)

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=80),
    st.sampled_from(["AAAA", "00" * 32, "0" * 16, base64.b64encode(b"x" * 70).decode()]),
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["data", "digest", "uid", "public_key", "kid", "certificate", "signature", "x"]
        ),
        _VALUES,
        max_size=5,
    )
)
def test_any_object_parses_or_is_refused(obj: dict[str, Any]) -> None:
    try:
        parse_signature_request(obj)
    except MalformedInputError:
        return


def _request(**changes: Any) -> dict[str, Any]:
    base = {
        "data": base64.b64encode(DATA).decode(),
        "kid": KEY.public_key().kid(),
        "signature": base64.b64encode(KEY.sign(DATA)).decode(),
    }
    base.update(changes)
    return base


def _trusted(status: str = "active", valid_until: int | None = None) -> TrustedKey:
    public = KEY.public_key()
    return TrustedKey(public.kid(), "ISSUER", "licence", public, 0, valid_until, status)


@pytest.mark.parametrize(
    ("trusted", "verdict", "status"),
    [
        (_trusted(), "VALID", "VALID"),
        (_trusted("compromised"), "INVALID", "REVOKED"),
        (_trusted(valid_until=NOW_MS - 1), "INVALID", "EXPIRED"),
        (None, "INVALID", "UNDETERMINED"),
    ],
)
def test_kid_requests_need_a_key_in_force(
    trusted: TrustedKey | None, verdict: str, status: str
) -> None:
    result = verify_signature(parse_signature_request(_request()), trusted, now_ms=NOW_MS)
    assert (result.result, result.status) == (verdict, status)


def test_raw_signature_and_custom_signer_id() -> None:
    uid = b"ALICE123@YAHOO.COM"
    signature = KEY.sign(DATA, uid=uid, raw=True)
    request = _request(
        uid=base64.b64encode(uid).decode(), signature=base64.b64encode(signature).decode()
    )
    assert verify_signature(parse_signature_request(request), _trusted(), now_ms=NOW_MS).result == (
        "VALID"
    )
    del request["uid"]  # the default ID gives another Z_A: no longer verifies
    assert verify_signature(parse_signature_request(request), _trusted(), now_ms=NOW_MS).result == (
        "INVALID"
    )


# ------------------------------------------------------------ certificates

CA = make_ca()
OTHER_CA = make_ca("Other CA")
LEAF = CA.leaf(KEY)


def _cert_request(cert: str, **changes: Any) -> dict[str, Any]:
    request = _request(certificate=cert, **changes)
    del request["kid"]
    return request


def _verify_cert(request: dict[str, Any], anchors: list[bytes]) -> tuple[str, str, dict[str, Any]]:
    result = verify_signature(
        parse_signature_request(request), None, now_ms=NOW_MS, anchors=anchors
    )
    return result.result, result.status, {c.name: c.ok for c in result.checks}


def test_certificate_signature_is_valid_only_with_its_ca_as_anchor() -> None:
    request = _cert_request(base64.b64encode(LEAF).decode())
    assert _verify_cert(request, [CA.der]) == (
        "VALID",
        "VALID",
        {
            "certificate_validity": True,
            "certificate_key_usage": True,
            "certificate_chain": True,
            "signature": True,
        },
    )
    verdict, status, checks = _verify_cert(request, [])
    assert (verdict, status) == ("UNDETERMINED", "UNDETERMINED")
    assert checks == {
        "certificate_validity": True,
        "certificate_key_usage": True,
        "certificate_chain": None,
        "signature": True,
    }
    verdict, _, checks = _verify_cert(request, [OTHER_CA.der])
    assert verdict == "INVALID"
    assert checks["certificate_chain"] is False
    # the PEM form is the same certificate
    assert _verify_cert(_cert_request(pem(LEAF)), [OTHER_CA.der, CA.der])[0] == "VALID"


def test_certificate_with_custom_signer_id_and_digest() -> None:
    uid = b"ALICE123@YAHOO.COM"
    signature = base64.b64encode(KEY.sign(DATA, uid=uid)).decode()
    request = _cert_request(pem(LEAF), uid=base64.b64encode(uid).decode(), signature=signature)
    assert _verify_cert(request, [CA.der])[0] == "VALID"
    del request["uid"]
    assert _verify_cert(request, [CA.der])[2]["signature"] is False


def test_wrong_signature_or_key_is_invalid() -> None:
    other = PrivateKey.generate()
    wrong_data = _cert_request(pem(LEAF), data=base64.b64encode(b"other").decode())
    wrong_key = _cert_request(pem(CA.leaf(other)))
    for request in (wrong_data, wrong_key):
        verdict, _, checks = _verify_cert(request, [CA.der])
        assert verdict == "INVALID"
        assert checks == {
            "certificate_validity": True,
            "certificate_key_usage": True,
            "certificate_chain": True,
            "signature": False,
        }


def test_a_ca_certificate_does_not_sign_documents() -> None:
    # keyCertSign and cRLSign only; the CA is itself the anchor
    signature = base64.b64encode(CA.key.sign(DATA)).decode()
    verdict, _, checks = _verify_cert(_cert_request(pem(CA.der), signature=signature), [CA.der])
    assert verdict == "INVALID"
    assert checks["certificate_key_usage"] is False
    assert checks["signature"] is True


def test_expired_and_not_yet_valid_leaves_are_invalid() -> None:
    now = NOW_MS // 1000
    expired = CA.leaf(KEY, not_before=now - 10 * 86_400, days=5)
    future = CA.leaf(KEY, not_before=now + 86_400, days=5)
    verdict, status, checks = _verify_cert(_cert_request(pem(expired)), [CA.der])
    assert (verdict, status) == ("INVALID", "EXPIRED")
    assert checks["certificate_validity"] is False
    assert checks["certificate_chain"] is False
    assert checks["signature"] is True
    verdict, _, checks = _verify_cert(_cert_request(pem(future)), [CA.der])
    assert verdict == "INVALID"
    assert checks["certificate_validity"] is False
    # without anchors the expired leaf is still INVALID, never UNDETERMINED
    assert _verify_cert(_cert_request(pem(expired)), [])[0] == "INVALID"


def _garbled() -> list[str]:
    text = pem(LEAF)
    body = base64.b64encode(LEAF).decode()
    truncated = [base64.b64encode(LEAF[:n]).decode() for n in (0, 1, 2, 10, 100, len(LEAF) - 1)]
    return [
        *truncated[1:],
        base64.b64encode(LEAF + b"\x00").decode(),
        base64.b64encode(b"\x30\x82\xff\xff" + b"junk" * 20).decode(),
        "not base64!",
        "",
        body[:-4] + "!!!!",
        text + "junk",
        "junk" + text,
        text.replace("\n", "\n*", 3),
        text + text,
        text.replace("CERTIFICATE", "PUBLIC KEY"),
        base64.b64encode(KEY.public_key().to_bytes()).decode(),
        "A" * 100_000,
    ]


@pytest.mark.parametrize("cert", _garbled())
def test_malformed_certificates_are_refused(cert: str) -> None:
    with pytest.raises(MalformedCertificateError) as raised:
        parse_signature_request(_cert_request(cert))
    assert raised.value.code == "malformed_certificate"
    assert raised.value.http_status == 400


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2000), st.binary(min_size=1, max_size=4))
def test_any_corruption_of_the_certificate_is_refused_or_fails(at: int, junk: bytes) -> None:
    at %= len(LEAF)
    der = LEAF[:at] + junk + LEAF[at + len(junk) :]
    try:
        request = parse_signature_request(_cert_request(base64.b64encode(der).decode()))
    except MalformedCertificateError:
        return
    result = verify_signature(request, None, now_ms=NOW_MS, anchors=[CA.der])
    if der != LEAF:  # a changed certificate is never VALID
        assert result.result != "VALID"


def test_a_real_certificate_parses_and_is_not_valid() -> None:
    text = SIGN_CERT_PEM.read_text()
    request = _cert_request(text)  # signed by another key: the signature fails too
    for anchors in ([], [CA.der]):
        verdict, status, checks = _verify_cert(request, anchors)
        assert verdict == "INVALID"
        assert status == "EXPIRED"
        assert checks["certificate_validity"] is False
        assert checks["signature"] is False
    assert _verify_cert(request, [CA.der])[2]["certificate_chain"] is False
