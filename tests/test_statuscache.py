"""The status cache (pyservice/statuscache.py) against a real redis-server
and a real SQLite table: layers, invalidation across processes, the
staleness bound, Redis killed and restarted, both down."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from pyservice.errors import StatusUnavailableError
from pyservice.qr import licence_ref
from pyservice.statuscache import (
    INVALIDATE_CHANNEL,
    Layer,
    StatusCache,
    StatusCacheMetrics,
    StatusLookup,
    StatusRecord,
    status_key,
)
from tests.conftest import REPO_ROOT
from tests.redis_testkit import RedisServer
from tests.statuscache_testkit import SqliteStatusSource


@pytest.fixture
def source(tmp_path: Path) -> SqliteStatusSource:
    return SqliteStatusSource(tmp_path / "registry.db")


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def make_cache(
    source: SqliteStatusSource,
    registry: CollectorRegistry,
    redis_url: str | None,
    **kw: Any,
) -> StatusCache:
    return StatusCache(
        source, redis_url=redis_url, metrics=StatusCacheMetrics.create(registry), **kw
    )


@pytest.fixture
async def cache(
    source: SqliteStatusSource, registry: CollectorRegistry, redis_server: RedisServer
) -> AsyncIterator[StatusCache]:
    async with make_cache(source, registry, redis_server.url, reconnect_max=0.2) as c:
        assert await c.wait_subscribed(5)
        yield c


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def count(registry: CollectorRegistry, layer: str, outcome: str) -> float:
    value = registry.get_sample_value(
        "sidian_status_cache_total", {"layer": layer, "outcome": outcome}
    )
    return value or 0.0


async def eventually(predicate: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def status_of(cache: StatusCache, ref: bytes) -> str:
    """The status a lookup gives (the licence must be known)."""
    record = (await cache.lookup(ref)).record
    assert record is not None
    return record.status


def record_of(source: SqliteStatusSource, licence_id: str) -> StatusRecord:
    record = source.load_status(licence_ref(licence_id))
    assert record is not None
    return record


# ---------------------------------------------------------------- layers --


async def test_layers_hits_and_misses(
    cache: StatusCache,
    source: SqliteStatusSource,
    registry: CollectorRegistry,
    redis: Redis,
) -> None:
    ref = source.put("L-1", "VALID", valid_until=date(2030, 12, 31))
    first = await cache.lookup(ref)
    assert first.layer is Layer.STORE
    assert first.record is not None
    assert first.record.status == "VALID"
    assert first.record.valid_until == date(2030, 12, 31)
    assert not first.degraded
    assert source.reads == 1
    # Written back to Redis with a TTL.
    assert 0 < await redis.ttl(status_key(ref)) <= 60
    second = await cache.lookup(ref)
    assert second.layer is Layer.IN_PROCESS
    assert second.record == first.record
    assert source.reads == 1
    assert count(registry, "in-process", "hit") == 1
    assert count(registry, "in-process", "miss") == 1
    assert count(registry, "redis", "miss") == 1
    assert count(registry, "store", "hit") == 1
    # A second process-like cache (empty LRU) is served by Redis.
    other_registry = CollectorRegistry()
    async with make_cache(source, other_registry, cache_url(redis)) as other:
        assert await other.wait_subscribed(5)
        third = await other.lookup(ref)
        assert third.layer is Layer.REDIS
        assert third.record == first.record
    assert count(other_registry, "redis", "hit") == 1
    assert source.reads == 1
    assert registry.get_sample_value("sidian_status_age_seconds_count") == 2
    assert registry.get_sample_value("sidian_redis_up") == 1


def cache_url(redis: Redis) -> str:
    kw = redis.connection_pool.connection_kwargs
    return f"redis://{kw['host']}:{kw['port']}/0"


async def test_unknown_licence_is_none_and_not_cached(
    cache: StatusCache, source: SqliteStatusSource, registry: CollectorRegistry, redis: Redis
) -> None:
    ref = licence_ref("nope")
    for _ in range(2):
        result = await cache.lookup(ref)
        assert result.record is None
        assert result.layer is Layer.STORE
    assert count(registry, "store", "miss") == 2
    assert await redis.exists(status_key(ref)) == 0


async def test_lru_is_bounded(source: SqliteStatusSource, registry: CollectorRegistry) -> None:
    async with make_cache(source, registry, None, max_entries=3, max_staleness=60) as c:
        refs = [source.put(f"L-{i}", "VALID") for i in range(5)]
        for ref in refs:
            await c.lookup(ref)
        assert len(c) == 3
        assert (await c.lookup(refs[-1])).layer is Layer.IN_PROCESS
        assert (await c.lookup(refs[0])).layer is Layer.STORE
        assert not c.degraded  # no Redis configured is not degraded


async def test_corrupt_redis_value_falls_through_to_the_store(
    cache: StatusCache, source: SqliteStatusSource, registry: CollectorRegistry, redis: Redis
) -> None:
    ref = source.put("L-corrupt", "SUSPENDED", reason="检查中")
    await redis.set(status_key(ref), b'{"status": "VALID"}', ex=60)
    result = await cache.lookup(ref)
    assert result.layer is Layer.STORE
    assert result.record is not None
    assert result.record.status == "SUSPENDED"
    assert result.record.reason == "检查中"
    assert count(registry, "redis", "error") == 1


# ----------------------------------------------------------- write path --


async def test_changed_updates_redis_publishes_and_drops_local_entry(
    cache: StatusCache, source: SqliteStatusSource, redis: Redis
) -> None:
    ref = source.put("L-2", "VALID")
    await cache.lookup(ref)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(INVALIDATE_CHANNEL)
    source.put("L-2", "REVOKED", reason="吊销")
    assert await cache.changed(record_of(source, "L-2"))
    message = None
    for _ in range(100):
        message = await pubsub.get_message(timeout=0.1)
        if message is not None:
            break
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert message is not None
    assert message["data"] == ref.hex().encode()
    stored = orjson.loads(await redis.get(status_key(ref)) or b"null")
    assert stored["status"] == "REVOKED"
    assert 0 < await redis.ttl(status_key(ref)) <= 60
    result = await cache.lookup(ref)
    assert result.layer is Layer.REDIS
    assert result.record is not None
    assert result.record.status == "REVOKED"


async def test_fill_never_overwrites_a_newer_value(
    cache: StatusCache, source: SqliteStatusSource, redis: Redis
) -> None:
    # A status change lands in Redis while a reader holds the old store row:
    # the reader's write-back (SET NX) must not replace it.
    ref = source.put("L-race", "VALID")
    old = record_of(source, "L-race")
    newer = StatusRecord("L-race", "SUSPENDED", "x", time.time(), None, time.time())
    await redis.set(status_key(ref), newer.to_json(), ex=60)
    await cache._redis_fill(redis, [(ref, old)])  # the reader's write-back, late
    assert orjson.loads(await redis.get(status_key(ref)) or b"null")["status"] == "SUSPENDED"


# ------------------------------------------------------ across processes --


class Worker:
    """A separate process holding its own StatusCache."""

    def __init__(self, db: Path, redis_url: str, max_staleness: float) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed argv
            [
                sys.executable,
                "-m",
                "tests.statuscache_testkit",
                str(db),
                redis_url,
                str(max_staleness),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=env,
            text=True,
        )
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def get(self, ref: bytes) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"get {ref.hex()}\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = orjson.loads(self.readline())
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            assert self.process.stdout is not None
            self.process.stdout.close()


@pytest.fixture
def worker(source: SqliteStatusSource, redis_server: RedisServer) -> Iterator[Worker]:
    w = Worker(source.path, redis_server.url, max_staleness=3600)
    yield w
    w.close()


async def test_invalidation_reaches_another_process(
    cache: StatusCache, source: SqliteStatusSource, worker: Worker
) -> None:
    ref = source.put("L-x", "VALID")
    assert worker.get(ref) == {"status": "VALID", "layer": "store", "pid": worker.process.pid}
    assert worker.get(ref)["layer"] == "in-process"
    assert worker.process.pid != os.getpid()
    # The registry changes the store, then tells every process.
    source.put("L-x", "SUSPENDED", reason="暂扣")
    assert await cache.changed(record_of(source, "L-x"))
    deadline = time.monotonic() + 5
    while (answer := worker.get(ref))["status"] != "SUSPENDED":
        # Its max staleness is an hour: only the message can change this.
        assert answer == {"status": "VALID", "layer": "in-process", "pid": worker.process.pid}
        assert time.monotonic() < deadline, "invalidation never arrived"
        await asyncio.sleep(0.01)
    assert answer["layer"] == "redis"


async def test_lost_message_is_bounded_by_max_staleness(
    source: SqliteStatusSource, registry: CollectorRegistry, redis_server: RedisServer, redis: Redis
) -> None:
    async with make_cache(source, registry, redis_server.url, max_staleness=0.5) as c:
        assert await c.wait_subscribed(5)
        ref = source.put("L-lost", "VALID")
        t0 = time.monotonic()
        assert (await c.lookup(ref)).layer is Layer.STORE
        t1 = time.monotonic()  # the entry was cached within [t0, t1]
        # A status change whose invalidation message is lost: store and
        # Redis have the new status, nobody publishes.
        source.put("L-lost", "REVOKED")
        await redis.set(status_key(ref), record_of(source, "L-lost").to_json(), ex=60)
        first = await c.lookup(ref)
        assert first.record is not None
        assert first.record.status == "VALID"
        assert first.layer is Layer.IN_PROCESS
        while True:
            before = time.monotonic()
            result = await c.lookup(ref)
            after = time.monotonic()
            assert result.record is not None
            if result.record.status == "REVOKED":
                break
            # Stale only while the entry is younger than max_staleness.
            assert before <= t1 + 0.5
            await asyncio.sleep(0.02)
        assert after >= t0 + 0.5
        assert result.layer is Layer.REDIS


async def test_confirmation_keeps_an_entry_fresh_and_says_as_of_when(
    source: SqliteStatusSource, registry: CollectorRegistry
) -> None:
    async with make_cache(source, registry, None, max_staleness=0.3, redis_ttl=60) as c:
        ref = source.put("L-conf", "VALID")
        first = await c.lookup(ref)
        assert first.layer is Layer.STORE
        assert first.record is not None
        # Confirmed after the staleness bound would have expired the entry:
        # still served from the LRU, and as of the confirmation.
        await asyncio.sleep(0.35)
        as_of = time.time()
        c.confirm(as_of, time.monotonic())
        await asyncio.sleep(1.05)
        c.confirm(as_of + 1.05, time.monotonic())
        served = await c.lookup(ref)
        assert served.layer is Layer.IN_PROCESS
        assert served.record is not None
        assert served.as_of == as_of + 1.05
        assert served.record.read_at < as_of
        assert served.record.status == "VALID"
        # Without a new confirmation the bound applies again.
        await asyncio.sleep(0.35)
        assert (await c.lookup(ref)).layer is Layer.STORE


async def test_a_confirmed_entry_is_still_read_again_after_redis_ttl(
    source: SqliteStatusSource, registry: CollectorRegistry
) -> None:
    async with make_cache(source, registry, None, max_staleness=5, redis_ttl=1) as c:
        ref = source.put("L-ttl", "VALID")
        assert (await c.lookup(ref)).layer is Layer.STORE
        await asyncio.sleep(1.05)
        c.confirm(time.time(), time.monotonic())
        assert (await c.lookup(ref)).layer is Layer.STORE


async def test_an_older_confirmation_changes_nothing(
    source: SqliteStatusSource, registry: CollectorRegistry
) -> None:
    async with make_cache(source, registry, None, max_staleness=0.2) as c:
        ref = source.put("L-old", "VALID")
        assert (await c.lookup(ref)).layer is Layer.STORE
        c.confirm(time.time() - 10, time.monotonic() - 10)
        await asyncio.sleep(0.25)
        assert (await c.lookup(ref)).layer is Layer.STORE


# --------------------------------------------------------- fail closed --


async def test_redis_killed_and_restarted(
    cache: StatusCache,
    source: SqliteStatusSource,
    registry: CollectorRegistry,
    redis_server: RedisServer,
) -> None:
    a = source.put("L-a", "VALID")
    b = source.put("L-b", "VALID")
    await cache.lookup(a)
    redis_server.kill()
    # A read that needs Redis goes to the store instead.
    result = await cache.lookup(b)
    assert result.layer is Layer.STORE
    assert result.record is not None
    assert result.record.status == "VALID"
    assert result.degraded
    assert cache.degraded
    assert registry.get_sample_value("sidian_redis_up") == 0
    # While down, a status change is applied locally and remembered.
    source.put("L-b", "REVOKED")
    assert not await cache.changed(record_of(source, "L-b"))
    again = await cache.lookup(b)
    assert again.record is not None
    assert again.record.status == "REVOKED"
    assert again.degraded
    # Redis comes back (empty): the process reconnects and resubscribes.
    redis_server.start()

    async def healed() -> bool:
        return not cache.degraded

    await eventually(healed)
    assert registry.get_sample_value("sidian_redis_up") == 1
    result = await cache.lookup(a)
    assert result.layer is Layer.STORE  # LRU was cleared on resubscription
    assert not result.degraded
    client = Redis.from_url(redis_server.url)
    try:
        assert await client.ttl(status_key(a)) > 0  # the cache is rebuilt
    finally:
        await client.aclose()
    assert (await cache.lookup(a)).layer is Layer.IN_PROCESS


async def test_redis_stopped_then_store_down_is_unavailable(
    cache: StatusCache, source: SqliteStatusSource, redis_server: RedisServer, tmp_path: Path
) -> None:
    ref = source.put("L-d", "VALID")
    redis_server.stop()
    source.path.rename(tmp_path / "moved.db")  # the store cannot be opened
    with pytest.raises(StatusUnavailableError, match="Redis is down") as info:
        await cache.lookup(ref)
    assert info.value.code == "status_unavailable"
    # Store back: answers again, still degraded.
    (tmp_path / "moved.db").rename(source.path)
    result = await cache.lookup(ref)
    assert result.record is not None
    assert result.degraded


async def test_store_down_redis_miss_is_unavailable_redis_hit_is_served(
    cache: StatusCache, source: SqliteStatusSource, tmp_path: Path, redis: Redis
) -> None:
    cached = source.put("L-cached", "VALID")
    await cache.lookup(cached)
    missing = source.put("L-missing", "VALID")
    source.path.rename(tmp_path / "gone.db")
    with pytest.raises(StatusUnavailableError):
        await cache.lookup(missing)
    # The LRU entry is dropped by an invalidation; Redis still has it.
    await redis.publish(INVALIDATE_CHANNEL, cached.hex())

    async def dropped() -> bool:
        return len(cache) == 0

    await eventually(dropped)
    result = await cache.lookup(cached)
    assert result.layer is Layer.REDIS


async def test_redis_timeout_degrades_then_recovers_without_reconnect(
    cache: StatusCache, source: SqliteStatusSource, registry: CollectorRegistry, redis: Redis
) -> None:
    ref = source.put("L-slow", "VALID")
    # Redis stops answering every client for 1.5 s (a real stall, no fake):
    # the lookup's GET times out after 0.5 s and the store answers.
    await redis.client_pause(1500, all=True)
    result = await cache.lookup(ref)
    assert result.layer is Layer.STORE
    assert result.degraded
    assert count(registry, "redis", "error") == 1

    async def recovered() -> bool:
        return not cache.degraded

    await eventually(recovered)
    assert registry.get_sample_value("sidian_redis_up") == 1
    # Redis is used again (the probe may have resubscribed, which clears
    # the LRU: either way the next answers come from the caches).
    assert not (await cache.lookup(ref)).degraded
    assert (await cache.lookup(ref)).layer is Layer.IN_PROCESS


async def test_change_refused_by_redis_is_replayed(
    cache: StatusCache, source: SqliteStatusSource, redis: Redis
) -> None:
    ref = source.put("L-refused", "VALID")
    await cache.lookup(ref)  # Redis now holds VALID
    watcher = redis.pubsub(ignore_subscribe_messages=True)
    await watcher.subscribe(INVALIDATE_CHANNEL)
    # The real server refuses every write (no replica to acknowledge it)
    # while reads and PUBLISH still work: the status change's SET fails.
    await redis.config_set("min-replicas-to-write", 1)
    source.put("L-refused", "REVOKED")
    assert not await cache.changed(record_of(source, "L-refused"))
    assert cache.degraded
    assert orjson.loads(await redis.get(status_key(ref)) or b"null")["status"] == "VALID"
    await asyncio.sleep(1.5)  # probes and replays keep failing meanwhile
    assert cache.degraded
    await redis.config_set("min-replicas-to-write", 0)

    async def recovered() -> bool:
        return not cache.degraded

    await eventually(recovered)
    # The replay dropped the stale copy and told every process.
    assert await redis.get(status_key(ref)) is None
    seen: list[bytes] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and seen.count(ref.hex().encode()) < 2:
        message = await watcher.get_message(timeout=0.2)
        if message is not None:
            seen.append(message["data"])
    await watcher.aclose()  # type: ignore[no-untyped-call]
    assert seen.count(ref.hex().encode()) == 2  # the failed pipeline's, the replay's
    assert await status_of(cache, ref) == "REVOKED"


# ------------------------------------------------------- coalesced loads --


async def test_concurrent_misses_share_one_store_read(
    cache: StatusCache, source: SqliteStatusSource, registry: CollectorRegistry
) -> None:
    ref = source.put("L-herd", "SUSPENDED")
    results = await asyncio.gather(*(cache.lookup(ref) for _ in range(20)))
    assert source.reads == 1
    assert {r.record.status for r in results if r.record is not None} == {"SUSPENDED"}
    assert count(registry, "store", "hit") == 1
    assert registry.get_sample_value("sidian_status_age_seconds_count") == 20


async def test_misses_of_one_turn_take_one_redis_call_and_one_fill(
    cache: StatusCache, source: SqliteStatusSource, registry: CollectorRegistry, redis: Redis
) -> None:
    # At mass scale nearly every scan misses the LRU: the misses of one
    # event-loop turn are read from Redis together and filled together.
    refs = [source.put(f"L-cold-{i}", "VALID") for i in range(30)]
    await redis.config_resetstat()
    results = await asyncio.gather(*(cache.lookup(ref) for ref in refs))
    assert [r.record.licence_id for r in results if r.record is not None] == [
        f"L-cold-{i}" for i in range(30)
    ]
    stats = await redis.info("commandstats")
    assert stats["cmdstat_mget"]["calls"] == 1
    assert "cmdstat_get" not in stats
    assert stats["cmdstat_set"]["calls"] == 30  # the fills, one pipeline
    assert count(registry, "redis", "miss") == 30
    assert count(registry, "store", "hit") == 30
    for ref in refs:  # filled: another process would find them in Redis
        assert await redis.exists(status_key(ref))


async def test_store_down_fails_only_the_refs_redis_lacks_in_a_shared_load(
    cache: StatusCache, source: SqliteStatusSource, tmp_path: Path, redis: Redis
) -> None:
    cached = source.put("L-in-redis", "SUSPENDED")
    await cache.lookup(cached)  # now in Redis too
    missing = source.put("L-nowhere", "VALID")
    await redis.publish(INVALIDATE_CHANNEL, cached.hex())

    async def dropped() -> bool:
        return len(cache) == 0

    await eventually(dropped)
    source.path.rename(tmp_path / "gone.db")
    served, failed = await asyncio.gather(
        cache.lookup(cached), cache.lookup(missing), return_exceptions=True
    )
    assert isinstance(served, StatusLookup)
    assert served.layer is Layer.REDIS
    assert served.record is not None
    assert served.record.status == "SUSPENDED"
    assert isinstance(failed, StatusUnavailableError)


async def test_concurrent_misses_with_the_store_down_all_fail(
    cache: StatusCache, source: SqliteStatusSource, registry: CollectorRegistry, tmp_path: Path
) -> None:
    ref = source.put("L-herd-down", "VALID")
    source.path.rename(tmp_path / "away.db")
    results = await asyncio.gather(*(cache.lookup(ref) for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, StatusUnavailableError) for r in results)
    assert count(registry, "store", "error") == 1


async def blocked_lookups(
    cache: StatusCache, source: SqliteStatusSource, licence_id: str, n: int
) -> tuple[bytes, sqlite3.Connection, list[asyncio.Task[StatusLookup]]]:
    """``n`` lookups of a VALID licence whose store read waits on an
    exclusive SQLite lock (the caller ends the lock's transaction)."""
    ref = source.put(licence_id, "VALID")
    lock = sqlite3.connect(source.path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    tasks = [asyncio.create_task(cache.lookup(ref)) for _ in range(n)]
    await asyncio.sleep(0.2)  # the load is running, blocked on the lock
    return ref, lock, tasks


async def test_cancelled_caller_does_not_cancel_the_shared_load(
    cache: StatusCache, source: SqliteStatusSource
) -> None:
    _, lock, (first, second) = await blocked_lookups(cache, source, "L-cancel", 2)
    first.cancel()
    lock.execute("COMMIT")
    lock.close()
    result = await second
    assert result.record is not None
    assert result.record.status == "VALID"
    assert first.cancelled()
    assert source.reads == 1


async def test_lookup_after_a_change_does_not_join_an_older_load(
    cache: StatusCache, source: SqliteStatusSource
) -> None:
    ref, lock, (older,) = await blocked_lookups(cache, source, "L-join", 1)
    # A status change is published meanwhile (Redis gets REVOKED); the
    # older load will still read VALID once the lock goes.
    revoked = StatusRecord("L-join", "REVOKED", None, time.time(), None, time.time())
    assert await cache.changed(revoked)
    newer = asyncio.ensure_future(cache.lookup(ref))
    await asyncio.sleep(0.05)
    lock.execute("ROLLBACK")
    lock.close()
    older_result, newer_result = await older, await newer
    assert older_result.record is not None
    assert older_result.record.status == "VALID"  # began before the change
    assert newer_result.record is not None
    assert newer_result.record.status == "REVOKED"  # began after: never the older answer
    assert newer_result.layer is Layer.REDIS
    # The older answer was not cached over the change either.
    again = await cache.lookup(ref)
    assert again.record is not None
    assert again.record.status == "REVOKED"


# ------------------------------------------------------- Redis payloads --

_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(1 << 63), (1 << 64) - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["VALID", "REVOKED", "EXPIRED", "2030-12-31", "2030-02-30"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_RECORD_KEYS = ["licence_id", "status", "reason", "since", "valid_until", "read_at"]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.dictionaries(st.sampled_from(_RECORD_KEYS), _JSON_VALUES).map(orjson.dumps),
    )
)
def test_any_redis_payload_parses_or_is_rejected_cleanly(data: bytes) -> None:
    # Whatever sits under a status key, parsing gives a record or one of
    # the errors the read path turns into "go to the store".
    try:
        record = StatusRecord.from_json(data)
    except (ValueError, KeyError, TypeError):
        return
    assert record.status in {"VALID", "SUSPENDED", "REVOKED", "CANCELLED"}
    assert StatusRecord.from_json(record.to_json()) == record
