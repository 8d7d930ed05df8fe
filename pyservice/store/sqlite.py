"""SQLite implementation of :class:`~pyservice.store.Store` (stdlib ``sqlite3``).

- One file, WAL journal, ``synchronous=NORMAL`` (a committed transaction
  survives a process crash; an OS crash may lose the last transactions but
  never corrupts or half-applies one).
- One connection per thread (``threading.local``); the ledger writes from
  one dedicated thread. Writes take the database write lock up front with
  ``BEGIN IMMEDIATE`` (the PostgreSQL store will use a row lock).
- Migrations are numbered; ``schema_migrations`` records those applied.
  The DDL below is SQLite's dialect; the queries are portable SQL.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from pyservice.store.base import LeafRow, LedgerConflictError, StoredSth, StoreError

__all__ = ["MIGRATIONS", "SqliteStore"]

#: Migration number → DDL statements. Append only; never edit a released one.
MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        # The ledger (RFC 9162 log): leaves, complete subtrees of level >= 1
        # (level 0 is ledger_leaves.leaf_hash), one STH per committed batch.
        # Lookup by leaf hash: leaf_key = the first 8 bytes of leaf_hash as a
        # signed 64-bit integer (a third of the index size of the hash), and
        # the index leads with leaf_epoch = idx >> LEAF_EPOCH_BITS, so an
        # append's random index writes stay inside the current epoch's small,
        # cached part of the index instead of touching pages all over it.
        """CREATE TABLE ledger_leaves (
            idx INTEGER PRIMARY KEY,
            leaf_epoch BIGINT NOT NULL,
            leaf_key BIGINT NOT NULL,
            leaf_hash BLOB NOT NULL,
            kind TEXT NOT NULL,
            at BIGINT NOT NULL,
            entry BLOB NOT NULL)""",
        "CREATE INDEX ledger_leaves_by_key ON ledger_leaves (leaf_epoch, leaf_key)",
        """CREATE TABLE ledger_subtrees (
            level INTEGER NOT NULL,
            k BIGINT NOT NULL,
            hash BLOB NOT NULL,
            PRIMARY KEY (level, k)) WITHOUT ROWID""",
        """CREATE TABLE ledger_sths (
            tree_size BIGINT PRIMARY KEY,
            root BLOB NOT NULL,
            timestamp BIGINT NOT NULL,
            kid TEXT NOT NULL,
            signature BLOB NOT NULL)""",
    ),
    # Epochs of 2^20 leaves instead of 2^18: a lookup by leaf hash probes
    # every epoch, and at 2^24 leaves 64 probes cost ~1.1 ms; 16 probes stay
    # well under the 1 ms target while the current epoch's part of the index
    # (~30 MB at most) still fits the page cache, so appends stay flat.
    2: ("UPDATE ledger_leaves SET leaf_epoch = idx >> 20",),
}


#: Leaves per lookup-index epoch (2^20 = 1,048,576): see migrations 1 and 2.
LEAF_EPOCH_BITS: Final = 20


def _leaf_key(leaf_hash: bytes) -> int:
    return int.from_bytes(leaf_hash[:8], "big", signed=True)


def _sth(row: tuple[int, bytes, int, str, bytes]) -> StoredSth:
    return StoredSth(
        tree_size=row[0], root=bytes(row[1]), timestamp=row[2], kid=row[3], signature=bytes(row[4])
    )


class SqliteStore:
    """The registry store in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    @classmethod
    def open(cls, path: Path) -> SqliteStore:
        """Open (creating if needed) and migrate."""
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path)
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    # ---- connections -----------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise StoreError("store is closed")
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._connections.append(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint less often (64 MiB of WAL): pages dirtied by several
        # batches are written back once; the WAL file is truncated after.
        conn.execute("PRAGMA wal_autocheckpoint=16384")
        conn.execute("PRAGMA journal_size_limit=67108864")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA foreign_keys=ON")
        self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    # ---- migrations ------------------------------------------------------

    def migrate(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version in sorted(MIGRATIONS):
                if version in done:
                    continue
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, int(time.time() * 1000)),
                )
            unknown = done - MIGRATIONS.keys()
            if unknown:
                raise StoreError(f"database has newer migrations {sorted(unknown)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        row = self._conn().execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # ---- ledger ----------------------------------------------------------

    def ledger_head(self) -> StoredSth | None:
        row = (
            self._conn()
            .execute(
                "SELECT tree_size, root, timestamp, kid, signature FROM ledger_sths "
                "ORDER BY tree_size DESC LIMIT 1"
            )
            .fetchone()
        )
        return None if row is None else _sth(row)

    def ledger_sth(self, tree_size: int) -> StoredSth | None:
        row = (
            self._conn()
            .execute(
                "SELECT tree_size, root, timestamp, kid, signature FROM ledger_sths "
                "WHERE tree_size = ?",
                (tree_size,),
            )
            .fetchone()
        )
        return None if row is None else _sth(row)

    def ledger_sths(self, after: int, limit: int) -> list[StoredSth]:
        rows = self._conn().execute(
            "SELECT tree_size, root, timestamp, kid, signature FROM ledger_sths "
            "WHERE tree_size > ? ORDER BY tree_size LIMIT ?",
            (after, limit),
        )
        return [_sth(row) for row in rows]

    def ledger_append(
        self,
        expected_size: int,
        leaves: Sequence[LeafRow],
        subtrees: Sequence[tuple[int, int, bytes]],
        sth: StoredSth,
    ) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if sth.tree_size != expected_size + len(leaves):
                raise StoreError("the STH's tree size does not match the batch")
            row = conn.execute(
                "SELECT tree_size FROM ledger_sths ORDER BY tree_size DESC LIMIT 1"
            ).fetchone()
            current = 0 if row is None else int(row[0])
            if current != expected_size or (row is not None and sth.tree_size <= current):
                raise LedgerConflictError(
                    f"ledger is at size {current}, the batch expected {expected_size}"
                )
            conn.executemany(
                "INSERT INTO ledger_leaves (idx, leaf_epoch, leaf_key, leaf_hash, kind, at, entry) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        leaf.index,
                        leaf.index >> LEAF_EPOCH_BITS,
                        _leaf_key(leaf.leaf_hash),
                        leaf.leaf_hash,
                        leaf.kind,
                        leaf.at,
                        leaf.entry,
                    )
                    for leaf in leaves
                ],
            )
            conn.executemany(
                "INSERT INTO ledger_subtrees (level, k, hash) VALUES (?, ?, ?)",
                [row for row in subtrees if row[0] > 0],
            )
            conn.execute(
                "INSERT INTO ledger_sths (tree_size, root, timestamp, kid, signature) "
                "VALUES (?, ?, ?, ?, ?)",
                (sth.tree_size, sth.root, sth.timestamp, sth.kid, sth.signature),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def ledger_subtree_hashes(self, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        conn = self._conn()
        hashes: list[bytes] = []
        for level, k in nodes:
            if level == 0:
                row = conn.execute(
                    "SELECT leaf_hash FROM ledger_leaves WHERE idx = ?", (k,)
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT hash FROM ledger_subtrees WHERE level = ? AND k = ?", (level, k)
                ).fetchone()
            if row is None:
                raise StoreError(f"ledger subtree ({level}, {k}) is missing from the store")
            hashes.append(bytes(row[0]))
        return hashes

    def ledger_subtree_range(
        self, level: int, k_first: int, k_last: int
    ) -> list[tuple[int, bytes]]:
        rows = self._conn().execute(
            "SELECT k, hash FROM ledger_subtrees WHERE level = ? AND k >= ? AND k <= ? ORDER BY k",
            (level, k_first, k_last),
        )
        return [(int(k), bytes(h)) for k, h in rows]

    def ledger_leaf_index(self, leaf_hash: bytes) -> int | None:
        conn = self._conn()
        row = conn.execute("SELECT MAX(idx) FROM ledger_leaves").fetchone()
        if row is None or row[0] is None:
            return None
        epochs = range((int(row[0]) >> LEAF_EPOCH_BITS) + 1)
        placeholders = ", ".join("?" * len(epochs))
        row = conn.execute(
            "SELECT MIN(idx) FROM ledger_leaves "  # noqa: S608 - placeholders only
            f"WHERE leaf_epoch IN ({placeholders}) AND leaf_key = ? AND leaf_hash = ?",
            (*epochs, _leaf_key(leaf_hash), leaf_hash),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def ledger_leaves(self, start: int, end: int) -> list[LeafRow]:
        rows = self._conn().execute(
            "SELECT idx, leaf_hash, entry, kind, at FROM ledger_leaves "
            "WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, end),
        )
        return [
            LeafRow(index=int(i), leaf_hash=bytes(h), entry=bytes(e), kind=k, at=int(a))
            for i, h, e, k, a in rows
        ]
