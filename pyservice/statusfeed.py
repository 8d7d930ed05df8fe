"""How licence status changes reach the status cache.

- :class:`StoreStatusSource`: the status cache's source of truth, the
  registry store (reads the stored row; the sealed body is not opened).
- :class:`StatusFollower`: plugged into the registry's ``on_status_change``
  hook (changes made through this process: store+ledger committed, then
  :meth:`StatusCache.changed` — Redis ``SET`` and ``PUBLISH``), and polling
  ``status_events_after`` every ``interval`` seconds, so changes committed
  by another process (the CLI, another instance without Redis) reach the
  caches too. A change seen by both paths is applied once per process.
  Each successful poll confirms the cache (:meth:`StatusCache.confirm`):
  while the store answers, hot entries stay fresh without Redis reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from typing import Final

from pyservice.qr import licence_ref
from pyservice.registry.service import AsyncRegistry, StatusChanged
from pyservice.statuscache import StatusCache, StatusRecord
from pyservice.store import LicenceRow, Store

__all__ = ["StatusFollower", "StoreStatusSource", "record_of"]

log = logging.getLogger(__name__)

_EVENTS_PAGE: Final = 1000
_REMEMBERED: Final = 4096


def record_of(row: LicenceRow, read_at: float) -> StatusRecord:
    return StatusRecord(
        licence_id=row.id,
        status=row.status,
        reason=row.status_reason,
        since=row.status_at / 1000,
        valid_until=None if row.valid_until is None else dt.date.fromisoformat(row.valid_until),
        read_at=read_at,
    )


class StoreStatusSource:
    """:class:`~pyservice.statuscache.StatusSource` over the registry store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load_status(self, ref: bytes) -> StatusRecord | None:
        read_at = time.time()
        row = self._store.licence_by_ref(ref)
        return None if row is None else record_of(row, read_at)


class StatusFollower:
    def __init__(
        self,
        registry: AsyncRegistry,
        cache: StatusCache,
        source: StoreStatusSource,
        *,
        interval: float = 0.5,
    ) -> None:
        self._registry = registry
        self._cache = cache
        self._source = source
        self._interval = interval
        self._cursor = -1
        self._applied: deque[int] = deque(maxlen=_REMEMBERED)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        store = self._registry.registry.store
        head = await asyncio.to_thread(store.ledger_head)
        # Changes committed before this process started are in the store
        # already: the caches start empty and read them from there.
        self._cursor = -1 if head is None else head.tree_size - 1
        self._registry.on_status_change = self.on_status_change
        self._task = asyncio.create_task(self._poll(), name="status-follower")

    async def close(self) -> None:
        self._registry.on_status_change = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def on_status_change(self, changed: StatusChanged) -> None:
        """The registry hook: after store+ledger commit. If the change
        cannot be applied now, the poll applies it later (never an error
        for the committed change)."""
        try:
            await self._apply(changed.ref)
        except Exception as exc:
            log.warning("status change not applied yet (%s): left to the poll", type(exc).__name__)
            return
        self._applied.append(changed.ledger_index)

    async def _apply(self, ref: bytes) -> None:
        record = await asyncio.to_thread(self._source.load_status, ref)
        if record is not None:
            await self._cache.changed(record)

    async def poll_once(self) -> int:
        """Apply status events after the cursor; how many were new here."""
        applied = 0
        while True:
            events = await self._registry.status_events_after(self._cursor, _EVENTS_PAGE)
            for event in events:
                self._cursor = max(self._cursor, event.ledger_index)
                if event.ledger_index in self._applied:
                    continue
                self._applied.append(event.ledger_index)
                await self._apply(licence_ref(event.licence_id))
                applied += 1
            if len(events) < _EVENTS_PAGE:
                return applied

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.poll_and_confirm()

    async def poll_and_confirm(self) -> bool:
        """One poll; if it succeeded, tell the cache that every change
        committed before the poll began has been applied."""
        as_of, as_of_monotonic = time.time(), time.monotonic()
        try:
            await self.poll_once()
        except Exception as exc:  # the store is down: no confirmation, retry next round
            log.warning("status follower: %s", type(exc).__name__)
            return False
        self._cache.confirm(as_of, as_of_monotonic)
        return True
