"""Per-partner token buckets in a real Redis; the local fallback when Redis is down."""

from __future__ import annotations

import asyncio
import itertools

import pytest
import redis.asyncio as aioredis

from pyservice.errors import NonceCheckUnavailableError
from pyservice.partners.ratelimit import (
    KEY_PREFIX,
    MAX_BATCH,
    REPLAYED,
    RETRY_AFTER_FAILURE_S,
    RateDecision,
    RateLimitedError,
    RateLimiter,
    local_bucket_take,
)
from tests.redis_testkit import RedisServer

_nonces = (f"sidian:v1:nonce:req:{i:x}" for i in itertools.count())


async def _take(limiter: RateLimiter, partner: str, rate: float) -> RateDecision:
    """One signed request's step: a fresh nonce, then a token."""
    decision = await limiter.take_with_nonce(partner, rate, next(_nonces), 600)
    assert isinstance(decision, RateDecision)
    return decision


async def test_bucket_allows_burst_then_refuses_with_retry_after(redis_server: RedisServer) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    limiter = RateLimiter(client)
    decisions = [await _take(limiter, "p1", 5) for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert all(d.source == "redis" for d in decisions)
    assert decisions[-1].retry_after_s >= 1
    with pytest.raises(RateLimitedError) as caught:
        decisions[-1].raise_if_denied()
    assert caught.value.headers() == {"Retry-After": str(decisions[-1].retry_after_s)}
    assert (caught.value.code, caught.value.http_status) == ("rate_limited", 429)
    # Partners have separate buckets, and every bucket key has a TTL.
    assert (await _take(limiter, "p2", 5)).allowed
    assert 0 < await client.pttl(KEY_PREFIX + "p1") <= 2000
    await asyncio.sleep(0.25)  # 5/s refills one token in 200 ms
    assert (await _take(limiter, "p1", 5)).allowed
    await client.aclose()


async def test_concurrent_takes_never_exceed_the_bucket(redis_server: RedisServer) -> None:
    # Four limiters (four workers), one bucket in Redis.
    clients = [aioredis.Redis.from_url(redis_server.url) for _ in range(4)]
    limiters = [RateLimiter(c) for c in clients]
    results = await asyncio.gather(*(_take(limiters[i % 4], "hot", 20) for i in range(100)))
    assert sum(d.allowed for d in results) in range(20, 23)  # burst + refill during the run
    for c in clients:
        await c.aclose()


def test_the_local_share_is_rate_divided_by_workers() -> None:
    limiter = RateLimiter(None, workers=2)
    decisions = [limiter.take_local("p1", 10) for _ in range(8)]
    assert all(d.source == "local" for d in decisions)
    assert sum(d.allowed for d in decisions) == 5  # 10/s shared by 2 workers: burst 5
    assert decisions[-1].retry_after_s >= 1


def test_local_bucket_refills() -> None:
    state: dict[str, tuple[float, float]] = {}
    assert local_bucket_take(state, "k", 1.0, 1, now=0.0)[0]
    ok, _, retry = local_bucket_take(state, "k", 1.0, 1, now=0.5)
    assert not ok
    assert retry == pytest.approx(0.5)
    assert local_bucket_take(state, "k", 1.0, 1, now=1.01)[0]


async def test_nonce_and_bucket_in_one_script(redis_server: RedisServer) -> None:
    client = aioredis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    limiter = RateLimiter(client)
    first = await limiter.take_with_nonce("p1", 2, "sidian:v1:nonce:req:aa", 600)
    assert isinstance(first, RateDecision)
    assert first.allowed
    # A replay is refused and spends no token: the second fresh nonce still passes.
    for _ in range(5):
        assert await limiter.take_with_nonce("p1", 2, "sidian:v1:nonce:req:aa", 600) is REPLAYED
    second = await limiter.take_with_nonce("p1", 2, "sidian:v1:nonce:req:bb", 600)
    assert isinstance(second, RateDecision)
    assert second.allowed
    third = await limiter.take_with_nonce("p1", 2, "sidian:v1:nonce:req:cc", 600)
    assert isinstance(third, RateDecision)
    assert not third.allowed  # the bucket (burst 2) is empty …
    assert await client.exists("sidian:v1:nonce:req:cc") == 1  # … but the nonce is used
    assert 590 <= await client.ttl("sidian:v1:nonce:req:aa") <= 600
    redis_server.stop()
    with pytest.raises(NonceCheckUnavailableError):
        await limiter.take_with_nonce("p1", 2, "sidian:v1:nonce:req:dd", 600)
    await client.aclose()


async def _script_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return sum(
        int(v["calls"]) for k, v in stats.items() if k in {"cmdstat_evalsha", "cmdstat_eval"}
    )


async def test_requests_of_one_loop_turn_share_one_script_call(redis_server: RedisServer) -> None:
    client = aioredis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    limiter = RateLimiter(client)
    await limiter.take_with_nonce("warm", 1000, "sidian:v1:nonce:req:00", 600)  # loads the script
    before = await _script_calls(client)
    # 20 requests of partner a (burst 5), one nonce twice, and 3 of partner b.
    keys = [f"sidian:v1:nonce:req:a{i:02x}" for i in range(20)]
    outcomes = await asyncio.gather(
        *(limiter.take_with_nonce("a", 5, key, 600) for key in keys),
        limiter.take_with_nonce("a", 5, keys[0], 600),
        *(limiter.take_with_nonce("b", 5, f"sidian:v1:nonce:req:b{i}", 600) for i in range(3)),
    )
    assert await _script_calls(client) - before == 1
    for_a, replay, for_b = outcomes[:20], outcomes[20], outcomes[21:]
    assert replay is REPLAYED
    decisions = [d for d in for_a if isinstance(d, RateDecision)]
    assert len(decisions) == 20
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 15  # in order of arrival
    assert all(d.retry_after_s >= 1 for d in decisions[5:])
    assert all(isinstance(d, RateDecision) and d.allowed for d in for_b)
    await client.aclose()


async def test_a_large_turn_is_split_into_bounded_calls(redis_server: RedisServer) -> None:
    client = aioredis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    limiter = RateLimiter(client)
    await limiter.take_with_nonce("warm", 1000, "sidian:v1:nonce:req:00", 600)
    before = await _script_calls(client)
    n = 2 * MAX_BATCH + 1
    outcomes = await asyncio.gather(
        *(limiter.take_with_nonce("p", 10_000, f"sidian:v1:nonce:req:{i:x}", 600) for i in range(n))
    )
    assert await _script_calls(client) - before == 3
    assert all(isinstance(d, RateDecision) and d.allowed for d in outcomes)
    assert await client.dbsize() == n + 1 + 2  # the nonces, the warm-up nonce, two buckets
    await client.aclose()


async def test_a_waiting_request_that_goes_away_does_not_disturb_the_others(
    redis_server: RedisServer,
) -> None:
    client = aioredis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    limiter = RateLimiter(client)
    gone = asyncio.ensure_future(limiter.take_with_nonce("p", 10, "sidian:v1:nonce:req:x1", 600))
    kept = asyncio.ensure_future(limiter.take_with_nonce("p", 10, "sidian:v1:nonce:req:x2", 600))
    await asyncio.sleep(0)
    gone.cancel()
    decision = await kept
    assert isinstance(decision, RateDecision)
    assert decision.allowed
    await limiter.aclose()
    await client.aclose()


async def test_after_a_failed_call_requests_fail_fast_for_a_moment(
    redis_server: RedisServer,
) -> None:
    client = aioredis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    now = [1000.0]
    limiter = RateLimiter(client, clock=lambda: now[0])
    redis_server.stop()
    with pytest.raises(NonceCheckUnavailableError):
        await limiter.take_with_nonce("p", 10, "sidian:v1:nonce:req:f1", 600)
    redis_server.start()
    # Redis is back, but within the pause the limiter does not try it …
    with pytest.raises(NonceCheckUnavailableError):
        await limiter.take_with_nonce("p", 10, "sidian:v1:nonce:req:f2", 600)
    assert await client.exists("sidian:v1:nonce:req:f2") == 0
    # … and after it, it does.
    now[0] += RETRY_AFTER_FAILURE_S
    decision = await limiter.take_with_nonce("p", 10, "sidian:v1:nonce:req:f3", 600)
    assert isinstance(decision, RateDecision)
    assert decision.allowed
    await client.aclose()
