"""The partner tables of the SQLite store (migration 4): partners, access
applications with the atomic approve-and-grant, consents, disclosures;
migration 8: holder credentials' binding, declared purposes of usage
records and the per-licence usage query."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pyservice.store import (
    ApplicationDecision,
    ApplicationRow,
    ConsentRow,
    DisclosureRow,
    PartnerRow,
    UniqueViolationError,
)
from pyservice.store.sqlite import MIGRATIONS, SqliteStore


def _partner(pid: str = "p_1", **changes: Any) -> PartnerRow:
    row = PartnerRow(
        id=pid,
        name="合作方",
        contact="ops@example.cn",
        status="active",
        wrap_nonce=b"n" * 12,
        wrapped_secret=b"w" * 40,
        scopes=("verify:qr",),
        licence_types=("T1",),
        issuers=(),
        rate_per_s=12.5,
        single_use_tokens=True,
        created_at=1,
        secret_rotated_at=1,
    )
    return dataclasses.replace(row, **changes)


def _application(aid: str, pid: str = "p_1", submitted: int = 10) -> ApplicationRow:
    return ApplicationRow(
        id=aid,
        partner_id=pid,
        purpose="开户核验",
        scopes=("verify:licence", "verify:qr"),
        licence_types=("T1", "T2"),
        issuers=(),
        status="pending",
        submitted_at=submitted,
        due_at=submitted + 100,
    )


def test_partner_rows_round_trip_and_are_unique(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "s.db")
    assert store.schema_version() >= 4
    store.partner_add(_partner())
    with pytest.raises(UniqueViolationError):
        store.partner_add(_partner())
    assert store.partner_get("p_1") == _partner()
    assert store.partner_get("p_2") is None
    assert store.partner_set_status("p_1", "suspended")
    assert not store.partner_set_status("p_2", "suspended")
    assert store.partner_set_secret("p_1", b"m" * 12, b"v" * 40, 7)
    assert not store.partner_set_secret("p_2", b"m" * 12, b"v" * 40, 7)
    store.close()
    again = SqliteStore.open(tmp_path / "s.db")
    row = again.partner_get("p_1")
    assert row == _partner(
        status="suspended", wrap_nonce=b"m" * 12, wrapped_secret=b"v" * 40, secret_rotated_at=7
    )
    assert [r.id for r in again.partners()] == ["p_1"]
    again.close()


def test_approval_grants_exactly_what_was_approved_atomically(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "s.db")
    store.partner_add(_partner())
    store.application_add(_application("a1"))
    store.application_add(_application("a2", submitted=20))
    with pytest.raises(UniqueViolationError):
        store.application_add(_application("a1"))
    approve = ApplicationDecision(
        "a1", "approved", 50, "admin", "ok", scopes=("verify:licence",), licence_types=("T1",)
    )
    assert store.application_decide(approve)
    assert not store.application_decide(approve)  # no longer pending
    partner = store.partner_get("p_1")
    assert partner is not None
    assert (partner.scopes, partner.licence_types, partner.issuers) == (
        ("verify:licence",),
        ("T1",),
        (),
    )
    decided = store.application_get("a1")
    assert decided is not None
    assert (decided.status, decided.decided_at, decided.decided_by) == ("approved", 50, "admin")
    assert decided.granted_scopes == ("verify:licence",)
    reject = ApplicationDecision("a2", "rejected", 60, "admin", "用途不明")
    assert store.application_decide(reject)
    rejected = store.application_get("a2")
    assert rejected is not None
    assert rejected.reason == "用途不明"
    assert store.partner_get("p_1") == partner  # a rejection grants nothing
    assert [a.id for a in store.applications()] == ["a1", "a2"]
    assert [a.id for a in store.applications(status="rejected")] == ["a2"]
    assert store.applications(partner_id="p_9") == []
    # An application of an unknown partner cannot be approved (rolled back).
    store.application_add(_application("a3", pid="p_9"))
    with pytest.raises(Exception, match="unknown partner"):
        store.application_decide(ApplicationDecision("a3", "approved", 70, "admin", "ok"))
    still = store.application_get("a3")
    assert still is not None
    assert still.status == "pending"
    store.close()


def test_consents_and_disclosures(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "s.db")
    store.consent_put(ConsentRow("L1", "p_1", 5, None))
    store.consent_put(ConsentRow("L1", "p_1", 6, 100))  # replaces
    assert store.consent_get("L1", "p_1") == ConsentRow("L1", "p_1", 6, 100)
    assert store.consent_get("L1", "p_2") is None
    assert store.consent_delete("L1", "p_1")
    assert not store.consent_delete("L1", "p_1")
    first = store.disclosure_add(DisclosureRow(1, "p_1", "L1", ("holder.id",), "grant", "r1"))
    second = store.disclosure_add(DisclosureRow(2, "p_2", "L2", ("holder.name",), "qr", "r2"))
    assert second > first
    assert [d.request_id for d in store.disclosures()] == ["r1", "r2"]
    assert store.disclosures(licence_id="L2") == [
        DisclosureRow(2, "p_2", "L2", ("holder.name",), "qr", "r2", second)
    ]
    assert [d.seq for d in store.disclosures(partner_id="p_1")] == [first]
    store.close()


def test_migration_8_adds_holder_binding_and_purpose_to_existing_rows(tmp_path: Path) -> None:
    """A store from before migration 8 keeps its partners (as partners, no
    holder) and usage records (no purpose, the same leaf) after upgrading."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)")
    for version in sorted(v for v in MIGRATIONS if v < 8):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
    old = _partner()
    conn.execute(
        "INSERT INTO partner_accounts (id, name, contact, status, wrap_nonce, wrapped_secret, "
        "scopes, licence_types, issuers, rate_per_s, single_use_tokens, created_at, "
        "secret_rotated_at) VALUES (?, ?, ?, ?, ?, ?, '[\"verify:qr\"]', '[\"T1\"]', '[]', "
        "12.5, 1, 1, 1)",
        (old.id, old.name, old.contact, old.status, old.wrap_nonce, old.wrapped_secret),
    )
    conn.execute(
        "INSERT INTO usage_records VALUES ('r1', 5, 'p_1', 'qr', ?, 'VALID', 1, 'q', NULL, 0, "
        "?, 0)",
        (b"\x01" * 16, b"\x00" * 32),
    )
    conn.commit()
    conn.close()

    store = SqliteStore.open(path)
    assert store.schema_version() == max(MIGRATIONS)
    assert store.partner_get("p_1") == old
    (record,) = store.usage_query(target=b"\x01" * 16, limit=10)
    assert (record.record_id, record.purpose) == ("r1", None)
    # new rows carry both
    store.partner_add(_partner("h_1", scopes=("holder",), holder_key=b"k" * 16))
    assert store.partner_get("h_1") == _partner("h_1", scopes=("holder",), holder_key=b"k" * 16)
    store.usage_append([record._replace(record_id="r2", at=6, purpose="开户")])
    assert [(r.record_id, r.purpose) for r in store.usage_query(target=b"\x01" * 16, limit=10)] == [
        ("r2", "开户"),
        ("r1", None),
    ]
    assert [
        r.record_id for r in store.usage_query(target=b"\x01" * 16, before=(6, "r2"), limit=10)
    ] == ["r1"]
    assert store.usage_query(target=b"\x02" * 16, limit=10) == []
    assert [r.record_id for r in store.usage_batch(b"\x00" * 32, 100)] == ["r1", "r2"]
    store.close()
