"""Single-use nonces in Redis: ``SET key 1 NX EX ttl``, atomic, so two
concurrent uses of one nonce (in any process or host) cannot both win.

- :func:`consume_nonce` is the primitive (also what partner request
  signatures need: security.md, ``SET NX EX 600``);
- :func:`consume_qr_nonce` consumes a QR token's nonce for partners whose
  policy asks for single-use tokens; the key lives until the token's own
  end (``issued_at + lifetime``, at least one second), after which the
  token is refused as expired anyway.

Keys: ``sidian:v1:nonce:<namespace>:<value hex>`` (the QR namespace is
``qr`` and the value is licence reference ‖ nonce, so tokens of different
licences never collide). If Redis cannot be reached the check fails
closed with :class:`~pyservice.errors.NonceCheckUnavailableError`.
"""

from __future__ import annotations

import re

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pyservice.errors import NonceCheckUnavailableError
from pyservice.qr import QrToken

__all__ = ["NONCE_PREFIX", "consume_nonce", "consume_qr_nonce", "nonce_key"]

NONCE_PREFIX = "sidian:v1:nonce:"
_NAMESPACE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def nonce_key(namespace: str, value: bytes) -> str:
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"bad nonce namespace {namespace!r}")
    if not 1 <= len(value) <= 64:
        raise ValueError("a nonce value must be 1..64 bytes")
    return f"{NONCE_PREFIX}{namespace}:{value.hex()}"


async def consume_nonce(redis: Redis, namespace: str, value: bytes, *, ttl: int) -> bool:
    """``True`` the first time ``value`` is seen in ``namespace`` within
    ``ttl`` seconds, ``False`` for a replay."""
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    key = nonce_key(namespace, value)
    try:
        created = await redis.set(key, b"1", nx=True, ex=ttl)
    except RedisError as exc:
        raise NonceCheckUnavailableError("cannot record the nonce: Redis unreachable") from exc
    return bool(created)


async def consume_qr_nonce(redis: Redis, token: QrToken, *, now: int) -> bool:
    """Consumes a verified QR token's nonce; ``False`` if it was used."""
    ttl = max(1, token.expires_at - now)
    return await consume_nonce(redis, "qr", token.licence_ref + token.nonce, ttl=ttl)
