"""SM2 signature requests: the parser refuses anything but one
well-formed request (hypothesis over arbitrary JSON objects), and the
verification steps with real keys (trust entry in force or not)."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyservice.crypto import PrivateKey
from pyservice.errors import MalformedInputError
from pyservice.registry.keys import TrustedKey
from pyservice.verify.signature import (
    CertificateUnsupportedError,
    parse_signature_request,
    verify_signature,
)

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
    except (MalformedInputError, CertificateUnsupportedError):
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
