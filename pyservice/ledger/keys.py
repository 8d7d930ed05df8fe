"""The platform ledger key — PROVISIONAL.

Until the registry issue brings key management (issuers, platform keys,
rotation, trust list), the ledger key lives in the data directory:

- ``master.key``: 16 random bytes (SM4 key), mode 0600, created on first start;
- ``ledger-key.json``: ``{"kid", "public_key" (hex SEC1), "nonce", "wrapped"}``,
  the 32-byte private scalar wrapped with SM4-GCM under the master key, the
  kid as associated data.

This module is the one place the registry issue replaces. The private key
is never logged (``PrivateKey``'s repr shows only its kid).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

from pyservice.crypto import PrivateKey, PublicKey, sm4_gcm_decrypt, sm4_gcm_encrypt
from pyservice.errors import MalformedInputError

__all__ = ["KEY_FILE", "MASTER_KEY_FILE", "load_ledger_public_key", "load_or_create_ledger_key"]

MASTER_KEY_FILE = "master.key"
KEY_FILE = "ledger-key.json"
_AAD_PREFIX = b"sidian ledger key v1 "


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _master_key(data_dir: Path) -> bytes:
    path = data_dir / MASTER_KEY_FILE
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            _write_private(path, secrets.token_bytes(16))
    key = path.read_bytes()
    if len(key) != 16:
        raise MalformedInputError(f"{path} must hold 16 bytes")
    return key


def load_or_create_ledger_key(data_dir: Path) -> PrivateKey:
    """The ledger key of ``data_dir``, generated and wrapped on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    master = _master_key(data_dir)
    path = data_dir / KEY_FILE
    if not path.exists():
        key = PrivateKey.generate()
        kid = key.public_key().kid()
        nonce = secrets.token_bytes(12)
        wrapped = sm4_gcm_encrypt(master, nonce, key.to_bytes(), _AAD_PREFIX + kid.encode())
        record = {
            "kid": kid,
            "public_key": key.public_key().to_bytes().hex(),
            "nonce": nonce.hex(),
            "wrapped": wrapped.hex(),
        }
        # If another process won the race, use its key.
        with contextlib.suppress(FileExistsError):
            _write_private(path, json.dumps(record).encode())
    record = json.loads(path.read_text(encoding="utf-8"))
    kid = record["kid"]
    scalar = sm4_gcm_decrypt(
        master,
        bytes.fromhex(record["nonce"]),
        bytes.fromhex(record["wrapped"]),
        _AAD_PREFIX + kid.encode(),
    )
    key = PrivateKey.from_bytes(scalar)
    if key.public_key().kid() != kid:
        raise MalformedInputError(f"{path}: key does not match its kid")
    return key


def load_ledger_public_key(data_dir: Path) -> PublicKey:
    """The ledger public key recorded in ``data_dir`` (no master key needed)."""
    record = json.loads((data_dir / KEY_FILE).read_text(encoding="utf-8"))
    return PublicKey.from_bytes(bytes.fromhex(record["public_key"]))
