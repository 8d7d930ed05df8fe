"""SIDIAN-HMAC-SM3: canonical string, signatures against an independent
HMAC-SM3 (Python's hmac over OpenSSL's SM3), strict header parsing."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice.auth.scheme import (
    BadSignatureError,
    Credentials,
    MalformedCredentialsError,
    MissingCredentialsError,
    StaleTimestampError,
    authorization_header,
    canonical_string,
    check_signature,
    check_timestamp,
    parse_authorization,
    sign,
)

SECRET = "sk_test_Zm9vYmFyYmF6cXV4"
NONCE = "n0nce-0123456789abcd"
BODY = b'{"token":"AQ"}'


def _openssl_hmac_sm3(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, lambda: hashlib.new("sm3")).digest()


def test_canonical_string_is_five_lines() -> None:
    text = canonical_string("post", "/v1/verify/qr?x=%2F", "1764300000", NONCE, BODY)
    lines = text.decode().split("\n")
    assert lines == [
        "POST",
        "/v1/verify/qr?x=%2F",
        "1764300000",
        NONCE,
        hashlib.new("sm3", BODY).hexdigest(),
    ]
    empty = canonical_string("GET", "/v1/x", "1", NONCE, b"").decode().split("\n")
    assert empty[-1] == hashlib.new("sm3", b"").hexdigest()


@given(
    method=st.sampled_from(["GET", "POST"]),
    target=st.text(alphabet="/abc?=&%0123456789", min_size=1, max_size=40),
    ts=st.integers(0, 2**33),
    body=st.binary(max_size=300),
    secret=st.text(alphabet="abcdefXYZ0123456789_-", min_size=1, max_size=80),
)
def test_signature_matches_an_independent_hmac_sm3(
    method: str, target: str, ts: int, body: bytes, secret: str
) -> None:
    message = "\n".join(
        [method, target, str(ts), NONCE, hashlib.new("sm3", body).hexdigest()]
    ).encode()
    expected = _openssl_hmac_sm3(secret.encode(), message).hex()
    assert (
        sign(secret, method=method, target=target, ts=str(ts), nonce=NONCE, body=body) == expected
    )


def _creds(header: str) -> Credentials:
    return parse_authorization(header)


def test_round_trip_and_every_tampering_fails() -> None:
    header = authorization_header(
        "p-1", SECRET, method="POST", target="/v1/verify/qr", ts=1764300000, nonce=NONCE, body=BODY
    )
    creds = _creds(header)
    assert (creds.partner, creds.ts, creds.nonce) == ("p-1", 1764300000, NONCE)
    check_signature(creds, SECRET, "POST", "/v1/verify/qr", BODY)
    for secret, method, target, body in [
        (SECRET + "x", "POST", "/v1/verify/qr", BODY),
        (SECRET, "GET", "/v1/verify/qr", BODY),
        (SECRET, "POST", "/v1/verify/qr?", BODY),
        (SECRET, "POST", "/v1/verify/qr", BODY + b" "),
    ]:
        with pytest.raises(BadSignatureError):
            check_signature(creds, secret, method, target, body)
    other_nonce = _creds(header.replace(NONCE, NONCE[::-1]))
    with pytest.raises(BadSignatureError):
        check_signature(other_nonce, SECRET, "POST", "/v1/verify/qr", BODY)


def test_parameters_in_any_order_and_uppercase_hex() -> None:
    sig = sign(SECRET, method="GET", target="/x", ts="5", nonce=NONCE, body=b"")
    header = f"SIDIAN-HMAC-SM3 signature={sig.upper()},nonce={NONCE}, ts=5,  partner=abc"
    creds = _creds(header)
    check_signature(creds, SECRET, "GET", "/x", b"")


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing(header: str | None) -> None:
    with pytest.raises(MissingCredentialsError):
        parse_authorization(header)


GOOD_SIG = "ab" * 32


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer partner=a, ts=1, nonce={NONCE}, signature={GOOD_SIG}",
        f"sidian-hmac-sm3 partner=a, ts=1, nonce={NONCE}, signature={GOOD_SIG}",
        f"SIDIAN-HMAC-SM3 partner=a, ts=1, nonce={NONCE}",
        f"SIDIAN-HMAC-SM3 partner=a, ts=1, nonce={NONCE}, signature={GOOD_SIG}, x=1",
        f"SIDIAN-HMAC-SM3 partner=a, partner=b, ts=1, nonce={NONCE}, signature={GOOD_SIG}",
        f"SIDIAN-HMAC-SM3 partner=a, ts=-1, nonce={NONCE}, signature={GOOD_SIG}",
        f"SIDIAN-HMAC-SM3 partner=a, ts=1e3, nonce={NONCE}, signature={GOOD_SIG}",
        f"SIDIAN-HMAC-SM3 partner=a, ts=1, nonce=short, signature={GOOD_SIG}",
        f"SIDIAN-HMAC-SM3 partner=a, ts=1, nonce={NONCE}, signature={GOOD_SIG[:-1]}",
        f"SIDIAN-HMAC-SM3 partner=a, ts=1, nonce={NONCE}, signature={'zz' * 32}",
        f"SIDIAN-HMAC-SM3 partner=, ts=1, nonce={NONCE}, signature={GOOD_SIG}",
        f"SIDIAN-HMAC-SM3 partner=a b, ts=1, nonce={NONCE}, signature={GOOD_SIG}",
        f"SIDIAN-HMAC-SM3 partner=a;ts=1;nonce={NONCE};signature={GOOD_SIG}",
        "SIDIAN-HMAC-SM3 " + "x" * 600,
    ],
)
def test_malformed_headers(header: str) -> None:
    with pytest.raises(MalformedCredentialsError):
        parse_authorization(header)


@given(st.text(max_size=200))
def test_any_header_is_parsed_or_refused_cleanly(header: str) -> None:
    with contextlib.suppress(MalformedCredentialsError, MissingCredentialsError):
        parse_authorization("SIDIAN-HMAC-SM3 " + header)


def test_clock_window_is_300_seconds_either_way() -> None:
    creds = _creds(f"SIDIAN-HMAC-SM3 partner=a, ts=1000, nonce={NONCE}, signature={GOOD_SIG}")
    for now in (700, 1000, 1300):
        check_timestamp(creds, now)
    for now in (699, 1301):
        with pytest.raises(StaleTimestampError):
            check_timestamp(creds, now)


def test_error_codes_are_the_documented_401s() -> None:
    for cls, code in [
        (MissingCredentialsError, "missing_credentials"),
        (BadSignatureError, "bad_signature"),
        (StaleTimestampError, "stale_timestamp"),
        (MalformedCredentialsError, "malformed_credentials"),
    ]:
        assert (cls.code, cls.http_status) == (code, 401)
