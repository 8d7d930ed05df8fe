"""Usage records: queued without I/O, written in batches to the
append-only table with one ``usage.batch`` ledger entry per batch (the
batch's Merkle root), flushed on close; real SQLite, real ledger. And the
crash window with a real ``sidian serve`` process: after ``kill -9`` every
record older than the flush interval is stored and ledgered; a SIGTERM
stores every record."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice import merkle
from pyservice.audit import verify_usage
from pyservice.canonical import canonical_json
from pyservice.crypto import PrivateKey, hmac_sm3
from pyservice.ledger.service import Ledger
from pyservice.store import ApplicationRow, SqliteStore, UsageRow
from pyservice.usage import (
    MAX_PURPOSE_CHARS,
    MalformedCursorError,
    MalformedPurposeError,
    UsageRecorder,
    check_purpose,
    holder_usage,
    parse_cursor,
    purpose_in_force,
    record_fields,
    record_leaf,
    usage_cursor,
)
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
    ids = [r["id"] for r in receipts]
    assert len(set(ids)) == 100
    # Time-ordered ids (the primary-key index grows at its end): the record's
    # millisecond, then this process's sequence.
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    assert ids == sorted(ids)
    await usage.close()  # the interval never fired: close wrote everything
    rows = store.usage_records(0, 200)
    assert len(rows) == 100
    assert all(int(r.record_id[:12], 16) == r.at for r in rows)
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
    forged = rows[0]._replace(result="INVALID")
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
    # a declared purpose is part of the leaf; a record without one keeps the
    # leaf it had before purposes existed
    declared = row._replace(purpose="开户核验")
    assert record_leaf(declared) == merkle.leaf_hash(
        canonical_json({**fields, "purpose": "开户核验"})
    )
    assert record_leaf(declared) != record_leaf(row._replace(purpose="其他"))


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # no lone surrogates


@given(
    st.builds(
        UsageRow,
        record_id=_TEXT,
        at=st.integers(0, 2**53 - 1),
        partner_id=st.none() | _TEXT,
        endpoint=_TEXT,
        target=st.none() | st.binary(min_size=16, max_size=16),
        result=_TEXT,
        latency_us=st.integers(0, 2**53 - 1),
        request_id=_TEXT,
        client=st.none() | _TEXT,
        full_disclosure=st.booleans(),
        batch_root=st.just(b""),
        purpose=st.none() | _TEXT,
    )
)
def test_record_leaf_of_any_record_is_the_rfc8785_form(row: UsageRow) -> None:
    # The leaf is written by a fast encoder (keys in order, orjson); the
    # audit holds it to the reference canonical form for any field values,
    # control characters and non-BMP text included.
    assert record_leaf(row) == merkle.leaf_hash(canonical_json(record_fields(row)))


def test_check_purpose() -> None:
    assert check_purpose(None) is None
    assert check_purpose("   ") is None
    assert check_purpose("  开户核验 KYC ") == "开户核验 KYC"
    assert check_purpose("x" * MAX_PURPOSE_CHARS) == "x" * MAX_PURPOSE_CHARS
    for bad in ("x" * (MAX_PURPOSE_CHARS + 1), "a\tb", "a\x00b", "a\u200bb", "a\udcffb", "a\nb"):
        with pytest.raises(MalformedPurposeError) as info:
            check_purpose(bad)
        assert info.value.code == "malformed_purpose"
        assert info.value.http_status == 400


def _row(i: int, *, target_byte: int = 1, **changes: object) -> UsageRow:
    row = UsageRow(
        record_id=f"{i:024x}",
        at=1_795_000_000_000 + i // 2,  # two records per millisecond
        partner_id="p1",
        endpoint="qr",
        target=bytes([target_byte]) * 16,
        result="VALID",
        latency_us=1,
        request_id=f"r{i}",
        client=None,
        full_disclosure=False,
        batch_root=b"\x00" * 32,
        batch_pos=i,
    )
    return row._replace(**changes)  # type: ignore[arg-type]


def test_cursor_round_trip_and_malformed_cursors() -> None:
    row = _row(7)
    assert parse_cursor(usage_cursor(row)) == (row.at, row.record_id)
    assert parse_cursor(None) is None
    assert parse_cursor("") is None
    for bad in ("1", "1.", ".ab", "x.00", f"1.{'0' * 23}", f"1.{'0' * 25}", f"-1.{'0' * 24}"):
        with pytest.raises(MalformedCursorError):
            parse_cursor(bad)


def _application(purpose: str, status: str, decided_at: int | None) -> ApplicationRow:
    return ApplicationRow(
        id=purpose,
        partner_id="p1",
        purpose=purpose,
        scopes=("verify:qr",),
        licence_types=(),
        issuers=(),
        status=status,
        submitted_at=0,
        due_at=0,
        decided_at=decided_at,
    )


def test_purpose_in_force_is_the_last_approved_before_the_call() -> None:
    apps = [
        _application("first", "approved", 100),
        _application("rejected", "rejected", 150),
        _application("second", "approved", 200),
        _application("pending", "pending", None),
    ]
    assert purpose_in_force(apps, 99) is None
    assert purpose_in_force(apps, 100) == "first"
    assert purpose_in_force(apps, 199) == "first"
    assert purpose_in_force(apps, 10_000) == "second"
    assert purpose_in_force([], 10_000) is None


def test_holder_usage_pages_newest_first(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "sidian.db")
    mine = [_row(i) for i in range(7)]
    other = [_row(i + 100, target_byte=2) for i in range(3)]
    store.usage_append([*mine, *other])
    names = {"p1": "某银行"}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        entries, next_cursor = holder_usage(store, names.get, mine[0].target or b"", cursor, 3)
        seen.extend(e["id"] for e in entries)
        pages += 1
        if next_cursor is None:
            break
        cursor = parse_cursor(next_cursor)
    newest_first = sorted(mine, key=lambda r: (r.at, r.record_id), reverse=True)
    assert seen == [r.record_id for r in newest_first]
    assert pages == 3
    entries, _ = holder_usage(store, names.get, mine[0].target or b"", None, 1)
    assert entries[0]["partner"] == {"id": "p1", "name": "某银行"}
    assert (entries[0]["purpose"], entries[0]["purpose_source"]) == (None, None)
    with pytest.raises(ValueError, match="limit"):
        holder_usage(store, names.get, b"\x01" * 16, None, 0)
    store.close()


@given(st.text(max_size=300))
def test_check_purpose_accepts_or_refuses_never_fails_otherwise(raw: str) -> None:
    try:
        purpose = check_purpose(raw)
    except MalformedPurposeError:
        return
    if purpose is not None:
        assert 0 < len(purpose) <= MAX_PURPOSE_CHARS
        assert purpose.isprintable()
        assert purpose == purpose.strip()


@given(st.one_of(st.text(max_size=60), st.from_regex(r"[0-9]{1,16}\.[0-9a-f]{23,25}")))
def test_parse_cursor_accepts_only_its_own_form(text: str) -> None:
    try:
        parsed = parse_cursor(text)
    except MalformedCursorError:
        return
    if parsed is not None:
        at, record_id = parsed
        assert f"{at}.{record_id}" == text


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
