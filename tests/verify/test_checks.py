"""The QR steps as pure functions, with real keys: hypothesis drives the
token parser with arbitrary text and arbitrary 104-byte tokens (never an
unexpected exception, never a verified token without the key's
signature), and the status and period steps at their boundaries."""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyservice.crypto import PrivateKey, Sm2Verifier
from pyservice.errors import MalformedTokenError
from pyservice.qr import TOKEN_LEN, decode_token, make_token
from pyservice.registry.keys import PLATFORM, TrustedKey
from pyservice.statuscache import StatusRecord
from pyservice.tokencache import VerifiedTokenCache
from pyservice.verify.checks import PlatformKey, check_period, check_status, check_token
from pyservice.verify.result import decide

KEY = PrivateKey.generate()
NOW = int(time.time())
LICENCE = "1.2.156.3005.2.11100000000013338W032.11430000006122244L.V1.001.X"


def platform(key: PrivateKey = KEY, *, purpose: str = "qr", status: str = "active") -> PlatformKey:
    public = key.public_key()
    trusted = TrustedKey(public.kid(), PLATFORM, purpose, public, 0, None, status)
    return PlatformKey(trusted, Sm2Verifier(public))


def run(text: str, key: PlatformKey | None = None, now: int = NOW) -> tuple[bool, list[str]]:
    token = decode_token(text)
    outcome = check_token(
        token, text, key or platform(), VerifiedTokenCache(), now=now, now_ms=now * 1000
    )
    failed = [c.name for c in outcome.checks if c.ok is not True]
    return outcome.token is not None, failed


def test_a_good_token_passes_and_repeats_come_from_the_cache() -> None:
    text = make_token(KEY, LICENCE, now=NOW)
    cache = VerifiedTokenCache()
    token = decode_token(text)
    first = check_token(token, text, platform(), cache, now=NOW, now_ms=NOW * 1000)
    assert first.token is not None
    assert first.verified_now
    again = check_token(token, text, platform(), cache, now=NOW, now_ms=NOW * 1000)
    assert again.token is not None
    assert not again.verified_now
    assert [c.ok for c in again.checks] == [True, True, True]


@pytest.mark.parametrize(
    ("key", "failed"),
    [
        (None, "token_signature"),
        (platform(purpose="ledger"), "token_signature"),
        (platform(status="compromised"), "token_signature"),
        (platform(PrivateKey.generate()), "token_signature"),
    ],
)
def test_a_key_that_is_not_the_platform_qr_key_fails(key: PlatformKey | None, failed: str) -> None:
    text = make_token(KEY, LICENCE, now=NOW)
    token = decode_token(text)
    outcome = check_token(token, text, key, VerifiedTokenCache(), now=NOW, now_ms=NOW * 1000)
    assert outcome.token is None
    assert [c.name for c in outcome.checks if c.ok is False] == [failed]
    assert decide(outcome.checks, "VALID") == "INVALID"


def test_lifetime_window_with_30_s_skew() -> None:
    text = make_token(KEY, LICENCE, now=NOW, lifetime=60)
    assert run(text, now=NOW - 30)[0]
    assert run(text, now=NOW + 59)[0]
    assert run(text, now=NOW - 31) == (False, ["token_lifetime"])
    assert run(text, now=NOW + 60) == (False, ["token_lifetime"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_decodes_or_is_malformed(text: str) -> None:
    try:
        decode_token(text)
    except MalformedTokenError:
        return


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=TOKEN_LEN, max_size=TOKEN_LEN))
def test_arbitrary_tokens_never_verify(raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    try:
        verified, failed = run(text)
    except MalformedTokenError:
        return
    assert not verified
    assert failed


@settings(max_examples=200, deadline=None)
@given(st.integers(0, TOKEN_LEN - 1), st.integers(1, 255))
def test_any_changed_byte_of_a_good_token_never_verifies(position: int, xor: int) -> None:
    raw = bytearray(base64.urlsafe_b64decode(make_token(KEY, LICENCE, now=NOW) + "="))
    raw[position] ^= xor
    text = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    try:
        verified, _ = run(text)
    except MalformedTokenError:
        return
    assert not verified


def record(
    status: str, valid_until: dt.date | None = None, reason: str | None = None
) -> StatusRecord:
    return StatusRecord(LICENCE, status, reason, 1_700_000_000.0, valid_until, time.time())


def test_status_step() -> None:
    today = dt.date(2026, 11, 28)
    assert check_status(record("VALID"), today)[0] == "VALID"
    assert check_status(record("VALID", today), today)[1].ok is True
    assert check_status(record("VALID", dt.date(2026, 11, 27)), today)[0] == "EXPIRED"
    assert check_status(record("SUSPENDED", dt.date(2026, 11, 27)), today)[0] == "EXPIRED"
    status, check = check_status(record("REVOKED", dt.date(2026, 11, 27), "吊销"), today)
    assert status == "REVOKED"
    assert check.ok is False
    assert check.detail is not None
    assert "吊销" in check.detail


def test_period_step() -> None:
    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    assert check_period(start, end, start).ok is True
    assert check_period(start, end, end).ok is True
    assert check_period(start, None, dt.date(2099, 1, 1)).ok is True
    assert check_period(start, end, dt.date(2025, 12, 31)).ok is False
    assert check_period(start, end, dt.date(2027, 1, 1)).ok is False
