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
from pyservice.store.sqlite import BULK_CACHE_MIB, DEFAULT_CACHE_MIB, SqliteStore

__all__ = [
    "BULK_CACHE_MIB",
    "DEFAULT_CACHE_MIB",
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


def open_store(data_dir: Path, *, cache_mib: int = DEFAULT_CACHE_MIB) -> Store:
    """The store for a data directory (SQLite file ``sidian.db``), migrated;
    ``cache_mib`` of page cache per connection (:data:`BULK_CACHE_MIB` for
    bulk jobs)."""
    return SqliteStore.open(data_dir / "sidian.db", cache_mib=cache_mib)
