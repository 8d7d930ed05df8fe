"""The verified-token cache (pyservice/tokencache.py), with real tokens and
real SM2 verification."""

from __future__ import annotations

import pytest

from pyservice import qr
from pyservice.crypto import PrivateKey, Sm2Verifier
from pyservice.errors import InvalidSignatureError, MalformedTokenError, TokenExpiredError
from pyservice.tokencache import VerifiedTokenCache

KEY = PrivateKey.generate()
VERIFIER = Sm2Verifier(KEY.public_key())
NOW = 1_764_300_000


def test_repeat_scan_is_a_hit_until_the_token_ends() -> None:
    cache = VerifiedTokenCache()
    text = qr.make_token(KEY, "L-1", now=NOW, lifetime=60)
    first = cache.verify(VERIFIER, text, now=NOW)
    assert (cache.hits, cache.misses) == (0, 1)
    assert cache.verify(VERIFIER, text, now=NOW + 59) == first
    assert (cache.hits, cache.misses) == (1, 1)
    # TTL = remaining lifetime: at issued_at + lifetime it is gone and the
    # verification itself says expired.
    with pytest.raises(TokenExpiredError):
        cache.verify(VERIFIER, text, now=NOW + 60)
    assert len(cache) == 0
    assert cache.get(text, now=NOW + 1) is None


def test_hit_rechecks_the_window_and_the_key() -> None:
    cache = VerifiedTokenCache()
    text = qr.make_token(KEY, "L-1", now=NOW, lifetime=60)
    token = cache.verify(VERIFIER, text, now=NOW)
    assert cache.get(text, now=NOW - 31) is None  # clock went back past the skew
    assert cache.get(text, now=NOW - 30) == token
    other = Sm2Verifier(PrivateKey.generate().public_key())
    with pytest.raises(InvalidSignatureError):
        cache.verify(other, text, now=NOW)


def test_failures_are_not_cached() -> None:
    cache = VerifiedTokenCache()
    text = qr.make_token(KEY, "L-1", now=NOW)
    tampered = text[:-5] + ("A" if text[-5] != "A" else "B") + text[-4:]
    for _ in range(2):
        with pytest.raises(InvalidSignatureError):
            cache.verify(VERIFIER, tampered, now=NOW)
    with pytest.raises(MalformedTokenError):
        cache.verify(VERIFIER, "x" * 139, now=NOW)
    assert len(cache) == 0
    # The original still verifies and is cached.
    cache.verify(VERIFIER, text, now=NOW)
    assert len(cache) == 1


def test_bounded_and_keyed_by_hash() -> None:
    cache = VerifiedTokenCache(max_entries=3)
    texts = [qr.make_token(KEY, f"L-{i}", now=NOW, lifetime=600) for i in range(5)]
    for text in texts:
        cache.verify(VERIFIER, text, now=NOW)
    assert len(cache) == 3
    assert cache.get(texts[0], now=NOW) is None
    assert cache.get(texts[4], now=NOW) is not None
    # No token text is kept in the cache.
    assert not any(text in repr(vars(cache)) for text in texts)
    cache.clear()
    assert len(cache) == 0


def test_expired_entries_are_dropped_on_insert() -> None:
    cache = VerifiedTokenCache()
    short = qr.make_token(KEY, "L-a", now=NOW, lifetime=5)
    cache.verify(VERIFIER, short, now=NOW)
    cache.verify(VERIFIER, qr.make_token(KEY, "L-b", now=NOW + 10), now=NOW + 10)
    assert len(cache) == 1
    with pytest.raises(ValueError, match="positive"):
        VerifiedTokenCache(0)
