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

import asyncio
import math
import time
from collections.abc import Callable
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

# The token-bucket steps of many requests in one round trip. KEYS: the m
# distinct buckets, then one nonce key per request. ARGV[1] = m; ARGV[2] =
# "rate,burst;…" per bucket; ARGV[3] = "bucket index,nonce TTL s;…" per
# request (few arguments to encode, however many requests). Returns one
# integer per request, in order: -1 the nonce was already used (no token is
# spent: a replay cannot drain the partner's bucket); >= 0 allowed, that
# many whole tokens left; <= -2 refused, retry after (-code - 2) ms. The
# nonce is recorded first (SET NX EX, atomic). Buckets are read once and
# written once per call.
_NONCE_AND_BUCKET_BATCH: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local m = tonumber(ARGV[1])
local buckets = {}
for rate, burst in string.gmatch(ARGV[2], '([^,;]+),([^,;]+)') do
  local key = KEYS[#buckets + 1]
  local rate_n = tonumber(rate)
  local burst_n = tonumber(burst)
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then
    tokens = burst_n
    at = now
  end
  buckets[#buckets + 1] = {math.min(burst_n, tokens + (now - at) * rate_n / 1000), rate_n, burst_n}
end
local out = {}
local i = 0
for index, ttl in string.gmatch(ARGV[3], '([^,;]+),([^,;]+)') do
  i = i + 1
  if not redis.call('SET', KEYS[m + i], '1', 'NX', 'EX', tonumber(ttl)) then
    out[i] = -1
  else
    local b = buckets[tonumber(index)]
    if b[1] >= 1 then
      b[1] = b[1] - 1
      out[i] = math.floor(b[1])
    else
      out[i] = -2 - math.ceil((1 - b[1]) * 1000 / b[2])
    end
  end
end
for j = 1, m do
  local b = buckets[j]
  redis.call('HSET', KEYS[j], 'tokens', tostring(b[1]), 'at', now)
  redis.call('PEXPIRE', KEYS[j], math.ceil((b[3] - b[1]) * 1000 / b[2]) + 1000)
end
return out
"""
#: Most requests one batched call carries (bounds the script's run time).
MAX_BATCH: Final = 512
#: After a failed call, how long requests skip Redis (fail fast) before
#: the next attempt: a stopped or hung Redis costs one timeout, not one per
#: request.
RETRY_AFTER_FAILURE_S: Final = 0.25


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


@dataclass(slots=True)
class _Pending:
    bucket: str
    nonce_key: str
    rate_per_s: float
    burst: int
    ttl: int
    future: asyncio.Future[RateDecision | ReplayedNonce]


class RateLimiter:
    """Token buckets per partner. Signed requests go through
    :meth:`take_with_nonce`, which coalesces requests into one script call
    (one round trip and one script run for all of them), one call in flight
    at a time: the requests of one event-loop turn, or all that arrived
    while the previous call was out. Under load the per-request Redis cost
    is a small fraction of one call."""

    def __init__(
        self, redis: Any, *, workers: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._redis = redis
        self._batch_script = (
            redis.register_script(_NONCE_AND_BUCKET_BATCH) if redis is not None else None
        )
        self._workers = max(1, workers)
        self._local: dict[str, tuple[float, float]] = {}
        self._clock = clock
        self._pending: list[_Pending] = []
        self._dispatch_scheduled = False
        self._calls: set[asyncio.Task[None]] = set()
        self._skip_redis_until = 0.0

    @staticmethod
    def burst_for(rate_per_s: float) -> int:
        return max(1, math.ceil(rate_per_s))

    def take_local(self, partner: str, rate_per_s: float) -> RateDecision:
        """One token of this worker's share (``rate / workers``) of the
        partner's limit, without Redis."""
        share = rate_per_s / self._workers
        ok, left, retry = local_bucket_take(
            self._local, partner, share, self.burst_for(share), self._clock()
        )
        return RateDecision(ok, int(left), max(1, math.ceil(retry)) if not ok else 0, "local")

    async def take_with_nonce(
        self, partner: str, rate_per_s: float, nonce_key: str, ttl: int
    ) -> RateDecision | ReplayedNonce:
        """Record ``nonce_key`` (``SET NX EX ttl``) and, if it was new, spend
        one token. :data:`REPLAYED` if the nonce was used. Needs Redis; if
        it is unreachable (or failed within the last
        :data:`RETRY_AFTER_FAILURE_S`),
        :class:`~pyservice.errors.NonceCheckUnavailableError` — never a
        silent fallback: whether one is acceptable is the caller's decision."""
        if self._batch_script is None:
            raise ValueError("take_with_nonce needs a Redis client")
        if self._clock() < self._skip_redis_until:
            raise NonceCheckUnavailableError("cannot record the nonce: Redis unreachable")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RateDecision | ReplayedNonce] = loop.create_future()
        self._pending.append(
            _Pending(
                KEY_PREFIX + partner,
                nonce_key,
                rate_per_s,
                self.burst_for(rate_per_s),
                ttl,
                future,
            )
        )
        if not self._dispatch_scheduled:
            self._dispatch_scheduled = True
            loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        """Send what is pending, unless a call is in flight: then it goes
        when that call returns (with whatever arrived meanwhile), so under
        load each call carries many requests and a worker makes about one
        call per round trip."""
        self._dispatch_scheduled = False
        if self._calls or not self._pending:
            return
        if self._clock() < self._skip_redis_until:  # the call before failed
            pending, self._pending = self._pending, []
            for item in pending:
                if not item.future.done():
                    item.future.set_exception(
                        NonceCheckUnavailableError("cannot record the nonce: Redis unreachable")
                    )
            return
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        task = asyncio.ensure_future(self._call(self._batch_script, batch))
        self._calls.add(task)
        task.add_done_callback(self._call_done)

    def _call_done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        if self._pending and not self._dispatch_scheduled:
            self._dispatch_scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    async def _call(self, script: Any, batch: list[_Pending]) -> None:
        bucket_index: dict[str, int] = {}
        specs: list[str] = []
        items: list[str] = []
        nonce_keys: list[str] = []
        for item in batch:
            index = bucket_index.get(item.bucket)
            if index is None:
                index = bucket_index[item.bucket] = len(bucket_index) + 1
                specs.append(f"{float(item.rate_per_s)!r},{item.burst}")
            items.append(f"{index},{item.ttl}")
            nonce_keys.append(item.nonce_key)
        try:
            codes = await script(
                keys=[*bucket_index, *nonce_keys],
                args=[len(bucket_index), ";".join(specs), ";".join(items)],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            self._skip_redis_until = self._clock() + RETRY_AFTER_FAILURE_S
            for item in batch:
                if not item.future.done():
                    error = NonceCheckUnavailableError("cannot record the nonce: Redis unreachable")
                    error.__cause__ = exc
                    item.future.set_exception(error)
            return
        except BaseException:  # cancelled at shutdown: never leave a request waiting
            for item in batch:
                item.future.cancel()
            raise
        for item, code in zip(batch, codes, strict=True):
            if item.future.done():  # its request went away
                continue
            if code >= 0:
                item.future.set_result(RateDecision(True, code, 0, "redis"))
            elif code == -1:
                item.future.set_result(REPLAYED)
            else:
                item.future.set_result(
                    RateDecision(False, 0, math.ceil((-code - 2) / 1000), "redis")
                )

    async def aclose(self) -> None:
        """Wait for calls in flight (their requests are waiting for them)."""
        if self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)
