"""Per-partner rate limits: a token bucket in Redis, updated atomically by
one Lua script (security.md: "Rate limits per partner, enforced in Redis,
answer 429").

Bucket ``sidian:v1:rl:<partner>`` (a hash: tokens, last refill in ms),
capacity ``burst`` (default: one second's worth, at least 1), refilled at
``rate`` tokens per second using Redis's own clock, so every worker and
every node sees one bucket. The key expires once the bucket would be full
again, so idle partners cost nothing.

When Redis is unreachable the limiter does not fail open: each worker keeps
an in-process bucket with ``rate / workers``, so the partner's total stays
within its limit while Redis is down.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Final

from redis.exceptions import RedisError

from pyservice.errors import NonceCheckUnavailableError, SidianError

__all__ = [
    "RateDecision",
    "RateLimitedError",
    "RateLimiter",
    "ReplayedNonce",
    "local_bucket_take",
]

KEY_PREFIX: Final = "sidian:v1:rl:"

# The token bucket step. KEYS[1] bucket; ARGV: rate (tokens/s, float),
# burst (int), cost (int). Returns {allowed 0/1, tokens left (floor),
# retry-after ms}.
_BUCKET_STEP: Final = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {allowed, math.floor(tokens), retry}
"""
# A signed request's nonce and its bucket in one round trip: KEYS[2] is the
# nonce key, ARGV[4] its TTL (s). A nonce already present returns
# {-1, 0, 0} and spends no token (a replay cannot drain the partner's
# bucket); otherwise it is recorded (SET NX EX, atomic) and the bucket step runs.
_NONCE_AND_BUCKET_SCRIPT: Final = (
    """
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[4])) then
  return {-1, 0, 0}
end
"""
    + _BUCKET_STEP
)


class RateLimitedError(SidianError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    remaining: int
    retry_after_s: int
    source: str  # "redis" or "local"

    def raise_if_denied(self) -> None:
        if not self.allowed:
            raise RateLimitedError("rate limit exceeded", self.retry_after_s)


def local_bucket_take(
    state: dict[str, tuple[float, float]], key: str, rate: float, burst: int, now: float
) -> tuple[bool, float, float]:
    """One in-process token bucket step: (allowed, tokens left, retry after s)."""
    tokens, at = state.get(key, (float(burst), now))
    tokens = min(float(burst), tokens + (now - at) * rate)
    if tokens >= 1:
        state[key] = (tokens - 1, now)
        return True, tokens - 1, 0.0
    state[key] = (tokens, now)
    return False, tokens, (1 - tokens) / rate


class ReplayedNonce:
    """What :meth:`RateLimiter.take_with_nonce` answers for a used nonce."""


REPLAYED: Final = ReplayedNonce()


class RateLimiter:
    def __init__(self, redis: Any, *, workers: int = 1) -> None:
        self._redis = redis
        self._script = redis.register_script(_BUCKET_STEP) if redis is not None else None
        self._nonce_script = (
            redis.register_script(_NONCE_AND_BUCKET_SCRIPT) if redis is not None else None
        )
        self._workers = max(1, workers)
        self._local: dict[str, tuple[float, float]] = {}

    @staticmethod
    def burst_for(rate_per_s: float) -> int:
        return max(1, math.ceil(rate_per_s))

    async def take(self, partner: str, rate_per_s: float) -> RateDecision:
        """Spend one token of ``partner``'s bucket (``rate_per_s`` > 0)."""
        burst = self.burst_for(rate_per_s)
        if self._script is not None:
            try:
                allowed, left, retry_ms = await self._script(
                    keys=[KEY_PREFIX + partner], args=[repr(float(rate_per_s)), burst, 1]
                )
                return RateDecision(
                    bool(allowed), int(left), math.ceil(int(retry_ms) / 1000), "redis"
                )
            except (RedisError, OSError, TimeoutError):
                pass  # Redis unreachable: the per-worker share below
        share = rate_per_s / self._workers
        ok, left, retry = local_bucket_take(
            self._local, partner, share, self.burst_for(share), time.monotonic()
        )
        return RateDecision(ok, int(left), max(1, math.ceil(retry)) if not ok else 0, "local")

    async def take_with_nonce(
        self, partner: str, rate_per_s: float, nonce_key: str, ttl: int
    ) -> RateDecision | ReplayedNonce:
        """Record ``nonce_key`` (``SET NX EX ttl``) and, if it was new, spend
        one token — one Redis round trip. :data:`REPLAYED` if the nonce was
        used. Needs Redis; if it is unreachable,
        :class:`~pyservice.errors.NonceCheckUnavailableError` (never a
        fallback: a replay could not be ruled out)."""
        if self._nonce_script is None:
            raise ValueError("take_with_nonce needs a Redis client")
        burst = self.burst_for(rate_per_s)
        try:
            allowed, left, retry_ms = await self._nonce_script(
                keys=[KEY_PREFIX + partner, nonce_key],
                args=[repr(float(rate_per_s)), burst, 1, ttl],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            raise NonceCheckUnavailableError("cannot record the nonce: Redis unreachable") from exc
        if int(allowed) < 0:
            return REPLAYED
        return RateDecision(bool(allowed), int(left), math.ceil(int(retry_ms) / 1000), "redis")
