"""The ledger sequencer: batches, signed tree heads, proofs from the store,
restart, crash safety, and the full audit with tamper detection."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyservice import merkle
from pyservice.crypto import PrivateKey, sm3
from pyservice.errors import (
    InvalidProofError,
    InvalidSignatureError,
    MalformedInputError,
    TreeSizeBeyondCurrentError,
    UnknownLeafError,
    UnknownTreeHeadError,
)
from pyservice.ledger import service
from pyservice.ledger.entries import KINDS, make_entry
from pyservice.ledger.keys import load_ledger_public_key, load_or_create_ledger_key
from pyservice.ledger.service import Ledger
from pyservice.ledger.sth import sth_from_json, sth_to_json, verify_sth
from pyservice.ledger.verify import verify_ledger
from pyservice.store import StoreError
from pyservice.store.sqlite import SqliteStore
from tests.conftest import REPO_ROOT
from tests.ledger_testkit import build_ledger, entry_fields

BATCHES = [1, 2, 5, 8, 13, 1, 34]  # 64 leaves, 8 STHs (with the empty tree's)


def _tree(n: int) -> merkle.MerkleTree:
    tree = merkle.MerkleTree()
    for i in range(n):
        tree.append_data(make_entry(entry_fields(i)).data)
    return tree


# ------------------------------------------------------------- entries --


def test_entry_kinds() -> None:
    assert "licence.issued" in KINDS
    assert {k for k in KINDS if k.startswith("seal.")} == {
        "seal.registered",
        "seal.status",
        "seal.revoked",
    }
    entry = make_entry({"kind": "usage.batch", "root": "ab"}, now_ms=5)
    assert entry.data == b'{"at":5,"kind":"usage.batch","root":"ab"}'
    assert (entry.kind, entry.at) == ("usage.batch", 5)
    for bad in (
        {"kind": "seal.forged"},
        {"kind": "licence"},
        {},
        {"kind": "usage.batch", "at": -1},
        {"kind": "usage.batch", "at": "now"},
        {"kind": "usage.batch", "at": True},
        {"kind": "usage.batch", "x": 1.5},
        {"kind": "usage.batch", "x": "y" * 70000},
    ):
        with pytest.raises(MalformedInputError):
            make_entry(bad)


# ----------------------------------------------------------- sequencer --


def test_batches_match_the_in_memory_tree(tmp_path: Path) -> None:
    store, key, _ = build_ledger(tmp_path, BATCHES)
    n = sum(BATCHES)
    tree = _tree(n)
    sths = store.ledger_sths(-1, 100)
    assert [s.tree_size for s in sths] == [0, 1, 3, 8, 16, 29, 30, 64]
    assert sths[0].root == sm3(b"")
    for sth in sths:
        verify_sth(key.public_key(), sth)
        assert sth.kid == key.public_key().kid()
        if sth.tree_size:
            assert sth.root == tree.root(sth.tree_size)
    assert [r.index for r in store.ledger_leaves(0, 1000)] == list(range(n))
    # Every inclusion and consistency proof read from the store is the
    # in-memory tree's, and verifies against the signed roots.
    for sth in sths[1:]:
        for index in range(sth.tree_size):
            leaf = tree.leaf_hash(index)
            proof = merkle.inclusion_proof_from_store(
                service.StoreSubtrees(store), index, sth.tree_size
            )
            assert proof == tree.inclusion_proof(index, sth.tree_size)
            merkle.verify_inclusion(leaf, index, sth.tree_size, proof, sth.root)
    for a in sths[1:]:
        for b in sths[1:]:
            if a.tree_size <= b.tree_size:
                result = service.consistency_proof(store, a.tree_size, b.tree_size)
                assert result.proof == tree.consistency_proof(a.tree_size, b.tree_size)
                merkle.verify_consistency(a.tree_size, b.tree_size, result.proof, a.root, b.root)
                assert result.first_sth == a
                assert result.second_sth == b
    store.close()


def test_reads_and_their_errors(tmp_path: Path) -> None:
    store, _, _ = build_ledger(tmp_path, [3, 4])
    leaf = merkle.leaf_hash(make_entry(entry_fields(4)).data)
    result = service.inclusion_proof(store, leaf)
    assert (result.index, result.sth.tree_size) == (4, 7)
    merkle.verify_inclusion(leaf, 4, 7, result.proof, result.sth.root)
    with pytest.raises(UnknownLeafError):
        service.inclusion_proof(store, leaf, 3)  # index 4 is not in the tree of 3
    with pytest.raises(UnknownLeafError):
        service.inclusion_proof(store, bytes(32))
    with pytest.raises(UnknownTreeHeadError):
        service.inclusion_proof(store, leaf, 5)  # no STH was published at 5
    with pytest.raises(TreeSizeBeyondCurrentError):
        service.inclusion_proof(store, leaf, 8)
    with pytest.raises(MalformedInputError):
        service.inclusion_proof(store, bytes(31))
    with pytest.raises(TreeSizeBeyondCurrentError):
        service.consistency_proof(store, 3, 8)
    with pytest.raises(MalformedInputError):
        service.consistency_proof(store, 0, 3)
    with pytest.raises(MalformedInputError):
        service.consistency_proof(store, 4, 3)
    assert [r.index for r in service.entries_page(store, 2, 5)] == [2, 3, 4]
    with pytest.raises(TreeSizeBeyondCurrentError):
        service.entries_page(store, 5, 8)
    with pytest.raises(MalformedInputError):
        service.entries_page(store, 0, service.MAX_ENTRIES_PAGE + 1)
    with pytest.raises(MalformedInputError):
        service.entries_page(store, 3, 3)
    store.close()


def test_restart_reloads_the_frontier(tmp_path: Path) -> None:
    store, key, _ = build_ledger(tmp_path, [5, 6])
    store.close()
    store = SqliteStore.open(tmp_path / "sidian.db")
    again = Ledger(store, load_or_create_ledger_key(tmp_path))
    again.load()
    assert again.commit([make_entry(entry_fields(i)) for i in range(11, 20)]) == list(range(11, 20))
    head = service.head(store)
    assert head.root == _tree(20).root()
    assert verify_ledger(store, key.public_key()).ok
    store.close()


def test_two_writers_never_repeat_or_skip(tmp_path: Path) -> None:
    # Two sequencers (as two processes would) on one store: the stale one is
    # refused by the store, reloads and retries.
    store, key, first = build_ledger(tmp_path, [3])
    other_store = SqliteStore.open(tmp_path / "sidian.db")
    second = Ledger(other_store, key)
    second.load()
    assert first.commit([make_entry(entry_fields(i)) for i in range(3, 6)]) == [3, 4, 5]
    assert second.commit([make_entry(entry_fields(i)) for i in range(6, 8)]) == [6, 7]
    assert first.commit([make_entry(entry_fields(8))]) == [8]
    assert service.head(store).root == _tree(9).root()
    assert verify_ledger(store, key.public_key()).ok
    other_store.close()
    store.close()


def test_failed_batch_leaves_the_last_committed_size(tmp_path: Path) -> None:
    store, key, ledger = build_ledger(tmp_path, [4])
    conn = sqlite3.connect(tmp_path / "sidian.db")
    conn.execute(
        "CREATE TRIGGER fail BEFORE INSERT ON ledger_sths "
        "BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError):
        ledger.commit([make_entry(entry_fields(i)) for i in range(4, 9)])
    assert service.head(store).tree_size == 4
    assert len(store.ledger_leaves(0, 100)) == 4
    conn.execute("DROP TRIGGER fail")
    conn.commit()
    assert ledger.commit([make_entry(entry_fields(i)) for i in range(4, 9)]) == [4, 5, 6, 7, 8]
    assert verify_ledger(store, key.public_key()).ok
    store.close()


_WRITER = """
import sys
from pathlib import Path
from tests.ledger_testkit import build_ledger, entry_fields
from pyservice.ledger.entries import make_entry
store, key, ledger = build_ledger(Path(sys.argv[1]), [])
n = 0
while True:
    ledger.commit([make_entry(entry_fields(n + i)) for i in range(500)])
    n += 500
    print(n, flush=True)
"""


def test_killed_writer_leaves_a_consistent_log(tmp_path: Path) -> None:
    proc = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", _WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        cwd=REPO_ROOT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for _ in range(4):
            assert proc.stdout.readline()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    store = SqliteStore.open(tmp_path / "sidian.db")
    head = service.head(store)
    assert head.tree_size >= 2000
    assert head.tree_size % 500 == 0
    assert len(store.ledger_leaves(0, 10**9)) == head.tree_size
    report = verify_ledger(store, load_ledger_public_key(tmp_path))
    assert report.ok, report.to_json()
    assert report.tree_size == head.tree_size
    store.close()


# -------------------------------------------------------------- batcher --


async def test_batcher_flushes_by_size_and_interval(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "sidian.db")
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=0.05, batch_size=10)
    await ledger.start()
    try:
        indices = await asyncio.gather(*(ledger.append(entry_fields(i)) for i in range(25)))
        assert sorted(indices) == list(range(25))
        assert indices == list(range(25))  # queue order is index order
        one = await ledger.append(entry_fields(25))  # a lone entry: flushed by the timer
        assert one == 25
        sizes = [s.tree_size for s in store.ledger_sths(-1, 100)]
        assert sizes[:4] == [0, 10, 20, 25]
        assert sizes[-1] == 26
        with pytest.raises(MalformedInputError):
            ledger.append_nowait({"kind": "nope"})
        head = await ledger.head()
        assert head.tree_size == 26
        leaf = merkle.leaf_hash(make_entry(entry_fields(7)).data)
        result = await ledger.inclusion_proof(leaf, None)
        merkle.verify_inclusion(leaf, 7, 26, result.proof, head.root)
    finally:
        await ledger.close()
    store.close()


async def test_a_full_batch_commits_at_once_and_a_lone_entry_after_the_interval(
    tmp_path: Path,
) -> None:
    # Group commit: the interval is how long the first queued entry waits
    # for company, cut short once batch_size wait; the batcher is idle
    # (no tick) while nothing is queued.
    store = SqliteStore.open(tmp_path / "sidian.db")
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=3600, batch_size=5)
    await ledger.start()
    try:
        indices = await asyncio.wait_for(
            asyncio.gather(*(ledger.append(entry_fields(i)) for i in range(5))), 10
        )
        assert indices == list(range(5))
        lone = ledger.append_nowait(entry_fields(5))
        await asyncio.sleep(0.3)
        assert not lone.done()  # still gathering: the interval is an hour
    finally:
        await ledger.close()
    assert lone.result() == 5  # closing flushes it
    store.close()
    store = SqliteStore.open(tmp_path / "quick.db")
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=0.05, batch_size=1000)
    await ledger.start()
    try:
        assert await asyncio.wait_for(ledger.append(entry_fields(0)), 10) == 0
    finally:
        await ledger.close()
    store.close()


async def test_close_flushes_pending(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "sidian.db")
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=3600, batch_size=1000)
    await ledger.start()
    futures = [ledger.append_nowait(entry_fields(i)) for i in range(7)]
    await ledger.close()
    assert [f.result() for f in futures] == list(range(7))
    assert service.head(store).tree_size == 7
    with pytest.raises(StoreError, match="not running"):
        ledger.append_nowait(entry_fields(8))
    store.close()


# ------------------------------------------------------------------ STH --


def test_sth_json_round_trip_and_signature(tmp_path: Path) -> None:
    store, key, _ = build_ledger(tmp_path, [3])
    sth = service.head(store)
    obj = sth_to_json(sth)
    assert set(obj) == {"tree_size", "root", "timestamp", "kid", "signature"}
    assert sth_from_json(obj) == sth
    forged = sth_from_json({**obj, "tree_size": 4})
    with pytest.raises(InvalidSignatureError):
        verify_sth(key.public_key(), forged)
    for bad in ({}, {**obj, "root": "zz"}, {**obj, "signature": "!!"}, {**obj, "kid": 1}):
        with pytest.raises(MalformedInputError):
            sth_from_json(bad)
    store.close()


def test_ledger_key_is_wrapped_and_stable(tmp_path: Path) -> None:
    key = load_or_create_ledger_key(tmp_path)
    assert load_or_create_ledger_key(tmp_path).public_key() == key.public_key()
    assert load_ledger_public_key(tmp_path) == key.public_key()
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    # The private key is stored wrapped only: its scalar is nowhere in the file.
    for path in tmp_path.glob("sidian.db*"):
        assert key.to_bytes() not in path.read_bytes()
    assert key.to_bytes().hex() not in repr(key)


# --------------------------------------------------------- audit/tamper --


def test_verify_clean_ledger(tmp_path: Path) -> None:
    store, key, _ = build_ledger(tmp_path, BATCHES)
    report = verify_ledger(store, key.public_key())
    assert report.ok
    assert report.to_json() == {
        "ok": True,
        "tree_size": 64,
        "entries_checked": 64,
        "sths_checked": 8,
    }
    assert not verify_ledger(store, PrivateKey.generate().public_key()).ok
    store.close()


Statement = str | tuple[str, tuple[object, ...]]


def _tampered(tmp_path: Path, *statements: Statement) -> tuple[Any, bytes, list[bytes]]:
    """Build the ledger, take an inclusion proof of entry 10, tamper, audit."""
    store, key, _ = build_ledger(tmp_path, BATCHES)
    leaf = merkle.leaf_hash(make_entry(entry_fields(10)).data)
    proof = service.inclusion_proof(store, leaf).proof
    conn = sqlite3.connect(tmp_path / "sidian.db")
    for statement in statements:
        if isinstance(statement, str):
            conn.execute(statement)
        else:
            conn.execute(*statement)
    conn.commit()
    conn.close()
    report = verify_ledger(store, key.public_key())
    assert not report.ok
    store.close()
    return report.to_json(), leaf, proof


def _recomputed_root(tmp_path: Path) -> bytes:
    conn = sqlite3.connect(tmp_path / "sidian.db")
    entries = [bytes(r[0]) for r in conn.execute("SELECT entry FROM ledger_leaves ORDER BY idx")]
    return merkle.root([merkle.leaf_hash(e) for e in entries])


def test_altered_entry_is_detected(tmp_path: Path) -> None:
    altered = make_entry({**entry_fields(10), "id": "FORGED"}).data.decode()
    report, leaf, proof = _tampered(
        tmp_path, ("UPDATE ledger_leaves SET entry = ? WHERE idx = 10", (altered.encode(),))
    )
    assert report["first_inconsistency"] == {
        "index": 10,
        "tree_size": None,
        "reason": "entry does not match its leaf hash",
    }
    # The proof issued before no longer verifies against the recomputed root,
    # and the altered entry has no proof against the signed root.
    with pytest.raises(InvalidProofError):
        merkle.verify_inclusion(leaf, 10, 64, proof, _recomputed_root(tmp_path))
    store = SqliteStore.open(tmp_path / "sidian.db")
    signed = service.head(store).root
    store.close()
    with pytest.raises(InvalidProofError):
        merkle.verify_inclusion(merkle.leaf_hash(altered.encode()), 10, 64, proof, signed)


def test_altered_entry_with_its_leaf_hash_is_detected(tmp_path: Path) -> None:
    altered = make_entry({**entry_fields(10), "id": "FORGED"}).data
    report, _, _ = _tampered(
        tmp_path,
        (
            "UPDATE ledger_leaves SET entry = ?, leaf_hash = ? WHERE idx = 10",
            (altered, merkle.leaf_hash(altered)),
        ),
    )
    assert report["first_inconsistency"]["index"] == 10
    assert "subtree" in report["first_inconsistency"]["reason"]


def test_deleted_entry_is_detected(tmp_path: Path) -> None:
    report, leaf, proof = _tampered(tmp_path, "DELETE FROM ledger_leaves WHERE idx = 10")
    assert report["first_inconsistency"] == {
        "index": 10,
        "tree_size": None,
        "reason": "entry is missing",
    }
    with pytest.raises(InvalidProofError):
        merkle.verify_inclusion(leaf, 10, 64, proof, _recomputed_root(tmp_path))


def test_deleted_last_entry_is_detected(tmp_path: Path) -> None:
    report, _, _ = _tampered(tmp_path, "DELETE FROM ledger_leaves WHERE idx = 63")
    assert report["first_inconsistency"]["index"] == 63


def test_reordered_entries_are_detected(tmp_path: Path) -> None:
    # Swap whole rows 10 and 20 (entry and leaf hash move together).
    report, leaf, proof = _tampered(
        tmp_path,
        "UPDATE ledger_leaves SET idx = -1 WHERE idx = 10",
        "UPDATE ledger_leaves SET idx = 10 WHERE idx = 20",
        "UPDATE ledger_leaves SET idx = 20 WHERE idx = -1",
    )
    assert report["first_inconsistency"]["index"] == 10
    with pytest.raises(InvalidProofError):
        merkle.verify_inclusion(leaf, 10, 64, proof, _recomputed_root(tmp_path))


def test_reordered_entry_bytes_are_detected(tmp_path: Path) -> None:
    report, _, _ = _tampered(
        tmp_path,
        "UPDATE ledger_leaves SET entry = (SELECT entry FROM ledger_leaves WHERE idx = 12) "
        "WHERE idx = 11",
    )
    assert report["first_inconsistency"]["index"] == 11


def test_entry_beyond_the_last_sth_is_detected(tmp_path: Path) -> None:
    entry = make_entry(entry_fields(99)).data
    report, _, _ = _tampered(
        tmp_path,
        (
            "INSERT INTO ledger_leaves (idx, leaf_epoch, leaf_key, leaf_hash, kind, at, entry) "
            "VALUES (100, 0, 0, ?, 'licence.issued', 0, ?)",
            (merkle.leaf_hash(entry), entry),
        ),
    )
    assert report["first_inconsistency"]["index"] == 100
    assert "beyond" in report["first_inconsistency"]["reason"]


def test_forged_sth_is_detected(tmp_path: Path) -> None:
    report, _, _ = _tampered(tmp_path, "UPDATE ledger_sths SET timestamp = 1 WHERE tree_size = 16")
    assert report["first_inconsistency"]["tree_size"] == 16
    assert "signature" in report["first_inconsistency"]["reason"]


def test_rewritten_tree_is_detected_by_the_signed_roots(tmp_path: Path) -> None:
    # Altering entry 10 and every stored hash above it consistently still
    # contradicts the signed roots.
    store, key, _ = build_ledger(tmp_path, BATCHES)
    store.close()
    conn = sqlite3.connect(tmp_path / "sidian.db")
    altered = make_entry({**entry_fields(10), "id": "FORGED"}).data
    conn.execute(
        "UPDATE ledger_leaves SET entry = ?, leaf_hash = ? WHERE idx = 10",
        (altered, merkle.leaf_hash(altered)),
    )
    hashes = [bytes(r[0]) for r in conn.execute("SELECT leaf_hash FROM ledger_leaves ORDER BY idx")]
    conn.execute("DELETE FROM ledger_subtrees")
    level = hashes
    lv = 0
    while len(level) > 1:
        lv += 1
        level = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        conn.executemany(
            "INSERT INTO ledger_subtrees (level, k, hash) VALUES (?, ?, ?)",
            [(lv, k, h) for k, h in enumerate(level)],
        )
    conn.commit()
    conn.close()
    store = SqliteStore.open(tmp_path / "sidian.db")
    report = verify_ledger(store, key.public_key())
    store.close()
    assert report.error is not None
    assert report.error.tree_size == 16
    assert "root" in report.error.reason
