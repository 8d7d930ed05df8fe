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

from pyservice.errors import SidianError

__all__ = ["RateDecision", "RateLimitedError", "RateLimiter", "local_bucket_take"]

KEY_PREFIX: Final = "sidian:v1:rl:"

# KEYS[1] bucket; ARGV: rate (tokens/s, float), burst (int), cost (int).
# Returns {allowed 0/1, tokens left (floor), retry-after ms}.
_BUCKET_SCRIPT: Final = """
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


class RateLimiter:
    def __init__(self, redis: Any, *, workers: int = 1) -> None:
        self._redis = redis
        self._script = redis.register_script(_BUCKET_SCRIPT) if redis is not None else None
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
