"""The SQLite registry store: migrations, atomic ledger appends, the single writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from pyservice import merkle
from pyservice.store import (
    LeafRow,
    LedgerConflictError,
    StoredSth,
    StoreError,
    UsageRow,
    open_store,
)
from pyservice.store.sqlite import LEAF_EPOCH_BITS, MIGRATIONS, SqliteStore

H = bytes(32)


def _sth(size: int) -> StoredSth:
    return StoredSth(size, H, 1, "kid", b"sig")


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert store.schema_version() == max(MIGRATIONS)
    store.close()
    again = SqliteStore.open(tmp_path / "sidian.db")
    assert again.schema_version() == max(MIGRATIONS)
    rows = sqlite3.connect(tmp_path / "sidian.db").execute("SELECT version FROM schema_migrations")
    assert [r[0] for r in rows] == sorted(MIGRATIONS)
    assert again.ledger_head() is None
    again.close()


def test_wal_mode(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    conn = sqlite3.connect(tmp_path / "x.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    SqliteStore.open(tmp_path / "x.db").close()
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("INSERT INTO schema_migrations VALUES (999, 0)")
    conn.commit()
    with pytest.raises(StoreError, match="newer migrations"):
        SqliteStore.open(tmp_path / "x.db")


def test_closed_store_refuses(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "x.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.ledger_head()


def _leaves(start: int, n: int) -> tuple[list[LeafRow], list[tuple[int, int, bytes]]]:
    hashes = [merkle.leaf_hash(str(i).encode()) for i in range(start, start + n)]
    leaves = [LeafRow(start + i, h, b"{}", "usage.batch", 0) for i, h in enumerate(hashes)]
    return leaves, [(0, start + i, h) for i, h in enumerate(hashes)]


def test_append_and_read(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    store.ledger_append(0, [], [], _sth(0))
    leaves, rows = _leaves(0, 3)
    store.ledger_append(0, leaves, [*rows, (1, 0, b"n" * 32)], _sth(3))
    head = store.ledger_head()
    assert head is not None
    assert head.tree_size == 3
    assert store.ledger_leaves(0, 10) == leaves
    assert store.ledger_subtree_hashes([(1, 0), (0, 2)]) == [b"n" * 32, leaves[2].leaf_hash]
    assert store.ledger_subtree_range(1, 0, 5) == [(0, b"n" * 32)]
    assert store.ledger_leaf_index(leaves[1].leaf_hash) == 1
    assert store.ledger_leaf_index(H) is None
    assert [s.tree_size for s in store.ledger_sths(-1, 10)] == [0, 3]
    assert store.ledger_sth(3) == head
    assert store.ledger_sth(2) is None
    with pytest.raises(StoreError, match="missing"):
        store.ledger_subtree_hashes([(2, 0)])
    store.close()


def test_stale_writer_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    store.ledger_append(0, [], [], _sth(0))
    leaves, rows = _leaves(0, 2)
    store.ledger_append(0, leaves, rows, _sth(2))
    with pytest.raises(LedgerConflictError):
        store.ledger_append(0, leaves, rows, _sth(2))
    with pytest.raises(LedgerConflictError):
        store.ledger_append(2, [], [], _sth(2))  # an STH at the same size again
    assert len(store.ledger_leaves(0, 100)) == 2
    store.close()


def test_failure_mid_transaction_rolls_back(tmp_path: Path) -> None:
    # A real failure injected by the database after the leaves and subtree
    # rows were inserted, before the commit: nothing of the batch remains.
    store = SqliteStore.open(tmp_path / "x.db")
    store.ledger_append(0, [], [], _sth(0))
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute(
        "CREATE TRIGGER fail BEFORE INSERT ON ledger_sths "
        "WHEN NEW.tree_size = 5 BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    conn.commit()
    leaves, rows = _leaves(0, 5)
    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        store.ledger_append(0, leaves, [*rows, (1, 0, H)], _sth(5))
    assert store.ledger_leaves(0, 100) == []
    assert store.ledger_subtree_range(1, 0, 100) == []
    head = store.ledger_head()
    assert head is not None
    assert head.tree_size == 0
    store.close()


def test_leaf_lookup_spans_index_epochs(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "x.db")
    leaf = merkle.leaf_hash(b"x")
    key = int.from_bytes(leaf[:8], "big", signed=True)
    far = (3 << LEAF_EPOCH_BITS) + 5
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute(
        "INSERT INTO ledger_leaves (idx, leaf_epoch, leaf_key, leaf_hash, kind, at, entry) "
        "VALUES (?, 3, ?, ?, 'usage.batch', 0, X'7B7D')",
        (far, key, leaf),
    )
    conn.commit()
    assert store.ledger_leaf_index(leaf) == far
    conn.execute(
        "INSERT INTO ledger_leaves (idx, leaf_epoch, leaf_key, leaf_hash, kind, at, entry) "
        "VALUES (7, 0, ?, ?, 'usage.batch', 0, X'7B7D')",
        (key, leaf),
    )
    conn.commit()
    assert store.ledger_leaf_index(leaf) == 7  # the first occurrence
    assert store.ledger_leaf_index(merkle.leaf_hash(b"y")) is None
    conn.close()
    store.close()


def test_migration_2_rewrites_leaf_epochs_of_an_existing_log(tmp_path: Path) -> None:
    # A database created by migration 1 alone, whose rows carry 2^18 epochs.
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)")
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (1, 0)")
    leaves = {idx: merkle.leaf_hash(str(idx).encode()) for idx in (0, (1 << 18) + 1, 5 << 20)}
    for idx, leaf in leaves.items():
        conn.execute(
            "INSERT INTO ledger_leaves (idx, leaf_epoch, leaf_key, leaf_hash, kind, at, entry) "
            "VALUES (?, ?, ?, ?, 'usage.batch', 0, X'7B7D')",
            (idx, idx >> 18, int.from_bytes(leaf[:8], "big", signed=True), leaf),
        )
    conn.commit()
    conn.close()

    store = SqliteStore.open(path)
    assert store.schema_version() == max(MIGRATIONS)
    for idx, leaf in leaves.items():
        assert store.ledger_leaf_index(leaf) == idx
    epochs = sqlite3.connect(path).execute("SELECT idx, leaf_epoch FROM ledger_leaves").fetchall()
    assert all(epoch == idx >> LEAF_EPOCH_BITS for idx, epoch in epochs)
    store.close()


# ---------------------------------------------------- usage records (mig. 7) --


def _usage(i: int, *, partner: str | None, target: bytes | None, at: int) -> UsageRow:
    return UsageRow(
        f"{i:024x}", at, partner, "qr" if i % 2 else "licence_status", target,
        "VALID" if i % 3 else "scope_denied", i, f"r{i}", None, False, bytes([i % 4]) * 32, i,
    )  # fmt: skip


@pytest.mark.parametrize("count", [1, 2, 3, 511, 512, 513, 1000, 1537])
def test_usage_rows_are_stored_whole_in_multi_row_inserts(tmp_path: Path, count: int) -> None:
    store = open_store(tmp_path)
    rows = [
        _usage(i, partner=None if i % 5 == 0 else f"p{i % 3}", target=None if i % 7 == 0
               else bytes([i % 256]) * 16, at=1000 + i)._replace(
            client="127.0.0.1" if i % 2 else None, full_disclosure=i % 11 == 0,
            purpose="开户核验" if i % 4 == 0 else None)
        for i in range(count)
    ]  # fmt: skip
    store.usage_append(rows)
    assert store.usage_records(0, count + 10) == rows


def test_usage_query_filters_newest_first_with_a_keyset_cursor(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    rows = [
        _usage(i, partner=f"p{i % 3}", target=bytes([i % 2]) * 16, at=1000 + i // 2)
        for i in range(40)
    ]
    store.usage_append(rows)

    def ids(found: list[UsageRow]) -> list[str]:
        return [r.record_id for r in found]

    def expected(keep: Callable[[UsageRow], bool]) -> list[str]:
        chosen = sorted((r for r in rows if keep(r)), key=lambda r: (r.at, r.record_id))
        return ids(chosen[::-1])

    assert ids(store.usage_query(limit=100)) == expected(lambda r: True)
    assert ids(store.usage_query(limit=100, partner_id="p1")) == expected(
        lambda r: r.partner_id == "p1"
    )
    assert ids(store.usage_query(limit=100, target=b"\x01" * 16, result="VALID")) == expected(
        lambda r: r.target == b"\x01" * 16 and r.result == "VALID"
    )
    assert ids(store.usage_query(limit=100, since=1005, until=1010, endpoint="qr")) == expected(
        lambda r: 1005 <= r.at < 1010 and r.endpoint == "qr"
    )
    # Paging by (at, record_id) visits each record once, even with equal times.
    seen: list[str] = []
    before = None
    while True:
        page = store.usage_query(limit=3, partner_id="p0", before=before)
        if not page:
            break
        seen.extend(ids(page))
        before = (page[-1].at, page[-1].record_id)
    assert seen == expected(lambda r: r.partner_id == "p0")
    # A batch by its root, in position order; the stored roots with counts.
    assert ids(store.usage_batch(bytes([1]) * 32, 100)) == ids(
        [r for r in rows if r.batch_root == bytes([1]) * 32]
    )
    assert store.usage_batch_roots(b"", 2) == [(bytes([0]) * 32, 10), (bytes([1]) * 32, 10)]
    assert store.usage_batch_roots(bytes([1]) * 32, 10) == [
        (bytes([2]) * 32, 10),
        (bytes([3]) * 32, 10),
    ]
    store.close()


@pytest.mark.parametrize(
    ("where", "params", "index"),
    [
        ("", (), "usage_records_by_at"),
        ("WHERE partner_id = ?", ("p",), "usage_records_by_partner"),
        ("WHERE target = ?", (b"t",), "usage_records_by_target"),
        (
            "WHERE target = ? AND (at, record_id) < (?, ?)",
            (b"t", 5, "x"),
            "usage_records_by_target",
        ),
    ],
)
def test_usage_queries_read_an_index_in_order(
    tmp_path: Path, where: str, params: tuple[object, ...], index: str
) -> None:
    open_store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "sidian.db")
    plan = " ".join(
        str(row[3])
        for row in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT * FROM usage_records {where} "  # noqa: S608 - fixed text
            "ORDER BY at DESC, record_id DESC LIMIT 10",
            params,
        )
    )
    conn.close()
    assert index in plan
    assert "TEMP B-TREE" not in plan  # no sort of the matching rows


def test_migration_7_keeps_the_records_of_migration_5(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)")
    for version in range(1, 7):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
    # rows as a version-6 service wrote them (its columns)
    conn.executemany(
        "INSERT INTO usage_records (record_id, at, partner_id, endpoint, target, result, "
        "latency_us, request_id, client, full_disclosure, batch_root, batch_pos) "
        "VALUES (?, ?, 'p', 'qr', NULL, 'VALID', 1, 'r', NULL, 0, ?, ?)",
        [(f"{i:024x}", i, b"\x00" * 32, i) for i in range(3)],
    )
    conn.commit()
    conn.close()
    store = SqliteStore.open(path)
    assert store.schema_version() == max(MIGRATIONS)
    assert [r.record_id for r in store.usage_query(limit=10, partner_id="p")] == [
        f"{i:024x}" for i in (2, 1, 0)
    ]
    store.close()
