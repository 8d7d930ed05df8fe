"""Status propagation into the status cache: the registry hook (changes
through this process) and the event poll (changes committed by another
process), over a real SQLite store and real ledger; no Redis (the
in-process layer is what must change)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from pyservice.errors import StatusUnavailableError
from pyservice.qr import licence_ref
from pyservice.registry.service import AsyncRegistry
from pyservice.statuscache import Layer, StatusCache, StatusCacheMetrics
from pyservice.statusfeed import StatusFollower, StoreStatusSource
from tests.registry_testkit import business_body, data_dir, open_registry


async def _follow(
    registry: AsyncRegistry, *, max_staleness: float
) -> tuple[StatusCache, StatusFollower]:
    """A cache without Redis over the registry's store, and its follower
    (started; polls only when a test asks)."""
    source = StoreStatusSource(registry.registry.store)
    cache = StatusCache(
        source,
        redis_url=None,
        metrics=StatusCacheMetrics.create(CollectorRegistry()),
        max_staleness=max_staleness,
    )
    follower = StatusFollower(registry, cache, source, interval=3600)
    await follower.start()
    return cache, follower


async def test_hook_and_poll_update_the_cache(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    registry = open_registry(data)
    licence = registry.issue(business_body("F1"))
    ref = licence_ref(licence.id)
    async_registry = AsyncRegistry(registry)
    cache, follower = await _follow(async_registry, max_staleness=3600)
    try:
        first = await cache.lookup(ref)
        assert first.record is not None
        assert first.record.status == "VALID"
        assert (await cache.lookup(ref)).layer is Layer.IN_PROCESS

        # 1. through this process: the hook replaces the cached status at once
        await asyncio.to_thread(
            registry.set_status, licence.id, "SUSPENDED", reason="检查", actor="t"
        )
        # (a synchronous change bypasses the hook: the cache still says VALID)
        stale = await cache.lookup(ref)
        assert stale.record is not None
        assert stale.record.status == "VALID"
        # 2. the poll sees the committed event and refreshes the cache
        assert await follower.poll_once() == 1
        polled = await cache.lookup(ref)
        assert polled.record is not None
        assert polled.record.status == "SUSPENDED"
        assert await follower.poll_once() == 0  # nothing new

        # 3. the hook path, as the service uses it
        assert async_registry.on_status_change is not None
        changed = registry.set_status(licence.id, "VALID", reason="复核", actor="t")
        await async_registry.on_status_change(changed)
        hooked = await cache.lookup(ref)
        assert hooked.record is not None
        assert hooked.record.status == "VALID"
        assert await follower.poll_once() == 0  # already applied by the hook
    finally:
        await follower.close()
        await cache.close()
        registry.store.close()
    assert async_registry.on_status_change is None


def test_store_source_reads_status_without_opening_the_body(tmp_path: Path) -> None:
    registry = open_registry(data_dir(tmp_path))
    licence = registry.issue(business_body("F2", valid_until="2030-01-01"))
    try:
        record = StoreStatusSource(registry.store).load_status(licence_ref(licence.id))
        assert record is not None
        assert (record.licence_id, record.status) == (licence.id, "VALID")
        assert record.valid_until is not None
        assert record.valid_until.isoformat() == "2030-01-01"
        assert StoreStatusSource(registry.store).load_status(b"\0" * 16) is None
    finally:
        registry.store.close()


async def test_a_successful_poll_confirms_the_cache_a_failed_one_does_not(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    registry = open_registry(data)
    licence = registry.issue(business_body("F2"))
    ref = licence_ref(licence.id)
    cache, follower = await _follow(AsyncRegistry(registry), max_staleness=0.3)
    try:
        assert (await cache.lookup(ref)).layer is Layer.STORE
        # A change committed by another process, then a poll: the change is
        # applied before the confirmation, so the cache never vouches for
        # the old status.
        await asyncio.to_thread(
            registry.set_status, licence.id, "SUSPENDED", reason="检查", actor="t"
        )
        assert await follower.poll_and_confirm()
        fresh = await cache.lookup(ref)
        assert fresh.record is not None
        assert fresh.record.status == "SUSPENDED"
        await asyncio.sleep(0.35)  # past max_staleness since it was cached …
        assert await follower.poll_and_confirm()
        kept = await cache.lookup(ref)  # … but confirmed: no store read
        assert kept.layer is Layer.IN_PROCESS
        assert kept.record is not None
        assert kept.record.status == "SUSPENDED"

        registry.store.close()  # the store is gone: polls fail
        assert not await follower.poll_and_confirm()
        await asyncio.sleep(0.35)
        with pytest.raises(StatusUnavailableError):
            await cache.lookup(ref)
    finally:
        await follower.close()
        await cache.close()
        registry.store.close()
