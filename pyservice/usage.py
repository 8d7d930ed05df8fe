"""Usage (audit) records of every API call (security.md §Audit and evidence).

A call queues its record (:meth:`UsageRecorder.record` for a verification,
which returns the receipt at once; :meth:`UsageRecorder.record_call` for any
other call, from :func:`pyservice.middlewares.audit_call`) — O(1), no I/O.
A background task writes queued records in batches (every ``interval``
seconds, ``SIDIAN_USAGE_FLUSH_INTERVAL``, or ``batch_size`` records): each
batch's rows go into the append-only ``usage_records`` table **in the same
transaction** as one ``usage.batch`` ledger entry carrying the batch's Merkle
root (leaves: the canonical JSON of each record, :func:`record_leaf`), its
count and first and last record ids. A batch is thus stored with its ledger entry or not at all,
and a record altered, deleted, added or moved later no longer matches the
ledger (``sidian audit verify``, :mod:`pyservice.audit`).

Crash loss window: records still queued in memory are lost if the process
is killed without a chance to flush (``kill -9``, power loss) — at most
the last ``interval`` seconds of calls plus one batch being written (which
is committed whole or not at all). A graceful stop (SIGTERM, SIGINT) flushes
every queued record before the ledger closes. More than :data:`MAX_QUEUE`
queued records (the store not keeping up) are dropped and counted.

The licence (or seal) is named by a keyed hash (:meth:`KeyRing.usage_target`,
computed when the batch is written), never stored by its id; tokens and
holder data never reach a record.

A partner may declare the purpose of a call (``X-Sidian-Purpose``); it is
stored with the record and is part of its leaf (only when declared, so
records without one keep their original leaf). :func:`holder_usage` is a
holder's view of one licence's records (security.md §Audit: who verified
it, when, and for what purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from pyservice import merkle
from pyservice.errors import MalformedInputError
from pyservice.ledger.entries import make_entry
from pyservice.ledger.service import Ledger
from pyservice.partners.registry import HOLDER_ID_PREFIX
from pyservice.store import ApplicationRow, RegistryWrites, Store, UsageRow
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
    "iso_of_ms",
    "parse_cursor",
    "purpose_in_force",
    "record_fields",
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


def iso_of_ms(at: int) -> str:
    """Unix milliseconds as ``2026-11-27T10:00:00.123Z``."""
    return iso_ms(datetime.fromtimestamp(at // 1000, UTC).replace(microsecond=at % 1000 * 1000))


def record_fields(row: UsageRow) -> dict[str, Any]:
    """The fields of a record its Merkle leaf covers (``target`` in hex)."""
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
    return fields


def record_leaf(row: UsageRow) -> bytes:
    """The Merkle leaf of a record: SM3(0x00 ‖ canonical JSON of its fields)."""
    return _leaf((*row[:10], row.purpose), row.target)


def _leaf(record: tuple[Any, ...], target: bytes | None) -> bytes:
    """``record``: a queued record (:data:`_Queued`) or the same fields of
    a row; ``target`` the keyed hash."""
    # The fields of record_fields, keys written in code-point order, so
    # orjson's output (no sorting needed) is the RFC 8785 form: keys are
    # ASCII, values strings without lone surrogates (purpose is checked
    # printable text), integers, booleans and null. A property test holds
    # it to pyservice.canonical. About ten times cheaper than the C json
    # encoder: this runs for every call a worker serves.
    (record_id, at, partner_id, endpoint, _, result, latency_us, request_id, client,
     full_disclosure, purpose) = record  # fmt: skip
    fields: dict[str, Any] = {
        "at": at,
        "client": client,
        "endpoint": endpoint,
        "full": full_disclosure,
        "id": record_id,
        "latency_us": latency_us,
        "partner": partner_id,
    }
    if purpose is not None:  # records without one keep their original leaf
        fields["purpose"] = purpose
    fields["request_id"] = request_id
    fields["result"] = result
    fields["target"] = None if target is None else target.hex()
    return merkle.leaf_hash(orjson.dumps(fields))


#: A queued record: the :class:`UsageRow` fields up to ``full_disclosure``,
#: with the target still as the id it names (hashed when the batch is
#: written), and the declared purpose.
_Queued = tuple[str, int, str | None, str, str | None, str, int, str, str | None, bool, str | None]

#: The low 48 bits of a record id: a per-process sequence from a random start.
_SEQ_MASK: Final = (1 << 48) - 1


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
        self._queue: list[_Queued] = []
        self._seq = secrets.randbits(48)
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
        """Queue a verification's record; its receipt ``{"id", "at"}`` for
        the response."""
        record_id, at = self.record_call(
            endpoint=endpoint, target_id=licence_id, result=result, latency=latency,
            request_id=request_id, partner_id=partner_id, client=client,
            full_disclosure=full_disclosure,
            purpose=purpose,
        )  # fmt: skip
        return {"id": record_id, "at": iso_of_ms(at)}

    def record_call(
        self,
        *,
        endpoint: str,
        target_id: str | None,
        result: str,
        latency: float,
        request_id: str,
        partner_id: str | None,
        client: str | None,
        full_disclosure: bool = False,
        purpose: str | None = None,
    ) -> tuple[str, int]:
        """Queue the record of a call (the audit middleware's, without a
        receipt): ``target_id`` the licence id or seal esID the call names.
        Its id and time (unix ms)."""
        # O(1) and no I/O (the event loop's share of the hot path): a tuple
        # is queued; the row, the keyed hash of the target and the leaf
        # hashes are made on the writer thread (:meth:`_commit`).
        at = int(time.time() * 1000)
        record_id = self._next_id(at)
        if len(self._queue) >= MAX_QUEUE:
            self.dropped += 1
            if self.dropped & (self.dropped - 1) == 0:  # 1, 2, 4, 8...: no log flood
                log.error("usage queue full: %d records dropped so far", self.dropped)
        else:
            self._queue.append(
                (
                    record_id, at, partner_id, endpoint, target_id, result,
                    max(0, int(latency * 1_000_000)), request_id,
                    None if client is None else client[:64], full_disclosure, purpose,
                )
            )  # fmt: skip
            if len(self._queue) >= self._batch_size:
                self._wake.set()
        return record_id, at

    def _next_id(self, at: int) -> str:
        """24 hex digits: the record's time (unix ms, 48 bits), then this
        process's sequence (48 bits, from a random start). Ids in time
        order make the primary-key index grow at its end: with random ids
        every insert dirtied a page somewhere in it, ~12 µs a record at
        600k records (benchmarks/RESULTS.md). Unique within a process by
        construction; two processes collide only if their sequences meet
        in the same millisecond."""
        self._seq = seq = (self._seq + 1) & _SEQ_MASK
        return f"{at & _SEQ_MASK:012x}{seq:012x}"

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
        """Write everything queued now, batch by batch: each batch's rows
        and its ``usage.batch`` ledger entry in one transaction."""
        written = 0
        while self._queue:
            batch, self._queue = self._queue[: self._batch_size], self._queue[self._batch_size :]
            try:
                # Hashing and the commit run on the ledger's writer thread,
                # off the event loop.
                await self._ledger.run_in_writer(self._commit, batch)
            except Exception:
                self._queue[:0] = batch  # not committed: try again later
                raise
            written += len(batch)
            self.written += len(batch)
        return written

    def _commit(self, batch: list[_Queued]) -> None:
        # The writer thread holds the GIL for all the Python here, and the
        # event loop waits for it meanwhile (up to the switch interval at a
        # time): keep it short. Targets and leaves first, then the rows
        # with their root, each made once.
        target_of = self._target_of
        targets = [None if q[4] is None else target_of(q[4]) for q in batch]
        root = merkle.root([_leaf(q, t) for q, t in zip(batch, targets, strict=True)])
        rows = [
            UsageRow(q[0], q[1], q[2], q[3], t, q[5], q[6], q[7], q[8], q[9], root, i, q[10])
            for i, (q, t) in enumerate(zip(batch, targets, strict=True))
        ]
        entry = make_entry(
            {
                "kind": "usage.batch",
                "root": root.hex(),
                "count": len(rows),
                "first": rows[0].record_id,
                "last": rows[-1].record_id,
            }
        )
        self._ledger.commit([entry], RegistryWrites(usage=rows))


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
    of the next page (``None``: no more). Calls made with holder
    credentials are left out: the holder's own (fresh QR tokens, reading
    this list) would bury who else looked, and another holder's are refused
    (403) and listed for admins by ``GET /v1/audit``. Store I/O: run it off
    the loop."""
    if not 1 <= limit <= MAX_USAGE_PAGE:
        raise ValueError("limit out of range")
    rows = store.usage_query(
        target=target, before=cursor, limit=limit + 1, exclude_partner_prefix=HOLDER_ID_PREFIX
    )
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
