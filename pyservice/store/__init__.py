"""The registry store: the source of truth (design README §Storage).

One interface, :class:`Store`, and one implementation so far,
:class:`~pyservice.store.sqlite.SqliteStore` (one WAL file in the data
directory, versioned migrations). Methods are synchronous and may block:
async code runs them in a thread (the ledger has a dedicated writer
thread). Every query is written so the same schema runs on PostgreSQL;
SQLite-only SQL lives in :mod:`pyservice.store.sqlite` alone.

Tables are grouped by area with a prefix (``ledger_*``, ``registry_*``, ``partner_*``).
"""

from __future__ import annotations

from pathlib import Path

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
    NewLicence,
    PartnerRow,
    RegistryWrites,
    SealCertRow,
    SealEventRow,
    SealRow,
    SealVersionRow,
    SealWrite,
    StaleStatusError,
    StatusChange,
    StatusEventRow,
    Store,
    StoredSth,
    StoreError,
    UniqueViolationError,
    UsageRow,
)
from pyservice.store.sqlite import SqliteStore

__all__ = [
    "AnnotationRow",
    "ApplicationDecision",
    "ApplicationRow",
    "ConsentRow",
    "DisclosureRow",
    "ImportProgress",
    "IssuerRow",
    "KeyRow",
    "LeafRow",
    "LedgerConflictError",
    "LicenceRow",
    "LicenceTypeRow",
    "NewLicence",
    "PartnerRow",
    "RegistryWrites",
    "SealCertRow",
    "SealEventRow",
    "SealRow",
    "SealVersionRow",
    "SealWrite",
    "SqliteStore",
    "StaleStatusError",
    "StatusChange",
    "StatusEventRow",
    "Store",
    "StoreError",
    "StoredSth",
    "UniqueViolationError",
    "UsageRow",
    "open_store",
]


def open_store(data_dir: Path) -> Store:
    """The store for a data directory (SQLite file ``sidian.db``), migrated."""
    return SqliteStore.open(data_dir / "sidian.db")
