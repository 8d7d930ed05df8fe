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

import functools
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pyservice.store import sqlite_seals
from pyservice.store.base import (
    AnnotationRow,
    ApplicationDecision,
    ApplicationRow,
    ConsentRow,
    DisclosureRow,
    ImportProgress,
    IssuerRow,
    KeyRow,
    LeafRow,
    LedgerConflictError,
    LicenceRow,
    LicenceTypeRow,
    PartnerRow,
    RegistryWrites,
    StaleStatusError,
    StatusEventRow,
    StoredSth,
    StoreError,
    UniqueViolationError,
    UsageRow,
)
from pyservice.store.seals import SealCertRow, SealEventRow, SealRow, SealVersionRow

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
    3: (
        # The registry: issuers, their keys and the platform's, licence
        # types, licences, status events, annotations (加注), import jobs.
        # next_status_idx hands out each issuer's status-list positions.
        """CREATE TABLE registry_issuers (
            code VARCHAR(18) PRIMARY KEY,
            name TEXT NOT NULL,
            region TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            next_status_idx BIGINT NOT NULL)""",
        """CREATE TABLE registry_keys (
            kid VARCHAR(16) PRIMARY KEY,
            owner VARCHAR(18) NOT NULL,
            purpose VARCHAR(16) NOT NULL,
            public_key BLOB NOT NULL,
            wrap_nonce BLOB NOT NULL,
            wrapped_key BLOB NOT NULL,
            valid_from BIGINT NOT NULL,
            valid_until BIGINT,
            status VARCHAR(16) NOT NULL,
            created_at BIGINT NOT NULL)""",
        "CREATE INDEX registry_keys_by_owner ON registry_keys (owner, purpose, status)",
        """CREATE TABLE registry_licence_types (
            code VARCHAR(21) PRIMARY KEY,
            name TEXT NOT NULL,
            authority TEXT NOT NULL,
            face_schema TEXT NOT NULL,
            sensitive TEXT NOT NULL,
            created_at BIGINT NOT NULL)""",
        """CREATE TABLE registry_licences (
            id VARCHAR(200) PRIMARY KEY,
            ref BLOB NOT NULL,
            issuer_code VARCHAR(18) NOT NULL REFERENCES registry_issuers (code),
            type_code VARCHAR(21) NOT NULL REFERENCES registry_licence_types (code),
            version INTEGER NOT NULL,
            body BLOB NOT NULL,
            signature BLOB NOT NULL,
            kid VARCHAR(16) NOT NULL,
            status VARCHAR(16) NOT NULL,
            status_reason TEXT,
            status_at BIGINT NOT NULL,
            valid_until VARCHAR(10),
            supersedes VARCHAR(200),
            superseded_by VARCHAR(200),
            ledger_index BIGINT NOT NULL,
            status_idx BIGINT NOT NULL,
            issued_at BIGINT NOT NULL,
            holder_key BLOB NOT NULL)""",
        "CREATE UNIQUE INDEX registry_licences_by_ref ON registry_licences (ref)",
        "CREATE INDEX registry_licences_by_holder ON registry_licences (holder_key)",
        "CREATE UNIQUE INDEX registry_licences_by_status_idx "
        "ON registry_licences (issuer_code, status_idx)",
        """CREATE TABLE registry_status_events (
            licence_id VARCHAR(200) NOT NULL,
            ledger_index BIGINT NOT NULL,
            from_status VARCHAR(16) NOT NULL,
            to_status VARCHAR(16) NOT NULL,
            reason TEXT NOT NULL,
            actor TEXT NOT NULL,
            at BIGINT NOT NULL,
            PRIMARY KEY (licence_id, ledger_index))""",
        # Followers (the service's status cache) read changes made by any
        # process in ledger order: status_events_after(cursor).
        "CREATE INDEX registry_status_events_by_index ON registry_status_events (ledger_index)",
        """CREATE TABLE registry_annotations (
            licence_id VARCHAR(200) NOT NULL,
            seq INTEGER NOT NULL,
            body BLOB NOT NULL,
            signature BLOB NOT NULL,
            kid VARCHAR(16) NOT NULL,
            at BIGINT NOT NULL,
            ledger_index BIGINT NOT NULL,
            PRIMARY KEY (licence_id, seq))""",
        """CREATE TABLE registry_import_jobs (
            job_id VARCHAR(64) PRIMARY KEY,
            source TEXT NOT NULL,
            rows_done BIGINT NOT NULL,
            imported BIGINT NOT NULL,
            rejected BIGINT NOT NULL,
            reject_bytes BIGINT NOT NULL,
            finished INTEGER NOT NULL)""",
    ),
    4: (
        # Partners (security.md §Partners): the HMAC secret only SM4-GCM-
        # wrapped; scopes, licence types and issuers as JSON arrays (types
        # and issuers empty = any).
        """CREATE TABLE partner_accounts (
            id VARCHAR(64) PRIMARY KEY,
            name TEXT NOT NULL,
            contact TEXT NOT NULL,
            status VARCHAR(16) NOT NULL,
            wrap_nonce BLOB NOT NULL,
            wrapped_secret BLOB NOT NULL,
            scopes TEXT NOT NULL,
            licence_types TEXT NOT NULL,
            issuers TEXT NOT NULL,
            rate_per_s DOUBLE PRECISION NOT NULL,
            single_use_tokens INTEGER NOT NULL,
            created_at BIGINT NOT NULL,
            secret_rotated_at BIGINT NOT NULL)""",
        # Access applications (用证申请审核) with their review deadline.
        """CREATE TABLE partner_applications (
            id VARCHAR(64) PRIMARY KEY,
            partner_id VARCHAR(64) NOT NULL,
            purpose TEXT NOT NULL,
            scopes TEXT NOT NULL,
            licence_types TEXT NOT NULL,
            issuers TEXT NOT NULL,
            status VARCHAR(16) NOT NULL,
            submitted_at BIGINT NOT NULL,
            due_at BIGINT NOT NULL,
            decided_at BIGINT,
            decided_by TEXT,
            reason TEXT,
            granted_scopes TEXT NOT NULL,
            granted_types TEXT NOT NULL,
            granted_issuers TEXT NOT NULL)""",
        "CREATE INDEX partner_applications_by_status ON partner_applications (status, due_at)",
        "CREATE INDEX partner_applications_by_partner ON partner_applications (partner_id)",
        # A holder's explicit consent to full disclosure to one partner.
        """CREATE TABLE partner_consents (
            licence_id VARCHAR(200) NOT NULL,
            partner_id VARCHAR(64) NOT NULL,
            granted_at BIGINT NOT NULL,
            expires_at BIGINT,
            PRIMARY KEY (licence_id, partner_id))""",
        # Every disclosure of unmasked classified fields (append-only).
        """CREATE TABLE partner_disclosures (
            seq INTEGER PRIMARY KEY,
            at BIGINT NOT NULL,
            partner_id VARCHAR(64) NOT NULL,
            licence_id VARCHAR(200) NOT NULL,
            fields TEXT NOT NULL,
            basis VARCHAR(16) NOT NULL,
            request_id VARCHAR(64) NOT NULL)""",
        "CREATE INDEX partner_disclosures_by_licence ON partner_disclosures (licence_id, seq)",
        "CREATE INDEX partner_disclosures_by_partner ON partner_disclosures (partner_id, seq)",
    ),
    5: (
        # Usage (audit) records, append-only: who verified what (a keyed
        # hash of the licence id), when, with what result; each batch's
        # Merkle root is on the ledger (usage.batch), so an altered or
        # deleted record is detectable.
        """CREATE TABLE usage_records (
            record_id VARCHAR(32) PRIMARY KEY,
            at BIGINT NOT NULL,
            partner_id VARCHAR(64),
            endpoint VARCHAR(64) NOT NULL,
            target BLOB,
            result VARCHAR(16) NOT NULL,
            latency_us BIGINT NOT NULL,
            request_id VARCHAR(64) NOT NULL,
            client VARCHAR(64),
            full_disclosure INTEGER NOT NULL,
            batch_root BLOB NOT NULL,
            batch_pos INTEGER NOT NULL)""",
        "CREATE INDEX usage_records_by_at ON usage_records (at)",
        "CREATE INDEX usage_records_by_target ON usage_records (target)",
        """CREATE TRIGGER usage_records_no_update BEFORE UPDATE ON usage_records
            BEGIN SELECT RAISE(ABORT, 'usage records are append-only'); END""",
        """CREATE TRIGGER usage_records_no_delete BEFORE DELETE ON usage_records
            BEGIN SELECT RAISE(ABORT, 'usage records are append-only'); END""",
    ),
    # Migration 5 belongs to the usage/audit work.
    6: sqlite_seals.SEAL_MIGRATION,
    7: (
        # Audit queries (GET /v1/audit, a holder's usage list): newest first
        # by time, per partner or per target, with (at, record_id) as the
        # keyset cursor; and the audit of stored batches against the ledger
        # (sidian audit verify) reads a batch by its root. (Every call is
        # recorded now: result may hold an error code longer than the 16
        # characters migration 5 declared — SQLite does not enforce VARCHAR
        # lengths; another database needs result VARCHAR(64).)
        "DROP INDEX usage_records_by_at",
        "DROP INDEX usage_records_by_target",
        "CREATE INDEX usage_records_by_at ON usage_records (at, record_id)",
        "CREATE INDEX usage_records_by_target ON usage_records (target, at, record_id)",
        "CREATE INDEX usage_records_by_partner ON usage_records (partner_id, at, record_id)",
        "CREATE INDEX usage_records_by_batch ON usage_records (batch_root, batch_pos)",
    ),
    8: (
        # Holder credentials: a partner-like account bound to one holder by
        # the keyed hash of the holder's ID (registry_licences.holder_key);
        # NULL for an ordinary partner.
        "ALTER TABLE partner_accounts ADD COLUMN holder_key BLOB",
        # The purpose a partner declared for a call (X-Sidian-Purpose).
        "ALTER TABLE usage_records ADD COLUMN purpose TEXT",
        # (A holder's usage list reads usage_records_by_target of migration 7.)
    ),
}

_LICENCE_COLUMNS: Final = (
    "id, ref, issuer_code, type_code, version, body, signature, kid, status, status_reason, "
    "status_at, valid_until, supersedes, superseded_by, ledger_index, status_idx, issued_at, "
    "holder_key"
)
_PARTNER_COLUMNS: Final = (
    "id, name, contact, status, wrap_nonce, wrapped_secret, scopes, licence_types, issuers, "
    "rate_per_s, single_use_tokens, created_at, secret_rotated_at, holder_key"
)
_APPLICATION_COLUMNS: Final = (
    "id, partner_id, purpose, scopes, licence_types, issuers, status, submitted_at, due_at, "
    "decided_at, decided_by, reason, granted_scopes, granted_types, granted_issuers"
)
_KEY_COLUMNS: Final = (
    "kid, owner, purpose, public_key, wrap_nonce, wrapped_key, valid_from, valid_until, "
    "status, created_at"
)


#: Leaves per lookup-index epoch (2^20 = 1,048,576): see migrations 1 and 2.
LEAF_EPOCH_BITS: Final = 20


def _leaf_key(leaf_hash: bytes) -> int:
    return int.from_bytes(leaf_hash[:8], "big", signed=True)


def _sth(row: tuple[int, bytes, int, str, bytes]) -> StoredSth:
    return StoredSth(
        tree_size=row[0], root=bytes(row[1]), timestamp=row[2], kid=row[3], signature=bytes(row[4])
    )


def _licence(row: tuple[Any, ...]) -> LicenceRow:
    (i, ref, issuer, type_code, version, body, sig, kid, status, reason) = row[:10]
    (status_at, valid_until, supersedes, superseded_by, ledger_index, status_idx) = row[10:16]
    return LicenceRow(
        id=str(i),
        ref=bytes(ref),
        issuer_code=str(issuer),
        type_code=str(type_code),
        version=int(version),
        body=bytes(body),
        signature=bytes(sig),
        kid=str(kid),
        status=str(status),
        status_reason=None if reason is None else str(reason),
        status_at=int(status_at),
        valid_until=None if valid_until is None else str(valid_until),
        supersedes=None if supersedes is None else str(supersedes),
        superseded_by=None if superseded_by is None else str(superseded_by),
        ledger_index=int(ledger_index),
        status_idx=int(status_idx),
        issued_at=int(row[16]),
        holder_key=bytes(row[17]),
    )


def _key(row: tuple[Any, ...]) -> KeyRow:
    kid, owner, purpose, public, nonce, wrapped, valid_from, valid_until, status, created = row
    return KeyRow(
        kid=str(kid),
        owner=str(owner),
        purpose=str(purpose),
        public_key=bytes(public),
        wrap_nonce=bytes(nonce),
        wrapped_key=bytes(wrapped),
        valid_from=int(valid_from),
        valid_until=None if valid_until is None else int(valid_until),
        status=str(status),
        created_at=int(created),
    )


def _list(items: Sequence[str]) -> str:
    return json.dumps(sorted(set(items)), ensure_ascii=False)


def _unlist(text: str) -> tuple[str, ...]:
    items = json.loads(text)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise StoreError("malformed list column")
    return tuple(items)


def _partner(row: tuple[Any, ...]) -> PartnerRow:
    (pid, name, contact, status, nonce, wrapped, scopes, types, issuers) = row[:9]
    return PartnerRow(
        id=str(pid),
        name=str(name),
        contact=str(contact),
        status=str(status),
        wrap_nonce=bytes(nonce),
        wrapped_secret=bytes(wrapped),
        scopes=_unlist(scopes),
        licence_types=_unlist(types),
        issuers=_unlist(issuers),
        rate_per_s=float(row[9]),
        single_use_tokens=bool(row[10]),
        created_at=int(row[11]),
        secret_rotated_at=int(row[12]),
        holder_key=None if row[13] is None else bytes(row[13]),
    )


_USAGE_COLUMNS: Final = (
    "record_id, at, partner_id, endpoint, target, result, latency_us, request_id, client, "
    "full_disclosure, batch_root, batch_pos, purpose"
)


def _application(row: tuple[Any, ...]) -> ApplicationRow:
    (aid, partner_id, purpose, scopes, types, issuers, status, submitted, due) = row[:9]
    decided_at, decided_by, reason, g_scopes, g_types, g_issuers = row[9:]
    return ApplicationRow(
        id=str(aid),
        partner_id=str(partner_id),
        purpose=str(purpose),
        scopes=_unlist(scopes),
        licence_types=_unlist(types),
        issuers=_unlist(issuers),
        status=str(status),
        submitted_at=int(submitted),
        due_at=int(due),
        decided_at=None if decided_at is None else int(decided_at),
        decided_by=None if decided_by is None else str(decided_by),
        reason=None if reason is None else str(reason),
        granted_scopes=_unlist(g_scopes),
        granted_types=_unlist(g_types),
        granted_issuers=_unlist(g_issuers),
    )


#: SQLite page cache per connection, MiB. A serving worker has about a
#: dozen connections (its executor threads and the ledger's), and each
#: cache fills up as the tables grow: at 8 MiB a worker grew from 60 to
#: 200 MB within five minutes of a soak, at 1 MiB it stayed near 100 MB.
#: Point reads are served by the OS page cache just as well. Bulk jobs ask
#: for more.
DEFAULT_CACHE_MIB: Final = 2
#: What bulk writers (import, the ledger benchmark) use.
BULK_CACHE_MIB: Final = 64


#: Rows per multi-row INSERT of usage records (13 parameters each; SQLite
#: allows at least 32,766 per statement since 3.32).
_USAGE_ROWS_PER_INSERT: Final = 512


@functools.lru_cache(maxsize=16)
def _usage_insert_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return f"INSERT INTO usage_records ({_USAGE_COLUMNS}) VALUES {values}"  # noqa: S608


def _usage_insert(conn: sqlite3.Connection, rows: Sequence[UsageRow]) -> None:
    """Multi-row INSERTs, not ``executemany``: the sqlite3 module gives up
    and takes back the GIL around every statement it steps, and the writer
    thread that runs this shares the GIL with a worker's event loop, which
    is then interrupted once per row instead of once per 512. Chunks are
    512 rows, then powers of two, so few statement texts are ever made."""
    at = 0
    while at < len(rows):
        left = len(rows) - at
        size = (
            _USAGE_ROWS_PER_INSERT
            if left >= _USAGE_ROWS_PER_INSERT
            else 1 << (left.bit_length() - 1)
        )
        # UsageRow's fields are in _USAGE_COLUMNS order (full_disclosure a bool: 0/1).
        conn.execute(_usage_insert_sql(size), [v for row in rows[at : at + size] for v in row])
        at += size


def _usage_row(r: tuple[Any, ...]) -> UsageRow:
    return UsageRow(
        str(r[0]), int(r[1]), r[2], str(r[3]), None if r[4] is None else bytes(r[4]), str(r[5]),
        int(r[6]), str(r[7]), r[8], bool(r[9]), bytes(r[10]), int(r[11]), r[12],
    )  # fmt: skip


class SqliteStore:
    """The registry store in one SQLite file."""

    def __init__(self, path: Path, *, cache_mib: int = DEFAULT_CACHE_MIB) -> None:
        self.path = path
        self._cache_kib = cache_mib * 1024
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    @classmethod
    def open(cls, path: Path, *, cache_mib: int = DEFAULT_CACHE_MIB) -> SqliteStore:
        """Open (creating if needed) and migrate. ``cache_mib``: SQLite's
        page cache per connection (one per thread that uses the store)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path, cache_mib=cache_mib)
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
        conn.execute(f"PRAGMA cache_size=-{self._cache_kib}")
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
        registry: RegistryWrites | None = None,
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
            if registry is not None:
                self._registry_write(conn, expected_size, len(leaves), registry)
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

    # ---- registry --------------------------------------------------------

    def _insert(self, sql: str, params: Sequence[object], what: str) -> None:
        conn = self._conn()
        try:
            conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise UniqueViolationError(f"{what} already exists") from exc

    def _registry_write(
        self, conn: sqlite3.Connection, base: int, n_entries: int, writes: RegistryWrites
    ) -> None:
        """Registry rows of a ledger batch (inside its transaction)."""

        def index(offset: int) -> int:
            if not 0 <= offset < n_entries:
                raise StoreError("registry row points outside its ledger batch")
            return base + offset

        if writes.licences:
            # (A duplicate id or ref fails the insert below: the primary
            # key and the unique index are the check.)
            counts: dict[str, int] = {}
            for lic in writes.licences:
                counts[lic.issuer_code] = counts.get(lic.issuer_code, 0) + 1
            next_idx: dict[str, int] = {}
            for issuer, count in counts.items():
                row = conn.execute(
                    "SELECT next_status_idx FROM registry_issuers WHERE code = ?", (issuer,)
                ).fetchone()
                if row is None:
                    raise StoreError(f"unknown issuer {issuer}")
                next_idx[issuer] = int(row[0])
                conn.execute(
                    "UPDATE registry_issuers SET next_status_idx = ? WHERE code = ?",
                    (int(row[0]) + count, issuer),
                )
            rows = []
            for lic in writes.licences:
                status_idx = next_idx[lic.issuer_code]
                next_idx[lic.issuer_code] = status_idx + 1
                rows.append(
                    (
                        lic.id,
                        lic.ref,
                        lic.issuer_code,
                        lic.type_code,
                        lic.version,
                        lic.body,
                        lic.signature,
                        lic.kid,
                        lic.status,
                        None,
                        lic.status_at,
                        lic.valid_until,
                        lic.supersedes,
                        None,
                        index(lic.entry_offset),
                        status_idx,
                        lic.issued_at,
                        lic.holder_key,
                    )
                )
            try:
                conn.executemany(
                    f"INSERT INTO registry_licences ({_LICENCE_COLUMNS}) "  # noqa: S608
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except sqlite3.IntegrityError as exc:
                raise UniqueViolationError(f"licence insert refused: {exc}") from exc
        for change in writes.status_changes:
            cur = conn.execute(
                "UPDATE registry_licences SET status = ?, status_reason = ?, status_at = ?, "
                "superseded_by = COALESCE(?, superseded_by) WHERE id = ? AND status = ?",
                (
                    change.status,
                    change.reason,
                    change.at,
                    change.superseded_by,
                    change.licence_id,
                    change.expected,
                ),
            )
            if cur.rowcount != 1:
                raise StaleStatusError(
                    f"licence {change.licence_id} is no longer {change.expected}"
                )
            conn.execute(
                "INSERT INTO registry_status_events (licence_id, ledger_index, from_status, "
                "to_status, reason, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    change.licence_id,
                    index(change.entry_offset),
                    change.expected,
                    change.status,
                    change.reason,
                    change.actor,
                    change.at,
                ),
            )
        for ann in writes.annotations:
            try:
                conn.execute(
                    "INSERT INTO registry_annotations (licence_id, seq, body, signature, kid, at, "
                    "ledger_index) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        ann.licence_id,
                        ann.seq,
                        ann.body,
                        ann.signature,
                        ann.kid,
                        ann.at,
                        index(ann.ledger_index),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise UniqueViolationError("annotation sequence number already used") from exc
        if writes.seals:
            sqlite_seals.seal_writes(conn, index, writes.seals)
        _usage_insert(conn, writes.usage)  # (none: nothing to do)
        job = writes.import_progress
        if job is not None:
            conn.execute("DELETE FROM registry_import_jobs WHERE job_id = ?", (job.job_id,))
            conn.execute(
                "INSERT INTO registry_import_jobs (job_id, source, rows_done, imported, rejected, "
                "reject_bytes, finished) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    job.job_id,
                    job.source,
                    job.rows_done,
                    job.imported,
                    job.rejected,
                    job.reject_bytes,
                    int(job.finished),
                ),
            )

    def _existing(self, conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            placeholders = ", ".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT id FROM registry_licences WHERE id IN ({placeholders})",  # noqa: S608
                chunk,
            )
            found.update(str(r[0]) for r in rows)
        return found

    def usage_append(self, rows: Sequence[UsageRow]) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            _usage_insert(conn, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def usage_records(self, after_at: int, limit: int) -> list[UsageRow]:
        rows = self._conn().execute(
            f"SELECT {_USAGE_COLUMNS} FROM usage_records WHERE at >= ? "  # noqa: S608
            "ORDER BY at, record_id LIMIT ?",
            (after_at, limit),
        )
        return [_usage_row(r) for r in rows]

    def usage_query(
        self,
        *,
        limit: int,
        partner_id: str | None = None,
        target: bytes | None = None,
        since: int | None = None,
        until: int | None = None,
        result: str | None = None,
        endpoint: str | None = None,
        before: tuple[int, str] | None = None,
        exclude_partner_prefix: str | None = None,
    ) -> list[UsageRow]:
        where: list[str] = []
        params: list[object] = []
        if exclude_partner_prefix is not None:
            where.append("(partner_id IS NULL OR substr(partner_id, 1, ?) != ?)")
            params.extend((len(exclude_partner_prefix), exclude_partner_prefix))
        for column, value in (
            ("partner_id", partner_id),
            ("target", target),
            ("result", result),
            ("endpoint", endpoint),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if until is not None:
            where.append("at < ?")
            params.append(until)
        if before is not None:
            where.append("(at, record_id) < (?, ?)")
            params.extend(before)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        params.append(limit)
        rows = self._conn().execute(
            f"SELECT {_USAGE_COLUMNS} FROM usage_records {clause}"  # noqa: S608 - fixed columns
            "ORDER BY at DESC, record_id DESC LIMIT ?",
            params,
        )
        return [_usage_row(r) for r in rows]

    def usage_batch(self, root: bytes, limit: int) -> list[UsageRow]:
        rows = self._conn().execute(
            f"SELECT {_USAGE_COLUMNS} FROM usage_records WHERE batch_root = ? "  # noqa: S608
            "ORDER BY batch_pos, record_id LIMIT ?",
            (root, limit),
        )
        return [_usage_row(r) for r in rows]

    def usage_batch_roots(self, after: bytes, limit: int) -> list[tuple[bytes, int]]:
        rows = self._conn().execute(
            "SELECT batch_root, COUNT(*) FROM usage_records WHERE batch_root > ? "
            "GROUP BY batch_root ORDER BY batch_root LIMIT ?",
            (after, limit),
        )
        return [(bytes(root), int(count)) for root, count in rows]

    def import_progress_save(self, job: ImportProgress) -> None:
        """Record a job's position outside a ledger batch (a batch of rejects only)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._registry_write(conn, 0, 0, RegistryWrites(import_progress=job))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def issuer_add(self, row: IssuerRow) -> None:
        self._insert(
            "INSERT INTO registry_issuers (code, name, region, created_at, next_status_idx) "
            "VALUES (?, ?, ?, ?, 0)",
            (row.code, row.name, row.region, row.created_at),
            f"issuer {row.code}",
        )

    def issuer_get(self, code: str) -> IssuerRow | None:
        row = (
            self._conn()
            .execute(
                "SELECT code, name, region, created_at FROM registry_issuers WHERE code = ?",
                (code,),
            )
            .fetchone()
        )
        return None if row is None else IssuerRow(*row)

    def issuers(self) -> list[IssuerRow]:
        rows = self._conn().execute(
            "SELECT code, name, region, created_at FROM registry_issuers ORDER BY code"
        )
        return [IssuerRow(*row) for row in rows]

    def key_add(self, row: KeyRow) -> None:
        self._insert(
            f"INSERT INTO registry_keys ({_KEY_COLUMNS}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.kid,
                row.owner,
                row.purpose,
                row.public_key,
                row.wrap_nonce,
                row.wrapped_key,
                row.valid_from,
                row.valid_until,
                row.status,
                row.created_at,
            ),
            f"key {row.kid}",
        )

    def key_get(self, kid: str) -> KeyRow | None:
        row = (
            self._conn()
            .execute(f"SELECT {_KEY_COLUMNS} FROM registry_keys WHERE kid = ?", (kid,))  # noqa: S608
            .fetchone()
        )
        return None if row is None else _key(row)

    def key_rows(self, owner: str | None = None, purpose: str | None = None) -> list[KeyRow]:
        rows = self._conn().execute(
            f"SELECT {_KEY_COLUMNS} FROM registry_keys "  # noqa: S608
            "WHERE (? IS NULL OR owner = ?) AND (? IS NULL OR purpose = ?) "
            "ORDER BY created_at, kid",
            (owner, owner, purpose, purpose),
        )
        return [_key(row) for row in rows]

    def key_rotate(self, new: KeyRow, retire_at: int) -> list[str]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            retired = [
                str(r[0])
                for r in conn.execute(
                    "SELECT kid FROM registry_keys WHERE owner = ? AND purpose = ? "
                    "AND status = 'active'",
                    (new.owner, new.purpose),
                )
            ]
            conn.execute(
                "UPDATE registry_keys SET status = 'retired', valid_until = ? "
                "WHERE owner = ? AND purpose = ? AND status = 'active'",
                (retire_at, new.owner, new.purpose),
            )
            self.key_add(new)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return retired

    def key_set_status(self, kid: str, status: str, valid_until: int | None) -> None:
        cur = self._conn().execute(
            "UPDATE registry_keys SET status = ?, valid_until = COALESCE(?, valid_until) "
            "WHERE kid = ?",
            (status, valid_until, kid),
        )
        if cur.rowcount != 1:
            raise StoreError(f"no key {kid}")

    def licence_type_add(self, row: LicenceTypeRow) -> None:
        self._insert(
            "INSERT INTO registry_licence_types (code, name, authority, face_schema, sensitive, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                row.code,
                row.name,
                row.authority,
                row.face_schema,
                ",".join(row.sensitive),
                row.created_at,
            ),
            f"licence type {row.code}",
        )

    @staticmethod
    def _type(row: tuple[str, str, str, str, str, int]) -> LicenceTypeRow:
        code, name, authority, schema, sensitive, created = row
        return LicenceTypeRow(
            code, name, authority, schema, tuple(s for s in sensitive.split(",") if s), created
        )

    def licence_type_get(self, code: str) -> LicenceTypeRow | None:
        row = (
            self._conn()
            .execute(
                "SELECT code, name, authority, face_schema, sensitive, created_at "
                "FROM registry_licence_types WHERE code = ?",
                (code,),
            )
            .fetchone()
        )
        return None if row is None else self._type(row)

    def licence_types(self) -> list[LicenceTypeRow]:
        rows = self._conn().execute(
            "SELECT code, name, authority, face_schema, sensitive, created_at "
            "FROM registry_licence_types ORDER BY code"
        )
        return [self._type(row) for row in rows]

    def licence_get(self, licence_id: str) -> LicenceRow | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {_LICENCE_COLUMNS} FROM registry_licences WHERE id = ?",  # noqa: S608
                (licence_id,),
            )
            .fetchone()
        )
        return None if row is None else _licence(row)

    def licence_by_ref(self, ref: bytes) -> LicenceRow | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {_LICENCE_COLUMNS} FROM registry_licences WHERE ref = ?",  # noqa: S608
                (ref,),
            )
            .fetchone()
        )
        return None if row is None else _licence(row)

    def licences_by_holder(self, holder_key: bytes, limit: int = 1000) -> list[str]:
        rows = self._conn().execute(
            "SELECT id FROM registry_licences WHERE holder_key = ? ORDER BY id LIMIT ?",
            (holder_key, limit),
        )
        return [str(r[0]) for r in rows]

    def licences_existing(self, ids: Sequence[str]) -> set[str]:
        return self._existing(self._conn(), ids)

    def licences_page(self, after: str, limit: int, issuer_code: str | None = None) -> list[str]:
        rows = self._conn().execute(
            "SELECT id FROM registry_licences WHERE id > ? AND (? IS NULL OR issuer_code = ?) "
            "ORDER BY id LIMIT ?",
            (after, issuer_code, issuer_code, limit),
        )
        return [str(r[0]) for r in rows]

    def status_events(self, licence_id: str) -> list[StatusEventRow]:
        rows = self._conn().execute(
            "SELECT licence_id, from_status, to_status, reason, actor, at, ledger_index "
            "FROM registry_status_events WHERE licence_id = ? ORDER BY ledger_index",
            (licence_id,),
        )
        return [StatusEventRow(*row) for row in rows]

    def status_events_after(self, ledger_index: int, limit: int) -> list[StatusEventRow]:
        rows = self._conn().execute(
            "SELECT licence_id, from_status, to_status, reason, actor, at, ledger_index "
            "FROM registry_status_events WHERE ledger_index > ? ORDER BY ledger_index LIMIT ?",
            (ledger_index, limit),
        )
        return [StatusEventRow(*row) for row in rows]

    def annotations(self, licence_id: str) -> list[AnnotationRow]:
        rows = self._conn().execute(
            "SELECT licence_id, seq, body, signature, kid, at, ledger_index "
            "FROM registry_annotations WHERE licence_id = ? ORDER BY seq",
            (licence_id,),
        )
        return [
            AnnotationRow(str(i), int(q), bytes(b), bytes(s), str(k), int(a), int(x))
            for i, q, b, s, k, a, x in rows
        ]

    def status_list(self, issuer_code: str) -> list[tuple[int, str]]:
        rows = self._conn().execute(
            "SELECT status_idx, status FROM registry_licences WHERE issuer_code = ? "
            "ORDER BY status_idx",
            (issuer_code,),
        )
        return [(int(i), str(s)) for i, s in rows]

    def import_progress(self, job_id: str) -> ImportProgress | None:
        row = (
            self._conn()
            .execute(
                "SELECT job_id, source, rows_done, imported, rejected, reject_bytes, finished "
                "FROM registry_import_jobs WHERE job_id = ?",
                (job_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        job_id, source, rows_done, imported, rejected, reject_bytes, finished = row
        return ImportProgress(
            job_id, source, rows_done, imported, rejected, reject_bytes, bool(finished)
        )

    def registry_counts(self) -> dict[str, object]:
        conn = self._conn()
        by_status = {
            str(s): int(n)
            for s, n in conn.execute(
                "SELECT status, COUNT(*) FROM registry_licences GROUP BY status ORDER BY status"
            )
        }

        def count(table: str) -> int:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608

        head = self.ledger_head()
        return {
            "licences": sum(by_status.values()),
            "licences_by_status": by_status,
            "issuers": count("registry_issuers"),
            "licence_types": count("registry_licence_types"),
            "keys": count("registry_keys"),
            "status_events": count("registry_status_events"),
            "annotations": count("registry_annotations"),
            "seals_by_status": sqlite_seals.seal_counts(conn),
            "ledger_size": 0 if head is None else head.tree_size,
        }

    # ---- partners ----------------------------------------------------------

    def partner_add(self, row: PartnerRow) -> None:
        self._insert(
            f"INSERT INTO partner_accounts ({_PARTNER_COLUMNS}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.name,
                row.contact,
                row.status,
                row.wrap_nonce,
                row.wrapped_secret,
                _list(row.scopes),
                _list(row.licence_types),
                _list(row.issuers),
                row.rate_per_s,
                int(row.single_use_tokens),
                row.created_at,
                row.secret_rotated_at,
                row.holder_key,
            ),
            f"partner {row.id}",
        )

    def partner_get(self, partner_id: str) -> PartnerRow | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {_PARTNER_COLUMNS} FROM partner_accounts WHERE id = ?",  # noqa: S608
                (partner_id,),
            )
            .fetchone()
        )
        return None if row is None else _partner(row)

    def partners(self) -> list[PartnerRow]:
        rows = self._conn().execute(
            f"SELECT {_PARTNER_COLUMNS} FROM partner_accounts ORDER BY id"  # noqa: S608
        )
        return [_partner(row) for row in rows]

    def partner_set_status(self, partner_id: str, status: str) -> bool:
        cur = self._conn().execute(
            "UPDATE partner_accounts SET status = ? WHERE id = ?", (status, partner_id)
        )
        return cur.rowcount == 1

    def partner_set_secret(
        self, partner_id: str, wrap_nonce: bytes, wrapped_secret: bytes, rotated_at: int
    ) -> bool:
        cur = self._conn().execute(
            "UPDATE partner_accounts SET wrap_nonce = ?, wrapped_secret = ?, "
            "secret_rotated_at = ? WHERE id = ?",
            (wrap_nonce, wrapped_secret, rotated_at, partner_id),
        )
        return cur.rowcount == 1

    def application_add(self, row: ApplicationRow) -> None:
        self._insert(
            f"INSERT INTO partner_applications ({_APPLICATION_COLUMNS}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.partner_id,
                row.purpose,
                _list(row.scopes),
                _list(row.licence_types),
                _list(row.issuers),
                row.status,
                row.submitted_at,
                row.due_at,
                row.decided_at,
                row.decided_by,
                row.reason,
                _list(row.granted_scopes),
                _list(row.granted_types),
                _list(row.granted_issuers),
            ),
            f"application {row.id}",
        )

    def application_get(self, application_id: str) -> ApplicationRow | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {_APPLICATION_COLUMNS} FROM partner_applications "  # noqa: S608
                "WHERE id = ?",
                (application_id,),
            )
            .fetchone()
        )
        return None if row is None else _application(row)

    def applications(
        self, status: str | None = None, partner_id: str | None = None, limit: int = 1000
    ) -> list[ApplicationRow]:
        rows = self._conn().execute(
            f"SELECT {_APPLICATION_COLUMNS} FROM partner_applications "  # noqa: S608
            "WHERE (? IS NULL OR status = ?) AND (? IS NULL OR partner_id = ?) "
            "ORDER BY submitted_at, id LIMIT ?",
            (status, status, partner_id, partner_id, limit),
        )
        return [_application(row) for row in rows]

    def application_decide(self, decision: ApplicationDecision) -> bool:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT partner_id FROM partner_applications WHERE id = ? AND status = 'pending'",
                (decision.application_id,),
            ).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                return False
            conn.execute(
                "UPDATE partner_applications SET status = ?, decided_at = ?, decided_by = ?, "
                "reason = ?, granted_scopes = ?, granted_types = ?, granted_issuers = ? "
                "WHERE id = ?",
                (
                    decision.status,
                    decision.decided_at,
                    decision.decided_by,
                    decision.reason,
                    _list(decision.scopes),
                    _list(decision.licence_types),
                    _list(decision.issuers),
                    decision.application_id,
                ),
            )
            if decision.status == "approved":
                cur = conn.execute(
                    "UPDATE partner_accounts SET scopes = ?, licence_types = ?, issuers = ? "
                    "WHERE id = ?",
                    (
                        _list(decision.scopes),
                        _list(decision.licence_types),
                        _list(decision.issuers),
                        str(row[0]),
                    ),
                )
                if cur.rowcount != 1:
                    raise StoreError(f"application for unknown partner {row[0]}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return True

    def consent_put(self, row: ConsentRow) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "DELETE FROM partner_consents WHERE licence_id = ? AND partner_id = ?",
                (row.licence_id, row.partner_id),
            )
            conn.execute(
                "INSERT INTO partner_consents (licence_id, partner_id, granted_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (row.licence_id, row.partner_id, row.granted_at, row.expires_at),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def consent_get(self, licence_id: str, partner_id: str) -> ConsentRow | None:
        row = (
            self._conn()
            .execute(
                "SELECT licence_id, partner_id, granted_at, expires_at FROM partner_consents "
                "WHERE licence_id = ? AND partner_id = ?",
                (licence_id, partner_id),
            )
            .fetchone()
        )
        if row is None:
            return None
        return ConsentRow(
            str(row[0]), str(row[1]), int(row[2]), None if row[3] is None else int(row[3])
        )

    def consent_delete(self, licence_id: str, partner_id: str) -> bool:
        cur = self._conn().execute(
            "DELETE FROM partner_consents WHERE licence_id = ? AND partner_id = ?",
            (licence_id, partner_id),
        )
        return cur.rowcount == 1

    def disclosure_add(self, row: DisclosureRow) -> int:
        cur = self._conn().execute(
            "INSERT INTO partner_disclosures (at, partner_id, licence_id, fields, basis, "
            "request_id) VALUES (?, ?, ?, ?, ?, ?)",
            (
                row.at,
                row.partner_id,
                row.licence_id,
                _list(row.fields),
                row.basis,
                row.request_id,
            ),
        )
        seq = cur.lastrowid
        if seq is None:
            raise StoreError("disclosure insert returned no sequence number")
        return int(seq)

    def disclosures(
        self, licence_id: str | None = None, partner_id: str | None = None, limit: int = 1000
    ) -> list[DisclosureRow]:
        rows = self._conn().execute(
            "SELECT at, partner_id, licence_id, fields, basis, request_id, seq "
            "FROM partner_disclosures WHERE (? IS NULL OR licence_id = ?) "
            "AND (? IS NULL OR partner_id = ?) ORDER BY seq LIMIT ?",
            (licence_id, licence_id, partner_id, partner_id, limit),
        )
        return [
            DisclosureRow(int(a), str(p), str(lic), _unlist(f), str(b), str(r), int(q))
            for a, p, lic, f, b, r, q in rows
        ]

    # ---- seals -----------------------------------------------------------

    def seal_get(self, es_id: str) -> SealRow | None:
        return sqlite_seals.seal_get(self._conn(), es_id)

    def seals(
        self, org_code: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[SealRow]:
        return sqlite_seals.seals(self._conn(), org_code, status, limit)

    def seal_versions(self, es_id: str) -> list[SealVersionRow]:
        return sqlite_seals.seal_versions(self._conn(), es_id)

    def seal_events(self, es_id: str) -> list[SealEventRow]:
        return sqlite_seals.seal_events(self._conn(), es_id)

    def seal_cert_add(self, row: SealCertRow) -> None:
        sqlite_seals.seal_cert_add(self._conn(), row)

    def seal_cert_get(self, kid: str) -> SealCertRow | None:
        return sqlite_seals.seal_cert_get(self._conn(), kid)
