"""The audit of stored usage records against the ledger (verify_usage), and
the query helpers of GET /v1/audit (RFC 3339 times, cursors). Tampering is
done directly in the SQLite file, as someone with access to it would: the
append-only triggers are dropped first."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice import audit
from pyservice.audit import (
    AuditCursorError,
    AuditTimeError,
    decode_cursor,
    encode_cursor,
    parse_rfc3339_ms,
    verify_usage,
)
from pyservice.crypto import PrivateKey, hmac_sm3
from pyservice.ledger.service import Ledger
from pyservice.store import SqliteStore, UsageRow
from pyservice.usage import UsageRecorder

BATCH = 10
BATCHES = 3


def _target(licence_id: str) -> bytes:
    return hmac_sm3(b"k" * 16, licence_id.encode())[:16]


async def _write_records(db: Path) -> None:
    store = SqliteStore.open(db)
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=0.01)
    await ledger.start()
    usage = UsageRecorder(store, ledger, _target, interval=3600, batch_size=BATCH)
    for i in range(BATCH * BATCHES):
        usage.record(
            endpoint="qr",
            licence_id=f"L{i % 4}",
            result="VALID",
            latency=0.001,
            request_id=f"r{i}",
            partner_id="p1",
            client="127.0.0.1",
        )
        if i % BATCH == BATCH - 1:  # a batch, then another ledger entry
            await usage.flush()
            await ledger.append({"kind": "licence.status", "id": f"L{i}"})
    await usage.close()
    await ledger.close()
    store.close()


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "sidian.db"
    await _write_records(path)
    return path


@pytest.fixture
def tamper(db: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER usage_records_no_update")
    conn.execute("DROP TRIGGER usage_records_no_delete")
    yield conn
    conn.close()


def _verify(db: Path) -> dict[str, Any]:
    store = SqliteStore.open(db)
    try:
        return verify_usage(store).to_json()
    finally:
        store.close()


def _batches(conn: sqlite3.Connection) -> list[list[tuple[str, bytes, int]]]:
    """Each batch's (record_id, batch_root, batch_pos), by position."""
    rows = conn.execute(
        "SELECT record_id, batch_root, batch_pos FROM usage_records "
        "ORDER BY at, batch_root, batch_pos"
    ).fetchall()
    by_root: dict[bytes, list[tuple[str, bytes, int]]] = {}
    for record_id, root, pos in rows:
        by_root.setdefault(bytes(root), []).append((record_id, bytes(root), pos))
    return [sorted(batch, key=lambda r: r[2]) for batch in by_root.values()]


def _problems(report: dict[str, Any]) -> list[str]:
    return [p["problem"] for p in report["problems"]]


async def test_an_untouched_store_passes(db: Path) -> None:
    report = _verify(db)
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["batches_checked"] == BATCHES
    assert report["stored_batches"] == BATCHES
    assert report["records_checked"] == BATCH * BATCHES


async def test_small_pages_read_the_same(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "_LEDGER_CHUNK", 2)
    monkeypatch.setattr(audit, "_ROOTS_PAGE", 1)
    report = _verify(db)
    assert report["ok"] is True
    assert (report["batches_checked"], report["stored_batches"]) == (BATCHES, BATCHES)


async def test_an_edited_field_is_detected(db: Path, tamper: sqlite3.Connection) -> None:
    record_id, root, _ = _batches(tamper)[1][4]
    tamper.execute("UPDATE usage_records SET result = 'INVALID' WHERE record_id = ?", (record_id,))
    report = _verify(db)
    assert report["ok"] is False
    assert _problems(report) == ["batch_root_differs"]
    assert report["problems"][0]["batch_root"] == root.hex()
    assert isinstance(report["problems"][0]["ledger_index"], int)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("at", 0),
        ("partner_id", "p2"),
        ("target", None),
        ("client", "10.0.0.1"),
        ("latency_us", 1),
        ("full_disclosure", 1),
    ],
)
async def test_each_covered_column_is_detected(
    db: Path, tamper: sqlite3.Connection, column: str, value: object
) -> None:
    record_id, root, _ = _batches(tamper)[0][3]
    tamper.execute(
        f"UPDATE usage_records SET {column} = ? WHERE record_id = ?",  # noqa: S608 - fixed names
        (value, record_id),
    )
    report = _verify(db)
    assert _problems(report) == ["batch_root_differs"]
    assert report["problems"][0]["batch_root"] == root.hex()


async def test_a_deleted_record_is_named(db: Path, tamper: sqlite3.Connection) -> None:
    batch = _batches(tamper)[2]
    tamper.execute("DELETE FROM usage_records WHERE record_id = ?", (batch[5][0],))
    tamper.execute("DELETE FROM usage_records WHERE record_id = ?", (batch[0][0],))
    report = _verify(db)
    assert _problems(report) == ["records_missing"]
    problem = report["problems"][0]
    assert problem["batch_root"] == batch[0][1].hex()
    assert problem["positions"] == [0, 5]
    assert problem["record_ids"] == [batch[0][0]]  # the first id is on the ledger


async def test_a_wholly_deleted_batch_is_detected(db: Path, tamper: sqlite3.Connection) -> None:
    batch = _batches(tamper)[1]
    tamper.execute("DELETE FROM usage_records WHERE batch_root = ?", (batch[0][1],))
    report = _verify(db)
    assert _problems(report) == ["batch_missing"]
    problem = report["problems"][0]
    assert problem["batch_root"] == batch[0][1].hex()
    assert (problem["first"], problem["last"], problem["count"]) == (
        batch[0][0],
        batch[-1][0],
        BATCH,
    )


def _forge(conn: sqlite3.Connection, record_id: str, root: bytes, pos: int) -> None:
    conn.execute(
        "INSERT INTO usage_records (record_id, at, partner_id, endpoint, target, result, "
        "latency_us, request_id, client, full_disclosure, batch_root, batch_pos) "
        "VALUES (?, 1795000000000, 'p1', 'qr', NULL, 'VALID', 5, 'forged', NULL, 0, ?, ?)",
        (record_id, root, pos),
    )


async def test_a_forged_record_in_its_own_batch_is_named(
    db: Path, tamper: sqlite3.Connection
) -> None:
    forged = "f" * 24
    _forge(tamper, forged, b"\x07" * 32, 0)
    report = _verify(db)
    assert _problems(report) == ["batch_not_ledgered"]
    assert report["problems"][0]["record_ids"] == [forged]
    assert report["stored_batches"] == BATCHES + 1


@pytest.mark.parametrize("position", [BATCH, 3])  # past the end; sharing a position
async def test_a_forged_record_in_a_ledgered_batch_is_named(
    db: Path, tamper: sqlite3.Connection, position: int
) -> None:
    batch = _batches(tamper)[0]
    forged = "e" * 24
    _forge(tamper, forged, batch[0][1], position)
    report = _verify(db)
    assert _problems(report) == ["records_added"]
    problem = report["problems"][0]
    assert forged in problem["record_ids"]
    assert problem["positions"] == [position]


async def test_reordered_records_are_detected(db: Path, tamper: sqlite3.Connection) -> None:
    batch = _batches(tamper)[1]
    (a, root, _), (b, _, _) = batch[2], batch[6]
    tamper.execute("UPDATE usage_records SET batch_pos = -1 WHERE record_id = ?", (a,))
    tamper.execute("UPDATE usage_records SET batch_pos = 2 WHERE record_id = ?", (b,))
    tamper.execute("UPDATE usage_records SET batch_pos = 6 WHERE record_id = ?", (a,))
    report = _verify(db)
    assert _problems(report) == ["batch_root_differs"]
    assert report["problems"][0]["batch_root"] == root.hex()


async def test_swapping_the_first_and_last_records_is_named(
    db: Path, tamper: sqlite3.Connection
) -> None:
    batch = _batches(tamper)[0]
    first, last = batch[0][0], batch[-1][0]
    tamper.execute("UPDATE usage_records SET batch_pos = -1 WHERE record_id = ?", (first,))
    tamper.execute("UPDATE usage_records SET batch_pos = 0 WHERE record_id = ?", (last,))
    tamper.execute("UPDATE usage_records SET batch_pos = ? WHERE record_id = ?", (BATCH - 1, first))
    report = _verify(db)
    assert _problems(report) == ["first_or_last_differs", "batch_root_differs"]
    assert report["problems"][0]["record_ids"] == [last, first]


async def test_a_record_moved_to_another_batch_fails_both(
    db: Path, tamper: sqlite3.Connection
) -> None:
    batches = _batches(tamper)
    moved = batches[0][4][0]
    tamper.execute(
        "UPDATE usage_records SET batch_root = ?, batch_pos = ? WHERE record_id = ?",
        (batches[1][0][1], BATCH, moved),
    )
    report = _verify(db)
    assert sorted(_problems(report)) == ["records_added", "records_missing"]
    by_problem = {p["problem"]: p for p in report["problems"]}
    assert by_problem["records_missing"]["batch_root"] == batches[0][0][1].hex()
    assert by_problem["records_missing"]["positions"] == [4]
    assert by_problem["records_added"]["record_ids"] == [moved]


async def test_a_malformed_or_repeated_ledger_entry_is_reported(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "sidian.db")
    ledger = Ledger(store, PrivateKey.generate(), batch_interval=0.01)
    await ledger.start()
    root = "ab" * 32
    entry = {"kind": "usage.batch", "root": root, "count": 1, "first": "a", "last": "a"}
    await ledger.append({"kind": "usage.batch", "root": "zz", "count": 1})
    await ledger.append(entry)
    await ledger.append(entry)
    await ledger.close()
    try:
        report = verify_usage(store).to_json()
    finally:
        store.close()
    assert _problems(report) == ["malformed_entry", "batch_missing", "duplicate_entry"]


async def test_problems_are_capped(db: Path, tamper: sqlite3.Connection) -> None:
    for i in range(5):
        _forge(tamper, f"{i:024x}", bytes([i]) * 32, 0)
    store = SqliteStore.open(db)
    try:
        report = verify_usage(store, max_problems=3)
    finally:
        store.close()
    assert len(report.problems) == 3
    assert report.truncated is True
    assert report.ok is False


# ------------------------------------------------------------ query helpers --


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2026-11-27T10:00:00Z", 1795773600000),
        ("2026-11-27T18:00:00+08:00", 1795773600000),
        ("2026-11-27t10:00:00.5z", 1795773600500),
        ("2026-11-27T10:00:00.123456-01:30", 1795773600123 + 5400000),
    ],
)
def test_rfc3339_times(text: str, ms: int) -> None:
    assert parse_rfc3339_ms("since", text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-11-27",
        "2026-11-27T10:00:00",  # no offset
        "2026-11-27 10:00:00Z",
        "2026-13-27T10:00:00Z",
        "2026-11-27T25:00:00Z",
        "2026-11-27T10:00:00.1234567Z",
        "1795773600000",
        "\uff12\uff10\uff12\uff16-11-27T10:00:00Z",  # full-width digits
        "2026-11-27T10:00:00Z" + " " * 40,
    ],
)
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(AuditTimeError) as raised:
        parse_rfc3339_ms("since", text)
    assert raised.value.code == "invalid_time"


def _row(at: int, record_id: str) -> UsageRow:
    return UsageRow(record_id, at, None, "qr", None, "VALID", 0, "r", None, False, b"")


@given(st.integers(0, 10**16 - 1), st.binary(min_size=12, max_size=12))
def test_cursors_round_trip(at: int, raw_id: bytes) -> None:
    assert decode_cursor(encode_cursor(_row(at, raw_id.hex()))) == (at, raw_id.hex())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "!!",
        "x" * 65,
        encode_cursor(_row(5, "ab" * 12)) + "A",  # another spelling
        encode_cursor(_row(5, "AB" * 12)),
        encode_cursor(_row(5, "ab" * 11)),
        "MTIzLmFiYw",  # "123.abc"
        "é",
    ],
)
def test_bad_cursors_are_refused(text: str) -> None:
    with pytest.raises(AuditCursorError) as raised:
        decode_cursor(text)
    assert raised.value.code == "invalid_cursor"


@given(st.text(max_size=80))
def test_any_cursor_text_is_decoded_or_refused(text: str) -> None:
    try:
        at, record_id = decode_cursor(text)
    except AuditCursorError:
        return
    assert encode_cursor(_row(at, record_id)) == text
