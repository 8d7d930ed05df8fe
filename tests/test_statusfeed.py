"""Status propagation into the status cache: the registry hook (changes
through this process) and the event poll (changes committed by another
process), over a real SQLite store and real ledger; no Redis (the
in-process layer is what must change)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry

from pyservice.qr import licence_ref
from pyservice.registry.service import AsyncRegistry
from pyservice.statuscache import Layer, StatusCache, StatusCacheMetrics
from pyservice.statusfeed import StatusFollower, StoreStatusSource
from tests.registry_testkit import business_body, data_dir, open_registry


async def test_hook_and_poll_update_the_cache(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    registry = open_registry(data)
    licence = registry.issue(business_body("F1"))
    ref = licence_ref(licence.id)
    source = StoreStatusSource(registry.store)
    cache = StatusCache(
        source,
        redis_url=None,
        metrics=StatusCacheMetrics.create(CollectorRegistry()),
        max_staleness=3600,
    )
    async_registry = AsyncRegistry(registry)
    follower = StatusFollower(async_registry, cache, source, interval=3600)
    await follower.start()
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
