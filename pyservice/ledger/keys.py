"""The platform ledger key: a ``platform``/``ledger`` row of the registry's
key table (:mod:`pyservice.registry.keys`), wrapped under the master key.

A data directory from before the key table (``ledger-key.json``, wrapped
with the associated data ``"sidian ledger key v1 " + kid``) is adopted on
first use: the same key moves into the table, so earlier tree heads keep
verifying; the file is then left alone (it is no longer read).
"""

from __future__ import annotations

import json
from pathlib import Path

from pyservice.crypto import PrivateKey, PublicKey, sm4_gcm_decrypt
from pyservice.errors import MalformedInputError
from pyservice.registry.keys import MASTER_KEY_FILE, PLATFORM, KeyRing, load_master_key
from pyservice.store import Store, open_store

__all__ = [
    "LEGACY_KEY_FILE",
    "MASTER_KEY_FILE",
    "ledger_key",
    "ledger_public_key",
    "load_ledger_public_key",
    "load_or_create_ledger_key",
]

LEGACY_KEY_FILE = "ledger-key.json"
_LEGACY_AAD_PREFIX = b"sidian ledger key v1 "


def _adopt_legacy(keyring: KeyRing, data_dir: Path, master: bytes) -> None:
    path = data_dir / LEGACY_KEY_FILE
    if not path.is_file() or keyring.store.key_rows(PLATFORM, "ledger"):
        return
    record = json.loads(path.read_text(encoding="utf-8"))
    kid = record["kid"]
    scalar = sm4_gcm_decrypt(
        master,
        bytes.fromhex(record["nonce"]),
        bytes.fromhex(record["wrapped"]),
        _LEGACY_AAD_PREFIX + kid.encode(),
    )
    key = PrivateKey.from_bytes(scalar)
    if key.public_key().kid() != kid:
        raise MalformedInputError(f"{path}: key does not match its kid")
    keyring.create(PLATFORM, "ledger", key=key, now_ms=0)


def ledger_key(store: Store, data_dir: Path) -> PrivateKey:
    """The platform ledger key of the store, created on first use."""
    master = load_master_key(data_dir)
    keyring = KeyRing(store, master)
    _adopt_legacy(keyring, data_dir, master)
    return keyring.platform_key("ledger")


def ledger_public_key(store: Store) -> PublicKey:
    """The (oldest active) platform ledger public key; no master key needed."""
    rows = [r for r in store.key_rows(PLATFORM, "ledger") if r.status == "active"]
    if not rows:
        raise MalformedInputError("the store has no platform ledger key")
    return PublicKey.from_bytes(rows[0].public_key)


def load_or_create_ledger_key(data_dir: Path) -> PrivateKey:
    """The ledger key of the store in ``data_dir`` (opened for the call)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(data_dir)
    try:
        return ledger_key(store, data_dir)
    finally:
        store.close()


def load_ledger_public_key(data_dir: Path) -> PublicKey:
    """The ledger public key recorded in ``data_dir``'s store."""
    store = open_store(data_dir)
    try:
        return ledger_public_key(store)
    finally:
        store.close()
