"""Usage records: queued without I/O, written in batches to the
append-only table with one ``usage.batch`` ledger entry per batch (the
batch's Merkle root), flushed on close; real SQLite, real ledger. And the
crash window with a real ``sidian serve`` process: after ``kill -9`` every
record older than the flush interval is stored and ledgered; a SIGTERM
stores every record."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from pyservice import merkle
from pyservice.audit import verify_usage
from pyservice.canonical import canonical_json
from pyservice.crypto import PrivateKey, hmac_sm3
from pyservice.ledger.service import Ledger
from pyservice.store import SqliteStore, UsageRow
from pyservice.usage import UsageRecorder, record_leaf
from tests.serve_testkit import EXIT_BOUND, reap, serve, stop, wait_ready


def target(licence_id: str) -> bytes:
    return hmac_sm3(b"k" * 16, licence_id.encode())[:16]


async def test_batches_reach_the_table_and_the_ledger_and_close_flushes(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "sidian.db")
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=0.01)
    await ledger.start()
    usage = UsageRecorder(store, ledger, target, interval=3600, batch_size=40)
    await usage.start()
    receipts = [
        usage.record(
            endpoint="qr",
            licence_id=f"L{i}",
            result="VALID",
            latency=0.001,
            request_id=f"r{i}",
            partner_id="p1" if i % 2 else None,
            client="127.0.0.1",
        )
        for i in range(100)
    ]
    assert len({r["id"] for r in receipts}) == 100
    await usage.close()  # the interval never fired: close wrote everything
    assert len(usage) == 0
    await ledger.close()

    rows = store.usage_records(0, 1000)
    assert {r.record_id for r in rows} == {r["id"] for r in receipts}
    assert {r.target for r in rows} == {target(f"L{i}") for i in range(100)}
    roots = {r.batch_root for r in rows}
    assert len(roots) == 3  # 40 + 40 + 20
    for root in roots:
        batch = sorted((r for r in rows if r.batch_root == root), key=lambda r: r.batch_pos)
        assert [r.batch_pos for r in batch] == list(range(len(batch)))
        assert merkle.root([record_leaf(r) for r in batch]) == root
    entries = [json.loads(leaf.entry) for leaf in store.ledger_leaves(0, 100)]
    ledgered = {e["root"] for e in entries if e["kind"] == "usage.batch"}
    assert ledgered == {root.hex() for root in roots}
    assert sum(e["count"] for e in entries if e["kind"] == "usage.batch") == 100

    # Append-only: the table refuses changes.
    conn = sqlite3.connect(tmp_path / "sidian.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE usage_records SET result = 'INVALID'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM usage_records")
    conn.close()
    store.close()


async def test_a_changed_record_no_longer_matches_its_batch_root(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "sidian.db")
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=0.01)
    await ledger.start()
    usage = UsageRecorder(store, ledger, target, interval=3600, batch_size=10)
    for i in range(5):
        usage.record(endpoint="qr", licence_id="L", result="VALID", latency=0, request_id=str(i))
    await usage.flush()
    await ledger.close()
    rows = sorted(store.usage_records(0, 10), key=lambda r: r.batch_pos)
    root = rows[0].batch_root
    leaves = [record_leaf(r) for r in rows]
    assert merkle.root(leaves) == root
    forged = dataclasses.replace(rows[0], result="INVALID")
    assert merkle.root([record_leaf(forged), *leaves[1:]]) != root
    store.close()


def test_record_leaf_is_the_canonical_json_of_the_record() -> None:
    row = UsageRow(
        record_id="ab" * 12,
        at=1_795_000_000_000,
        partner_id="p-1",
        endpoint="qr",
        target=b"\x01" * 16,
        result="VALID",
        latency_us=123,
        request_id="r" * 32,
        client="127.0.0.1",
        full_disclosure=False,
        batch_root=b"",
    )
    fields = {
        "id": row.record_id,
        "at": row.at,
        "partner": row.partner_id,
        "endpoint": row.endpoint,
        "target": "01" * 16,
        "result": row.result,
        "latency_us": row.latency_us,
        "request_id": row.request_id,
        "client": row.client,
        "full": False,
    }
    assert record_leaf(row) == merkle.leaf_hash(canonical_json(fields))


# ------------------------------------------ a real server: kill -9, SIGTERM --

_CALLS = 25


def _stored_calls(data: Path) -> tuple[list[UsageRow], dict[str, object]]:
    """The ``ledger_sth`` records in the store, and the audit of the trail."""
    store = SqliteStore.open(data / "sidian.db")
    try:
        rows = store.usage_query(endpoint="ledger_sth", limit=10_000)
        report = verify_usage(store).to_json()
        ledgered = sum(
            json.loads(leaf.entry)["count"]
            for leaf in store.ledger_leaves(0, 1 << 40)
            if leaf.kind == "usage.batch"
        )
        assert ledgered == len(store.usage_query(limit=10_000))  # every record is ledgered
    finally:
        store.close()
    return rows, report


def _call(base: str, n: int) -> set[str]:
    """``n`` public calls; their request ids."""
    ids = set()
    for _ in range(n):
        request = urllib.request.Request(base + "/v1/ledger/sth")  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert response.status == 200
            ids.add(response.headers["X-Request-Id"])
    return ids


def _run_server(
    tmp_path: Path, interval: str, end: Callable[[subprocess.Popen[bytes], Path], None]
) -> set[str]:
    """Serve with this flush interval, make the calls, then ``end`` the
    server; the calls' request ids."""
    base, log, log_file, process = serve(tmp_path, env={"SIDIAN_USAGE_FLUSH_INTERVAL": interval})
    try:
        wait_ready(base, process, log)
        ids = _call(base, _CALLS)
        end(process, log)
    finally:
        reap(process)
        log_file.close()
    return ids


def _kill_9(process: subprocess.Popen[bytes], log: Path) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=EXIT_BOUND)


def _kill_9_later(process: subprocess.Popen[bytes], log: Path) -> None:
    time.sleep(1.5)  # longer than the interval (and one batch's write)
    _kill_9(process, log)


def test_kill_9_loses_nothing_older_than_the_flush_interval(tmp_path: Path) -> None:
    ids = _run_server(tmp_path, "0.5", _kill_9_later)
    rows, report = _stored_calls(tmp_path / "data")
    assert {r.request_id for r in rows} == ids
    assert report["ok"] is True, report
    assert report["records_checked"] == len(rows)


def test_kill_9_loses_the_records_still_queued(tmp_path: Path) -> None:
    # The documented window, made wide: nothing is written within the hour.
    _run_server(tmp_path, "3600", _kill_9)
    rows, report = _stored_calls(tmp_path / "data")
    assert rows == []
    assert report["ok"] is True, report


def test_sigterm_stores_every_record_made_before_it(tmp_path: Path) -> None:
    ids = _run_server(tmp_path, "3600", stop)  # SIGTERM right after the calls; exit status 0
    rows, report = _stored_calls(tmp_path / "data")
    assert {r.request_id for r in rows} == ids
    assert report["ok"] is True, report


async def test_record_ids_are_distinct_random_hex_across_pool_refills(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "sidian.db")
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=0.01)
    await ledger.start()
    usage = UsageRecorder(store, ledger, target, interval=3600, batch_size=5000)
    n = 3 * 4096 + 7  # past the id pool's refills
    ids = [
        usage.record_call(
            endpoint="ledger_sth",
            target_id=None,
            result="200",
            latency=0.0,
            request_id=str(i),
            partner_id=None,
            client=None,
        )[0]
        for i in range(n)
    ]
    assert len(set(ids)) == n
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in ids)
    assert await usage.flush() == n
    await ledger.close()
    assert {r.record_id for r in store.usage_records(0, 2 * n)} == set(ids)
    store.close()
