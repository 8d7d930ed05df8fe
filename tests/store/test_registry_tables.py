"""The registry tables of the SQLite store: inserts, uniqueness, atomic
writes with a ledger batch, status compare-and-set, survival across reopen."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyservice.crypto import sm3
from pyservice.store import (
    ImportProgress,
    IssuerRow,
    KeyRow,
    LeafRow,
    LicenceTypeRow,
    NewLicence,
    RegistryWrites,
    StaleStatusError,
    StatusChange,
    Store,
    StoredSth,
    UniqueViolationError,
    open_store,
)
from pyservice.store.sqlite import SqliteStore

H = bytes(32)


def _issuer(store: Store) -> None:
    store.issuer_add(IssuerRow("430000", "湖南", "湖南省", 1))
    store.licence_type_add(
        LicenceTypeRow("T" * 18 + "001", "营业执照", "总局", "{}", ("holder.id",), 1)
    )


def _lic(i: int, offset: int, issuer: str = "430000") -> NewLicence:
    lid = f"L{i:06d}"
    return NewLicence(
        id=lid,
        ref=sm3(lid.encode())[:16],
        issuer_code=issuer,
        type_code="T" * 18 + "001",
        version=1,
        body=b"{}",
        signature=b"sig",
        kid="k",
        status="VALID",
        status_at=5,
        valid_until=None,
        supersedes=None,
        issued_at=5,
        entry_offset=offset,
        holder_key=bytes([i % 2]) * 16,
    )


def _batch(size: int, n: int) -> tuple[list[LeafRow], StoredSth]:
    leaves = [LeafRow(size + i, bytes([i + 1]) * 32, b"e", "licence.issued", 1) for i in range(n)]
    return leaves, StoredSth(size + n, H, 1, "kid", b"sig")


def test_issuers_keys_types_unique_and_listed(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "s.db")
    _issuer(store)
    with pytest.raises(UniqueViolationError):
        store.issuer_add(IssuerRow("430000", "x", "y", 2))
    key = KeyRow(
        "ab" * 8, "430000", "licence", b"\x04" * 65, b"n" * 12, b"w" * 48, 1, None, "active", 1
    )
    store.key_add(key)
    with pytest.raises(UniqueViolationError):
        store.key_add(key)
    new = KeyRow(
        "cd" * 8, "430000", "licence", b"\x04" * 65, b"n" * 12, b"w" * 48, 9, None, "active", 9
    )
    assert store.key_rotate(new, 9) == ["ab" * 8]
    rows = store.key_rows("430000", "licence")
    assert [(r.kid, r.status, r.valid_until) for r in rows] == [
        ("ab" * 8, "retired", 9),
        ("cd" * 8, "active", None),
    ]
    assert store.key_rows(purpose="qr") == []
    assert store.licence_type_get("T" * 18 + "001") is not None
    assert store.licence_type_get("T" * 18 + "001").sensitive == ("holder.id",)  # type: ignore[union-attr]
    assert [i.code for i in store.issuers()] == ["430000"]
    store.close()


def test_licences_commit_with_their_ledger_batch(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "s.db")
    _issuer(store)
    leaves, sth = _batch(0, 1)
    store.ledger_append(0, leaves, [], sth)
    leaves, sth = _batch(1, 3)
    store.ledger_append(
        1,
        leaves,
        [],
        sth,
        RegistryWrites(
            licences=[_lic(1, 0), _lic(2, 2)],
            import_progress=ImportProgress("job", "f", 10, 2, 1, 99, False),
        ),
    )
    lic = store.licence_get("L000002")
    assert lic is not None
    assert (lic.ledger_index, lic.status_idx) == (3, 1)
    assert store.licence_by_ref(sm3(b"L000001")[:16]).id == "L000001"  # type: ignore[union-attr]
    assert store.import_progress("job") == ImportProgress("job", "f", 10, 2, 1, 99, False)
    # A duplicate licence rolls back the whole batch, ledger included.
    leaves, sth = _batch(4, 1)
    with pytest.raises(UniqueViolationError):
        store.ledger_append(4, leaves, [], sth, RegistryWrites(licences=[_lic(1, 0)]))
    assert store.ledger_head().tree_size == 4  # type: ignore[union-attr]
    # An offset outside the batch is refused too.
    with pytest.raises(Exception, match="outside"):
        store.ledger_append(4, leaves, [], sth, RegistryWrites(licences=[_lic(9, 1)]))
    assert store.licence_get("L000009") is None
    store.close()


def test_status_change_is_compare_and_set(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "s.db")
    _issuer(store)
    leaves, sth = _batch(0, 1)
    store.ledger_append(0, leaves, [], sth, RegistryWrites(licences=[_lic(1, 0)]))
    change = StatusChange("L000001", "VALID", "SUSPENDED", "inspection", "officer 7", 10, 0)
    leaves, sth = _batch(1, 1)
    store.ledger_append(1, leaves, [], sth, RegistryWrites(status_changes=[change]))
    lic = store.licence_get("L000001")
    assert lic is not None
    assert (lic.status, lic.status_reason, lic.status_at) == ("SUSPENDED", "inspection", 10)
    # The same change again: the licence is no longer VALID; nothing commits.
    leaves, sth = _batch(2, 1)
    with pytest.raises(StaleStatusError):
        store.ledger_append(2, leaves, [], sth, RegistryWrites(status_changes=[change]))
    assert store.ledger_head().tree_size == 2  # type: ignore[union-attr]
    assert [e.ledger_index for e in store.status_events_after(0, 10)] == [1]
    assert store.status_events_after(1, 10) == []
    events = store.status_events("L000001")
    assert [(e.from_status, e.to_status, e.actor, e.ledger_index) for e in events] == [
        ("VALID", "SUSPENDED", "officer 7", 1)
    ]
    store.close()


def test_everything_survives_reopen(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    _issuer(store)
    leaves, sth = _batch(0, 2)
    store.ledger_append(0, leaves, [], sth, RegistryWrites(licences=[_lic(1, 0), _lic(2, 1)]))
    before = (
        store.issuers(),
        store.licence_types(),
        store.licence_get("L000001"),
        store.status_list("430000"),
        store.registry_counts(),
    )
    store.close()
    again = open_store(tmp_path)
    after = (
        again.issuers(),
        again.licence_types(),
        again.licence_get("L000001"),
        again.status_list("430000"),
        again.registry_counts(),
    )
    assert after == before
    assert after[4]["licences_by_status"] == {"VALID": 2}
    assert again.licences_existing(["L000001", "nope"]) == {"L000001"}
    assert again.licences_page("", 10) == ["L000001", "L000002"]
    assert again.licences_by_holder(bytes([1]) * 16) == ["L000001"]
    again.close()
