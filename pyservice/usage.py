"""Usage (audit) records of verification calls (security.md §Audit).

A call queues its record (:meth:`UsageRecorder.record`, no I/O, returns the
receipt at once); a background task writes queued records in batches
(every ``interval`` seconds or ``batch_size`` records) to the append-only
``usage_records`` table and appends one ``usage.batch`` ledger entry with
the batch's Merkle root (leaves: the canonical JSON of each record), so a
record altered or deleted later no longer matches the ledger. Pending
records are flushed on graceful shutdown.

The licence is named by a keyed hash (:meth:`KeyRing.usage_target`), never
by its id; tokens and holder data never reach a record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from pyservice import merkle
from pyservice.ledger.service import Ledger
from pyservice.registry.service import canonical_validated
from pyservice.store import Store, UsageRow
from pyservice.verify.result import iso_ms

__all__ = ["MAX_QUEUE", "UsageRecorder", "record_leaf"]

log = logging.getLogger(__name__)

#: Records kept in memory at most; past this, new ones are dropped and
#: counted (the store is not keeping up).
MAX_QUEUE: Final = 200_000


def record_leaf(row: UsageRow) -> bytes:
    """The Merkle leaf of a record: SM3(0x00 ‖ canonical JSON of its fields)."""
    fields: dict[str, Any] = {
        "id": row.record_id,
        "at": row.at,
        "partner": row.partner_id,
        "endpoint": row.endpoint,
        "target": None if row.target is None else row.target.hex(),
        "result": row.result,
        "latency_us": row.latency_us,
        "request_id": row.request_id,
        "client": row.client,
        "full": row.full_disclosure,
    }
    # Only ASCII keys, strings, integers, booleans and null: the C encoder's
    # output is the RFC 8785 form (see canonical_validated).
    return merkle.leaf_hash(canonical_validated(fields))


class UsageRecorder:
    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        target_of: Callable[[str], bytes],
        *,
        interval: float = 0.5,
        batch_size: int = 1000,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._target_of = target_of
        self._interval = interval
        self._batch_size = batch_size
        self._queue: list[UsageRow] = []
        #: Batches stored but whose ledger entry is not committed yet.
        self._unledgered: list[dict[str, Any]] = []
        self._entries: set[asyncio.Future[int]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.dropped = 0
        self.written = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-recorder")

    async def close(self) -> None:
        # Stop the loop between flushes (never cancel one midway: a store
        # write cut off in its thread could be written and re-queued).
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._entries:
            await asyncio.gather(*self._entries, return_exceptions=True)
        try:
            await self.flush()
        except Exception:  # the store or the ledger is gone: say what is lost
            log.exception("usage: %d records could not be written at shutdown", len(self._queue))

    def record(
        self,
        *,
        endpoint: str,
        licence_id: str | None,
        result: str,
        latency: float,
        request_id: str,
        partner_id: str | None = None,
        client: str | None = None,
        full_disclosure: bool = False,
    ) -> dict[str, str]:
        """Queue a record; its receipt ``{"id", "at"}`` for the response."""
        now = time.time()
        row = UsageRow(
            record_id=secrets.token_hex(12),
            at=int(now * 1000),
            partner_id=partner_id,
            endpoint=endpoint,
            target=None if licence_id is None else self._target_of(licence_id),
            result=result,
            latency_us=max(0, int(latency * 1_000_000)),
            request_id=request_id,
            client=None if client is None else client[:64],
            full_disclosure=full_disclosure,
            batch_root=b"",
        )
        if len(self._queue) >= MAX_QUEUE:
            self.dropped += 1
            log.error("usage queue full: record dropped")
        else:
            self._queue.append(row)
            if len(self._queue) >= self._batch_size:
                self._wake.set()
        return {"id": row.record_id, "at": iso_ms(datetime.fromtimestamp(now, UTC))}

    def __len__(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # keep recording; the rows are re-queued
                log.exception("usage batch failed; will retry")

    async def flush(self) -> int:
        """Write everything queued now: rows, then the ledger entry."""
        written = 0
        while self._unledgered:
            entry = self._unledgered.pop(0)
            await self._commit_entry(entry)
        while self._queue:
            batch, self._queue = self._queue[: self._batch_size], self._queue[self._batch_size :]
            root = merkle.root([record_leaf(row) for row in batch])
            rows = [replace(row, batch_root=root, batch_pos=i) for i, row in enumerate(batch)]
            try:
                await asyncio.to_thread(self._store.usage_append, rows)
            except Exception:
                self._queue[:0] = batch  # not stored: try again later
                raise
            written += len(rows)
            self.written += len(rows)
            # The rows are stored: from here only the ledger entry is retried.
            await self._commit_entry(
                {
                    "kind": "usage.batch",
                    "root": root.hex(),
                    "count": len(rows),
                    "first": rows[0].record_id,
                    "last": rows[-1].record_id,
                }
            )
        return written

    async def _commit_entry(self, entry: dict[str, Any]) -> None:
        try:
            future = self._ledger.append_nowait(entry)
        except Exception:
            self._unledgered.append(entry)
            raise
        self._entries.add(future)
        future.add_done_callback(self._entries.discard)
        try:
            # Shielded: a cancelled flush does not withdraw a queued entry
            # (close() waits for it), so no entry is appended twice.
            await asyncio.shield(future)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._unledgered.append(entry)
            log.warning("usage batch stored; its ledger entry will be retried")
            raise
