"""The store interface and its row types (see :mod:`pyservice.store`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pyservice.errors import SidianError

__all__ = [
    "LeafRow",
    "LedgerConflictError",
    "Store",
    "StoreError",
    "StoredSth",
]


class StoreError(SidianError):
    """The store failed or holds data it should not (a missing subtree)."""

    code = "store_error"
    http_status = 503


class LedgerConflictError(StoreError):
    """Another writer appended first: the expected tree size is stale."""


@dataclass(frozen=True, slots=True)
class LeafRow:
    """One ledger entry: its index, leaf hash, canonical bytes, kind, time."""

    index: int
    leaf_hash: bytes
    entry: bytes
    kind: str
    at: int


@dataclass(frozen=True, slots=True)
class StoredSth:
    """A signed tree head as stored (signature: DER bytes)."""

    tree_size: int
    root: bytes
    timestamp: int
    kid: str
    signature: bytes


class Store(Protocol):
    """What the service needs from the registry store."""

    def close(self) -> None: ...

    def schema_version(self) -> int:
        """The number of the last applied migration."""
        ...

    # ---- ledger ----------------------------------------------------------

    def ledger_head(self) -> StoredSth | None:
        """The latest signed tree head (the committed tree size), or None."""
        ...

    def ledger_sth(self, tree_size: int) -> StoredSth | None: ...

    def ledger_sths(self, after: int, limit: int) -> list[StoredSth]:
        """STHs with ``tree_size > after``, ascending, at most ``limit``."""
        ...

    def ledger_append(
        self,
        expected_size: int,
        leaves: Sequence[LeafRow],
        subtrees: Sequence[tuple[int, int, bytes]],
        sth: StoredSth,
    ) -> None:
        """Atomically insert ``leaves``, the complete-subtree rows of level
        >= 1 and the STH, in one transaction that holds the single writer
        lock; raise :class:`LedgerConflictError` (changing nothing) unless
        the committed size is ``expected_size``."""
        ...

    def ledger_subtree_hashes(self, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        """Hashes of complete subtrees ``(level, k)``; level 0 is the leaf hash."""
        ...

    def ledger_subtree_range(
        self, level: int, k_first: int, k_last: int
    ) -> list[tuple[int, bytes]]:
        """Stored ``(k, hash)`` of ``level >= 1`` with ``k_first <= k <= k_last``."""
        ...

    def ledger_leaf_index(self, leaf_hash: bytes) -> int | None:
        """The smallest index whose leaf hash is ``leaf_hash``."""
        ...

    def ledger_leaves(self, start: int, end: int) -> list[LeafRow]:
        """Stored leaves with ``start <= index < end``, ascending."""
        ...
