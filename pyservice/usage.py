"""Usage (audit) records of verification calls (security.md §Audit).

A call queues its record (:meth:`UsageRecorder.record`, no I/O, returns the
receipt at once); a background task writes queued records in batches
(every ``interval`` seconds or ``batch_size`` records) to the append-only
``usage_records`` table and appends one ``usage.batch`` ledger entry with
the batch's Merkle root (leaves: the canonical JSON of each record), so a
record altered or deleted later no longer matches the ledger. Pending
records are flushed on graceful shutdown.

The licence is named by a keyed hash (:meth:`KeyRing.usage_target`), never
by its id; tokens and holder data never reach a record. A partner may
declare the purpose of a call (``X-Sidian-Purpose``); it is stored with the
record and is part of its leaf.

:func:`holder_usage` is a holder's view of one licence's records (security.md
§Audit: who verified it, when, and for what purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from pyservice import merkle
from pyservice.errors import MalformedInputError
from pyservice.ledger.service import Ledger
from pyservice.registry.service import canonical_validated
from pyservice.store import ApplicationRow, Store, UsageRow
from pyservice.verify.result import iso_ms

__all__ = [
    "MAX_PURPOSE_CHARS",
    "MAX_QUEUE",
    "MAX_USAGE_PAGE",
    "PURPOSE_HEADER",
    "MalformedCursorError",
    "MalformedPurposeError",
    "UsageRecorder",
    "check_purpose",
    "holder_usage",
    "parse_cursor",
    "purpose_in_force",
    "record_leaf",
    "usage_cursor",
    "usage_entry",
]

log = logging.getLogger(__name__)

#: Records kept in memory at most; past this, new ones are dropped and
#: counted (the store is not keeping up).
MAX_QUEUE: Final = 200_000
#: The header a partner declares a call's purpose with (security.md §Audit:
#: a holder sees who verified their licence, when and for what purpose).
PURPOSE_HEADER: Final = "X-Sidian-Purpose"
MAX_PURPOSE_CHARS: Final = 200


class MalformedPurposeError(MalformedInputError):
    code = "malformed_purpose"


def check_purpose(raw: str | None) -> str | None:
    """A declared purpose: ``None`` if absent or blank, else the stripped
    text, at most ``MAX_PURPOSE_CHARS`` printable characters (no control
    characters, no undecodable bytes)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if len(text) > MAX_PURPOSE_CHARS:
        raise MalformedPurposeError(f"{PURPOSE_HEADER} is at most {MAX_PURPOSE_CHARS} characters")
    if not text.isprintable() or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise MalformedPurposeError(f"{PURPOSE_HEADER} must be printable UTF-8 text")
    return text


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
    if row.purpose is not None:  # records without one keep their original leaf
        fields["purpose"] = row.purpose
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
        purpose: str | None = None,
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
            purpose=purpose,
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


# ------------------------------------------------------- a holder's view --

#: Most records one page of a holder's usage list holds.
MAX_USAGE_PAGE: Final = 100
_CURSOR: Final = re.compile(r"(0|[1-9][0-9]{0,14})\.([0-9a-f]{24})")


class MalformedCursorError(MalformedInputError):
    code = "malformed_cursor"


def usage_cursor(row: UsageRow) -> str:
    """The opaque cursor after ``row`` (newest-first paging)."""
    return f"{row.at}.{row.record_id}"


def parse_cursor(text: str | None) -> tuple[int, str] | None:
    if text is None or text == "":
        return None
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise MalformedCursorError("malformed cursor")
    return int(match.group(1)), match.group(2)


def purpose_in_force(applications: Sequence[ApplicationRow], at_ms: int) -> str | None:
    """The purpose of the partner's access application in force at
    ``at_ms``: the last one approved at or before then."""
    best: ApplicationRow | None = None
    for row in applications:
        if row.status != "approved" or row.decided_at is None or row.decided_at > at_ms:
            continue
        if best is None or best.decided_at is None or row.decided_at >= best.decided_at:
            best = row
    return None if best is None else best.purpose


def usage_entry(
    row: UsageRow, partner_name: str | None, applications: Sequence[ApplicationRow]
) -> dict[str, Any]:
    """One record as its holder sees it: who (partner id and name; ``None``
    for the public scan page), when, which endpoint, the result, and the
    purpose declared with the call, else the one of the partner's approved
    access application at the time (``purpose_source`` says which)."""
    purpose, source = row.purpose, "declared"
    if purpose is None and row.partner_id is not None:
        purpose, source = purpose_in_force(applications, row.at), "application"
    return {
        "id": row.record_id,
        "at": iso_ms(datetime.fromtimestamp(row.at / 1000, UTC)),
        "partner": None if row.partner_id is None else {"id": row.partner_id, "name": partner_name},
        "endpoint": row.endpoint,
        "result": row.result,
        "full_disclosure": row.full_disclosure,
        "purpose": purpose,
        "purpose_source": None if purpose is None else source,
    }


def holder_usage(
    store: Store,
    partner_name: Callable[[str], str | None],
    target: bytes,
    cursor: tuple[int, str] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of one licence's usage records, newest first, and the cursor
    of the next page (``None``: no more). Store I/O: run it off the loop."""
    if not 1 <= limit <= MAX_USAGE_PAGE:
        raise ValueError("limit out of range")
    rows = store.usage_by_target(target, cursor, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    names: dict[str, str | None] = {}
    apps: dict[str, list[ApplicationRow]] = {}
    entries = []
    for row in rows:
        pid = row.partner_id
        if pid is not None and pid not in names:
            names[pid] = partner_name(pid)
            apps[pid] = store.applications(status="approved", partner_id=pid)
        entries.append(
            usage_entry(row, None if pid is None else names[pid], apps.get(pid or "", []))
        )
    return entries, usage_cursor(rows[-1]) if more and rows else None
