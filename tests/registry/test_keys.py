"""Keys: master key sources, wrapping (SM4-GCM, kid as associated data),
rotation, platform keys, lookups by kid."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from pyservice.crypto import PrivateKey
from pyservice.errors import InvalidTagError, MalformedInputError
from pyservice.registry.errors import NoActiveKeyError, UnknownKeyError
from pyservice.registry.keys import (
    MASTER_KEY_ENV,
    MASTER_KEY_FILE_ENV,
    ROTATION_GRACE_MS,
    KeyRing,
    key_in_force,
    load_master_key,
)
from pyservice.store import open_store


def test_master_key_sources(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = bytes(range(16))
    assert load_master_key(tmp_path, {MASTER_KEY_ENV: key.hex()}) == key
    for bad in ("zz", "00" * 15):
        with pytest.raises(MalformedInputError):
            load_master_key(tmp_path, {MASTER_KEY_ENV: bad})
    file = tmp_path / "elsewhere.key"
    file.write_bytes(key)
    assert load_master_key(tmp_path, {MASTER_KEY_FILE_ENV: str(file)}) == key
    file.write_bytes(b"short")
    with pytest.raises(MalformedInputError):
        load_master_key(tmp_path, {MASTER_KEY_FILE_ENV: str(file)})
    # First start: created in the data directory (0600), said so, never shown.
    data = tmp_path / "data"
    with caplog.at_level(logging.INFO):
        created = load_master_key(data, {})
    assert (data / "master.key").stat().st_mode & 0o777 == 0o600
    assert "created a new master key" in caplog.text
    assert created.hex() not in caplog.text
    assert load_master_key(data, {}) == created


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing(open_store(tmp_path), bytes(16))


def test_keys_are_wrapped_with_their_kid(keyring: KeyRing, tmp_path: Path) -> None:
    private = PrivateKey.generate()
    row = keyring.create("430000", "licence", key=private)
    assert row.kid == private.public_key().kid()
    assert private.to_bytes() not in row.wrapped_key
    assert keyring.private_key(row.kid).public_key() == private.public_key()
    assert "master" in repr(keyring)
    assert bytes(16).hex() not in repr(keyring)
    # The wrapped key only opens under its own kid and the right master key.
    other = KeyRing(keyring.store, bytes(range(16)))
    with pytest.raises(InvalidTagError):
        other.private_key(row.kid)
    moved = dataclasses.replace(row, kid="00" * 8)
    keyring.store.key_add(moved)
    with pytest.raises(InvalidTagError):
        KeyRing(keyring.store, bytes(16)).private_key(moved.kid)
    with pytest.raises(UnknownKeyError):
        keyring.private_key("ff" * 8)
    keyring.store.close()


def test_rotation_and_signing_key(keyring: KeyRing) -> None:
    with pytest.raises(NoActiveKeyError):
        keyring.signing_key("430000")
    first = keyring.create("430000", "licence", now_ms=1000)
    second = keyring.rotate("430000", "licence", now_ms=5000)
    assert keyring.signing_key("430000")[0].kid == second.kid
    old = keyring.trusted(first.kid)
    assert old is not None
    assert old.status == "retired"
    assert old.valid_until == 5000 + ROTATION_GRACE_MS
    assert key_in_force(old, 4999)
    assert key_in_force(old, 5000 + ROTATION_GRACE_MS - 1)
    assert not key_in_force(old, 5000 + ROTATION_GRACE_MS)
    assert not key_in_force(old, 999)
    keyring.store.key_set_status(second.kid, "compromised", None)
    compromised = keyring.trusted(second.kid)
    assert compromised is not None
    assert not key_in_force(compromised, 6000)
    keyring.store.close()


def test_platform_keys_and_verifiers(keyring: KeyRing) -> None:
    kid, qr = keyring.qr_signing_key()
    assert keyring.qr_signing_key()[0] == kid
    ledger = keyring.platform_key("ledger")
    assert ledger.public_key().kid() != kid
    verifier = keyring.verifier(kid)
    assert verifier is not None
    verifier.verify(b"m", qr.sign(b"m"))
    assert keyring.verifier(kid) is verifier  # cached
    assert keyring.verifier("ff" * 8) is None
    assert {(k.owner, k.purpose) for k in keyring.trust_list()} == {
        ("platform", "qr"),
        ("platform", "ledger"),
    }
    with pytest.raises(MalformedInputError):
        keyring.create("platform", "nonsense")
    keyring.store.close()
