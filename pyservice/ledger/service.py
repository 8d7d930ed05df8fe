"""The ledger service: a batching sequencer and the proof reads.

Appends: ``await ledger.append({"kind": ..., ...})`` validates and
canonicalises the entry at once, queues it, and returns its index after the
batch that holds it commits. Group commit: a background task sleeps until
an entry is queued, lets more gather for at most ``batch_interval`` seconds
(less once ``batch_size`` wait), then commits them all; entries queued
while a batch commits go together in the next one, so under load batches
grow by themselves and an entry on a quiet ledger waits only about
``batch_interval`` (a status change answers in milliseconds, not after a
fixed half-second tick). One flush = one store transaction (leaves +
complete subtrees + signed tree head), run on a dedicated writer thread so
the event loop never blocks.

The in-memory frontier (the hashes of ``root_plan(size)``) is loaded from the
store on start; if another process appended meanwhile, the store refuses
the batch (:class:`~pyservice.store.LedgerConflictError`), the frontier is
reloaded and the batch retried, so indices never repeat or skip.

Reads (:func:`inclusion_proof`, :func:`consistency_proof`, …) are plain
functions over a :class:`~pyservice.store.Store`, shared with the CLI;
:class:`Ledger` runs them on reader threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from pyservice import merkle
from pyservice.crypto import PrivateKey, sm3
from pyservice.errors import (
    MalformedInputError,
    TreeSizeBeyondCurrentError,
    UnknownLeafError,
    UnknownTreeHeadError,
)
from pyservice.ledger.entries import Entry, make_entry
from pyservice.ledger.sth import sign_sth, sth_to_json
from pyservice.store import (
    LeafRow,
    LedgerConflictError,
    RegistryWrites,
    Store,
    StoredSth,
    StoreError,
)

__all__ = [
    "MAX_ENTRIES_PAGE",
    "ConsistencyProof",
    "InclusionProof",
    "Ledger",
    "StoreSubtrees",
    "consistency_proof",
    "entries_page",
    "head",
    "inclusion_proof",
]

log = logging.getLogger(__name__)

#: Most entries one ``entries`` read returns.
MAX_ENTRIES_PAGE = 1000
_CONFLICT_RETRIES = 20  # two workers committing every few ms: a reload and retry is cheap

_T = TypeVar("_T")
Node = tuple[int, int]


def _now_ms() -> int:
    return int(time.time() * 1000)


class StoreSubtrees:
    """A :class:`~pyservice.merkle.SubtreeStore` over the ledger tables."""

    __slots__ = ("store",)

    def __init__(self, store: Store) -> None:
        self.store = store

    def subtree_hashes(self, nodes: Sequence[Node], /) -> Sequence[bytes]:
        return self.store.ledger_subtree_hashes(nodes)


# ---------------------------------------------------------------- reads --


@dataclass(frozen=True, slots=True)
class InclusionProof:
    index: int
    leaf_hash: bytes
    proof: list[bytes]
    sth: StoredSth

    def to_json(self) -> dict[str, Any]:
        """The public JSON form (HTTP answer and CLI output alike)."""
        return {
            "leaf_hash": self.leaf_hash.hex(),
            "index": self.index,
            "tree_size": self.sth.tree_size,
            "proof": [h.hex() for h in self.proof],
            "sth": sth_to_json(self.sth),
        }


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first: int
    second: int
    proof: list[bytes]
    first_sth: StoredSth | None
    second_sth: StoredSth | None

    def to_json(self) -> dict[str, Any]:
        """The public JSON form (HTTP answer and CLI output alike)."""
        return {
            "first": self.first,
            "second": self.second,
            "proof": [h.hex() for h in self.proof],
            "first_sth": None if self.first_sth is None else sth_to_json(self.first_sth),
            "second_sth": None if self.second_sth is None else sth_to_json(self.second_sth),
        }


def head(store: Store) -> StoredSth:
    sth = store.ledger_head()
    if sth is None:
        raise UnknownTreeHeadError("the ledger has no signed tree head yet")
    return sth


def _sth_at(store: Store, tree_size: int) -> StoredSth:
    current = head(store)
    if tree_size > current.tree_size:
        raise TreeSizeBeyondCurrentError(
            f"tree size {tree_size} is beyond the current size {current.tree_size}"
        )
    if tree_size == current.tree_size:
        return current
    sth = store.ledger_sth(tree_size)
    if sth is None:
        raise UnknownTreeHeadError(f"no signed tree head for tree size {tree_size}")
    return sth


def inclusion_proof(store: Store, leaf_hash: bytes, tree_size: int | None = None) -> InclusionProof:
    """The inclusion proof of ``leaf_hash`` in the tree of a published STH
    (the latest by default), with that STH."""
    if len(leaf_hash) != 32:
        raise MalformedInputError("leaf hash must be 32 bytes")
    sth = head(store) if tree_size is None else _sth_at(store, tree_size)
    index = store.ledger_leaf_index(leaf_hash)
    if index is None:
        raise UnknownLeafError("no ledger entry has this leaf hash")
    if index >= sth.tree_size:
        raise UnknownLeafError(f"the entry is not in the tree of size {sth.tree_size}")
    proof = merkle.inclusion_proof_from_store(StoreSubtrees(store), index, sth.tree_size)
    return InclusionProof(index=index, leaf_hash=leaf_hash, proof=proof, sth=sth)


def consistency_proof(store: Store, first: int, second: int) -> ConsistencyProof:
    """The RFC 9162 consistency proof between sizes ``0 < first <= second``."""
    if not 0 < first <= second:
        raise MalformedInputError("need 0 < first <= second")
    current = head(store)
    if second > current.tree_size:
        raise TreeSizeBeyondCurrentError(
            f"tree size {second} is beyond the current size {current.tree_size}"
        )
    proof = merkle.consistency_proof_from_store(StoreSubtrees(store), first, second)
    return ConsistencyProof(
        first=first,
        second=second,
        proof=proof,
        first_sth=store.ledger_sth(first),
        second_sth=store.ledger_sth(second),
    )


def entries_page(store: Store, start: int, end: int) -> list[LeafRow]:
    """Committed entries ``start <= index < end`` (at most ``MAX_ENTRIES_PAGE``)."""
    if not 0 <= start < end:
        raise MalformedInputError("need 0 <= start < end")
    if end - start > MAX_ENTRIES_PAGE:
        raise MalformedInputError(f"at most {MAX_ENTRIES_PAGE} entries per page")
    current = head(store)
    if end > current.tree_size:
        raise TreeSizeBeyondCurrentError(
            f"end {end} is beyond the current size {current.tree_size}"
        )
    return store.ledger_leaves(start, end)


# ------------------------------------------------------------ sequencer --


#: How long the first queued entry waits for others before its batch commits.
DEFAULT_BATCH_INTERVAL: Final = 0.01


class Ledger:
    """The single sequencer of the log (per process; the store serialises
    processes) and the async face of the reads."""

    def __init__(
        self,
        store: Store,
        key: PrivateKey,
        *,
        batch_interval: float = DEFAULT_BATCH_INTERVAL,
        batch_size: int = 5000,
    ) -> None:
        if batch_interval <= 0 or batch_size <= 0:
            raise ValueError("batch_interval and batch_size must be positive")
        self.store = store
        self.batch_interval = batch_interval
        self.batch_size = batch_size
        self._key = key
        self.kid = key.public_key().kid()
        self.public_key = key.public_key()
        # Writer state: touched only on the writer thread (or before start).
        self._size = 0
        self._frontier: dict[Node, bytes] = {}
        self._head: StoredSth | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ledger-writer")
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="ledger-reader")
        self._pending: list[tuple[Entry, asyncio.Future[int]]] = []
        self._wake: asyncio.Event | None = None
        self._full: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._flush_lock: asyncio.Lock | None = None
        self._closing = False

    # ---- synchronous core (writer thread) --------------------------------

    def load(self) -> None:
        """(Re)load size and frontier from the store; sign the empty tree's
        head if the log has none."""
        sth = self.store.ledger_head()
        if sth is None:
            empty = sign_sth(self._key, self.kid, 0, sm3(b""), _now_ms())
            with contextlib.suppress(LedgerConflictError):
                self.store.ledger_append(0, [], [], empty)
            sth = self.store.ledger_head()
            if sth is None:  # pragma: no cover - the append above committed
                raise StoreError("ledger has no head after initialising")
        plan = merkle.root_plan(sth.tree_size)
        self._frontier = dict(zip(plan, self.store.ledger_subtree_hashes(plan), strict=True))
        self._size = sth.tree_size
        self._head = sth

    def commit(self, entries: Sequence[Entry], registry: RegistryWrites | None = None) -> list[int]:
        """Append ``entries`` in one transaction with a new STH; their indices.
        ``registry`` rows (offsets into ``entries``) commit in the same
        transaction: a licence and its ledger entry exist together or not at all."""
        if not entries:
            return []
        leaf_hashes = [merkle.leaf_hash(entry.data) for entry in entries]
        for _ in range(_CONFLICT_RETRIES):
            if self._head is None:
                self.load()
            if self._head is None:  # pragma: no cover - load() sets it
                raise StoreError("ledger state not loaded")
            size = self._size
            old_plan = merkle.root_plan(size)
            rows = merkle.append_subtrees(
                size, [self._frontier[node] for node in old_plan], leaf_hashes
            )
            new_size = size + len(entries)
            new_plan = merkle.root_plan(new_size)
            wanted = set(new_plan)
            known = {node: h for node, h in self._frontier.items() if node in wanted}
            known.update(((lv, k), h) for lv, k, h in rows if (lv, k) in wanted)
            frontier = {node: known[node] for node in new_plan}
            root = merkle.root_from(new_size, [frontier[node] for node in new_plan])
            timestamp = max(_now_ms(), self._head.timestamp)
            sth = sign_sth(self._key, self.kid, new_size, root, timestamp)
            leaves = [
                LeafRow(size + i, h, e.data, e.kind, e.at)
                for i, (e, h) in enumerate(zip(entries, leaf_hashes, strict=True))
            ]
            try:
                self.store.ledger_append(size, leaves, rows, sth, registry)
            except LedgerConflictError:
                log.info("ledger: another writer appended; reloading the frontier")
                self.load()
                continue
            except BaseException:
                self._head = None  # unknown outcome: reload before the next batch
                raise
            self._size, self._frontier, self._head = new_size, frontier, sth
            return list(range(size, new_size))
        raise StoreError("ledger append kept conflicting with another writer")

    # ---- async lifecycle ---------------------------------------------------

    async def start(self) -> None:
        await self._in_writer(self.load)
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name="ledger-batcher")

    async def close(self) -> None:
        """Flush what is queued, stop the batcher, release the threads."""
        self._closing = True
        if self._task is not None and self._wake is not None and self._full is not None:
            self._wake.set()
            self._full.set()  # cut a gathering pause short
            await self._task
            await self.flush()
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)

    async def _run(self) -> None:
        wake, full = self._wake, self._full
        if wake is None or full is None:  # pragma: no cover - start() sets them
            return
        while not self._closing:
            await wake.wait()  # an entry is queued (or the ledger closes)
            if len(self._pending) < self.batch_size and not self._closing:
                # Let the entries of concurrent requests gather.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(full.wait(), self.batch_interval)
            wake.clear()
            full.clear()
            await self.flush()

    async def flush(self) -> None:
        """Commit everything queued now (in batches of ``batch_size``)."""
        if self._flush_lock is None:
            return
        async with self._flush_lock:
            while self._pending:
                batch = self._pending[: self.batch_size]
                del self._pending[: self.batch_size]
                try:
                    indices = await self._in_writer(self.commit, [entry for entry, _ in batch])
                except Exception as exc:
                    log.exception("ledger: batch of %d entries failed", len(batch))
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), index in zip(batch, indices, strict=True):
                    if not future.done():
                        future.set_result(index)

    # ---- appends -----------------------------------------------------------

    def append_nowait(self, fields: Mapping[str, Any]) -> asyncio.Future[int]:
        """Queue an entry; the future resolves to its index after commit."""
        if self._closing or self._wake is None:
            raise StoreError("the ledger is not running")
        entry = make_entry(fields)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        self._wake.set()
        if len(self._pending) >= self.batch_size and self._full is not None:
            self._full.set()
        return future

    async def append(self, fields: Mapping[str, Any]) -> int:
        """Queue an entry and wait for its batch to commit; its index."""
        return await self.append_nowait(fields)

    # ---- reads ---------------------------------------------------------------

    async def head(self) -> StoredSth:
        return await self._in_reader(head, self.store)

    async def inclusion_proof(self, leaf_hash: bytes, tree_size: int | None) -> InclusionProof:
        return await self._in_reader(inclusion_proof, self.store, leaf_hash, tree_size)

    async def consistency_proof(self, first: int, second: int) -> ConsistencyProof:
        return await self._in_reader(consistency_proof, self.store, first, second)

    async def entries(self, start: int, end: int) -> list[LeafRow]:
        return await self._in_reader(entries_page, self.store, start, end)

    async def run_in_writer(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn`` on the writer thread (where :meth:`commit` may be called
        while the batcher runs: both use that one thread)."""
        return await self._in_writer(fn, *args)

    async def _in_writer(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def _in_reader(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, fn, *args)
