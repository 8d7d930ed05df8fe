"""Seal rows in the SQLite store (migration 6): written only inside a
ledger batch, guarded by the expected status and version, read back
byte for byte."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyservice.ledger.entries import make_entry
from pyservice.ledger.service import Ledger
from pyservice.store import (
    RegistryWrites,
    SealCertRow,
    SealEventRow,
    SealRow,
    SealVersionRow,
    SealWrite,
    StaleStatusError,
    StoreError,
    UniqueViolationError,
)
from pyservice.store.sqlite import MIGRATIONS
from tests.seal_testkit import open_seal_registry

ROW = SealRow(
    es_id="33010012345678",
    org_code="91330100MA0000000X",
    org_name="某公司",
    name="某公司公章",
    seal_type=1,
    picture_type="PNG",
    picture=b"\x00\x01png",
    width=40,
    height=40,
    signer_kid=None,
    signer_cert=None,
    valid_start=1,
    valid_end=2,
    status="applied",
    status_reason="申请",
    status_at=10,
    version=0,
    seal_der=None,
    applicant="张三",
    created_at=10,
    ledger_index=0,
)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    reg = open_seal_registry(tmp_path / "data")
    yield reg.ledger
    reg.store.close()


def _write(ledger: Ledger, write: SealWrite) -> int:
    (index,) = ledger.commit(
        [make_entry({"kind": "seal.status", "es_id": write.seal.es_id})],
        RegistryWrites(seals=[write]),
    )
    return index


def _event(action: str, frm: str | None, to: str) -> SealEventRow:
    return SealEventRow(ROW.es_id, 0, action, frm, to, "r", "a", 11)


def test_migration_6_is_the_seal_tables() -> None:
    assert any("seal_seals" in s for s in MIGRATIONS[6])


def test_insert_update_and_read_back(ledger: Ledger) -> None:
    store = ledger.store
    first = _write(ledger, SealWrite(ROW, None, 0, _event("apply", None, "applied"), 0))
    assert store.seal_get(ROW.es_id) == dataclasses.replace(ROW, ledger_index=first)
    made = dataclasses.replace(
        ROW, status="made", version=1, seal_der=b"\x30\x00", signer_kid="0" * 16, signer_cert=b"c"
    )
    version = SealVersionRow(ROW.es_id, 1, b"\x30\x00", b"h" * 32, 1, 2, 12, 0)
    second = _write(
        ledger, SealWrite(made, "applied", 0, _event("make", "applied", "made"), 0, version)
    )
    assert store.seal_get(ROW.es_id) == dataclasses.replace(made, ledger_index=second)
    assert store.seal_versions(ROW.es_id) == [dataclasses.replace(version, ledger_index=second)]
    assert [e.ledger_index for e in store.seal_events(ROW.es_id)] == [first, second]
    assert [r.es_id for r in store.seals(org_code=ROW.org_code, status="made")] == [ROW.es_id]
    assert store.seals(status="applied") == []
    assert store.registry_counts()["seals_by_status"] == {"made": 1}


def test_guards_roll_back_the_whole_batch(ledger: Ledger) -> None:
    store = ledger.store
    _write(ledger, SealWrite(ROW, None, 0, _event("apply", None, "applied"), 0))
    head = store.ledger_head()
    with pytest.raises(UniqueViolationError):
        _write(ledger, SealWrite(ROW, None, 0, _event("apply", None, "applied"), 0))
    approved = dataclasses.replace(ROW, status="approved")
    with pytest.raises(StaleStatusError):  # wrong expected status
        _write(ledger, SealWrite(approved, "made", 0, _event("approve", "made", "approved"), 0))
    with pytest.raises(StaleStatusError):  # wrong expected version
        _write(ledger, SealWrite(approved, "applied", 3, _event("approve", "applied", "x"), 0))
    with pytest.raises(StoreError):  # points outside its batch
        _write(ledger, SealWrite(approved, "applied", 0, _event("approve", "applied", "x"), 1))
    assert store.ledger_head() == head
    assert store.seal_get(ROW.es_id) == dataclasses.replace(ROW, ledger_index=0)
    assert len(store.seal_events(ROW.es_id)) == 1


def test_certificates(ledger: Ledger) -> None:
    store = ledger.store
    row = SealCertRow("a" * 16, "platform", "seal-ca", b"\x30\x03cer", 5)
    store.seal_cert_add(row)
    assert store.seal_cert_get("a" * 16) == row
    assert store.seal_cert_get("b" * 16) is None
    with pytest.raises(UniqueViolationError):
        store.seal_cert_add(row)
