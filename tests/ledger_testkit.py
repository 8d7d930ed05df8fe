"""Helpers for the ledger tests: a real SQLite store and a real SM2 key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyservice.crypto import PrivateKey
from pyservice.ledger.entries import make_entry
from pyservice.ledger.keys import load_or_create_ledger_key
from pyservice.ledger.service import Ledger
from pyservice.store.sqlite import SqliteStore


def entry_fields(i: int) -> dict[str, Any]:
    return {"kind": "licence.issued", "at": 1_700_000_000_000 + i, "id": f"L{i}", "version": 1}


def build_ledger(data_dir: Path, batches: list[int]) -> tuple[SqliteStore, PrivateKey, Ledger]:
    """A store in ``data_dir`` with the ledger key there, and ``batches``
    committed synchronously (one STH each)."""
    key = load_or_create_ledger_key(data_dir)
    store = SqliteStore.open(data_dir / "sidian.db")
    ledger = Ledger(store, key)
    ledger.load()
    n = 0
    for size in batches:
        ledger.commit([make_entry(entry_fields(n + i)) for i in range(size)])
        n += size
    return store, key, ledger
