"""The platform ledger key: a key-table row; a pre-table ledger-key.json is adopted."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from pyservice.crypto import PrivateKey, sm4_gcm_encrypt
from pyservice.ledger.keys import (
    LEGACY_KEY_FILE,
    ledger_public_key,
    load_ledger_public_key,
    load_or_create_ledger_key,
)
from pyservice.registry.keys import load_master_key
from pyservice.store import open_store


def test_legacy_key_file_is_adopted(tmp_path: Path) -> None:
    master = load_master_key(tmp_path, {})
    old = PrivateKey.generate()
    kid = old.public_key().kid()
    nonce = secrets.token_bytes(12)
    wrapped = sm4_gcm_encrypt(
        master, nonce, old.to_bytes(), b"sidian ledger key v1 " + kid.encode()
    )
    (tmp_path / LEGACY_KEY_FILE).write_text(
        json.dumps({"kid": kid, "public_key": "", "nonce": nonce.hex(), "wrapped": wrapped.hex()})
    )
    assert load_or_create_ledger_key(tmp_path).public_key() == old.public_key()
    assert load_ledger_public_key(tmp_path) == old.public_key()
    store = open_store(tmp_path)
    assert ledger_public_key(store) == old.public_key()
    (row,) = store.key_rows("platform", "ledger")
    assert row.kid == kid
    assert row.valid_from == 0  # it signed tree heads before the table existed
    store.close()


def test_fresh_data_dir_gets_one_ledger_key(tmp_path: Path) -> None:
    first = load_or_create_ledger_key(tmp_path)
    assert load_or_create_ledger_key(tmp_path).public_key() == first.public_key()
    store = open_store(tmp_path)
    assert len(store.key_rows("platform", "ledger")) == 1
    store.close()
