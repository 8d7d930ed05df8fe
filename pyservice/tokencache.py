"""Verified-token cache: repeat scans of one QR token skip the SM2 check.

Keyed by SM3 of the token text (the token itself is never kept as a key:
it is a bearer secret for its lifetime), bounded (least recently used
entries go first), each entry valid until the token's own end
(``issued_at + lifetime``): the TTL is the remaining lifetime. Only tokens
that passed :func:`pyservice.qr.verify_token` are stored, and a hit
re-checks the full time window at the ``now`` passed in, so a cached
answer is never more permissive than verifying again. Changing or
revoking the platform QR key must call :meth:`VerifiedTokenCache.clear`.

The licence status is *not* part of what is cached: it is looked up on
every scan (see :mod:`pyservice.statuscache`).
"""

from __future__ import annotations

from collections import OrderedDict

from pyservice.crypto import Sm2Verifier, sm3
from pyservice.qr import CLOCK_SKEW, QrToken, verify_token

__all__ = ["VerifiedTokenCache"]


class VerifiedTokenCache:
    """In-process, bounded, single event loop (not thread-safe). An entry
    costs about 450 bytes; the default bound keeps a worker's cache under
    10 MB, far more than the tokens scanned again within their lifetime."""

    def __init__(self, max_entries: int = 20_000) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, QrToken] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _key(text: str) -> bytes:
        return sm3(text.encode("utf-8", "surrogatepass"))

    def get(self, text: str, *, now: int) -> QrToken | None:
        """The verified token if ``text`` was verified before and ``now`` is
        inside its window; expired entries are dropped."""
        key = self._key(text)
        token = self._entries.get(key)
        if token is None:
            self.misses += 1
            return None
        if not token.issued_at - CLOCK_SKEW <= now < token.expires_at:
            if now >= token.expires_at:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return token

    def put(self, text: str, token: QrToken, *, now: int) -> None:
        """Remembers a token that verified at ``now`` (nothing if it has no
        lifetime left)."""
        if token.expires_at <= now:
            return
        key = self._key(text)
        self._entries[key] = token
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        # Drop a few expired entries from the old end, so a quiet cache
        # does not keep dead tokens until it fills up.
        for _ in range(2):
            oldest = next(iter(self._entries.values()))
            if oldest.expires_at > now:
                break
            self._entries.popitem(last=False)

    def verify(self, verifier: Sm2Verifier, text: str, *, now: int) -> QrToken:
        """:func:`~pyservice.qr.verify_token` with the cache in front; raises
        exactly what it raises."""
        cached = self.get(text, now=now)
        if cached is not None and cached.kid == verifier.public_key.kid():
            return cached
        token = verify_token(verifier, text, now=now)
        self.put(text, token, now=now)
        return token

    def clear(self) -> None:
        """Forget everything (platform QR key changed or revoked)."""
        self._entries.clear()
