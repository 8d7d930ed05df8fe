"""Signing keys: the master key, wrapped private keys in the store, lookups.

- Master key (16-byte SM4 key): ``$SIDIAN_MASTER_KEY`` (32 hex digits), else
  the file named by ``$SIDIAN_MASTER_KEY_FILE``, else ``master.key`` in the
  data directory, created (mode 0600) on first start — which is logged,
  the key never is.
- Every key is a ``registry_keys`` row: owner (an issuer code or
  ``"platform"``), purpose (``licence``, ``qr``, ``ledger``), the public key,
  the private scalar wrapped with SM4-GCM under the master key (random
  12-byte nonce per key, the kid as associated data), validity window
  (unix ms) and status (``active``, ``retired``, ``compromised``).
- Private keys leave the store unwrapped only into a :class:`PrivateKey`
  used for signing (its repr shows the kid only).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pyservice.crypto import (
    PrivateKey,
    PublicKey,
    Sm2Verifier,
    hmac_sm3,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)
from pyservice.errors import MalformedInputError
from pyservice.registry.errors import NoActiveKeyError, UnknownKeyError
from pyservice.store import KeyRow, Store

__all__ = [
    "KEY_STATUSES",
    "MASTER_KEY_ENV",
    "MASTER_KEY_FILE",
    "MASTER_KEY_FILE_ENV",
    "PLATFORM",
    "PURPOSES",
    "ROTATION_GRACE_MS",
    "KeyRing",
    "TrustedKey",
    "key_in_force",
    "load_master_key",
    "write_private",
]

log = logging.getLogger(__name__)

MASTER_KEY_ENV: Final = "SIDIAN_MASTER_KEY"
MASTER_KEY_FILE_ENV: Final = "SIDIAN_MASTER_KEY_FILE"
MASTER_KEY_FILE: Final = "master.key"
PLATFORM: Final = "platform"
#: ``seal-ca``, ``seal-maker``: the platform's seal CA and seal-making key;
#: ``seal-signer``: an organisation's key for signing with its seals (held
#: for platform-hosted signing). Their certificates are kept in the store
#: with the seals (:mod:`pyservice.seal.registry`).
PURPOSES: Final = ("licence", "qr", "ledger", "seal-ca", "seal-maker", "seal-signer")
KEY_STATUSES: Final = ("active", "retired", "compromised")
#: A retired key stays in force this long after a rotation (signer caches
#: hold a key for at most a few seconds).
ROTATION_GRACE_MS: Final = 60_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) readable by its owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def load_master_key(data_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The 16-byte master key (see the module docstring for the sources)."""
    env = os.environ if environ is None else environ
    raw = env.get(MASTER_KEY_ENV)
    if raw:
        try:
            key = bytes.fromhex(raw.strip())
        except ValueError as exc:
            raise MalformedInputError(f"{MASTER_KEY_ENV} must be hex") from exc
        if len(key) != 16:
            raise MalformedInputError(f"{MASTER_KEY_ENV} must be 32 hex digits (16 bytes)")
        return key
    file_name = env.get(MASTER_KEY_FILE_ENV)
    if file_name:
        path = Path(file_name)
    else:
        path = data_dir / MASTER_KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                write_private(path, secrets.token_bytes(16))
                log.warning("created a new master key file %s (mode 0600); back it up", path)
    key = path.read_bytes()
    if len(key) != 16:
        raise MalformedInputError(f"{path} must hold 16 bytes")
    return key


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key with its owner, purpose, validity window and status (trust list entry)."""

    kid: str
    owner: str
    purpose: str
    public_key: PublicKey
    valid_from: int
    valid_until: int | None
    status: str

    @classmethod
    def from_row(cls, row: KeyRow) -> TrustedKey:
        return cls(
            row.kid,
            row.owner,
            row.purpose,
            PublicKey.from_bytes(row.public_key),
            row.valid_from,
            row.valid_until,
            row.status,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "owner": self.owner,
            "purpose": self.purpose,
            "public_key": self.public_key.to_bytes().hex(),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, obj: Any) -> TrustedKey:
        """Parse a trust-list entry (``MalformedInputError``)."""
        try:
            key = cls(
                str(obj["kid"]),
                str(obj["owner"]),
                str(obj["purpose"]),
                PublicKey.from_bytes(bytes.fromhex(obj["public_key"])),
                int(obj["valid_from"]),
                None if obj["valid_until"] is None else int(obj["valid_until"]),
                str(obj["status"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedInputError(f"malformed trust-list entry: {exc}") from exc
        if key.public_key.kid() != key.kid:
            raise MalformedInputError("trust-list entry: kid does not match its key")
        return key


def key_in_force(key: TrustedKey | KeyRow, at_ms: int) -> bool:
    """Whether a signature made at ``at_ms`` counts: the key is not
    compromised and ``valid_from <= at_ms < valid_until``."""
    if key.status == "compromised":
        return False
    return key.valid_from <= at_ms and (key.valid_until is None or at_ms < key.valid_until)


class KeyRing:
    """Key management over a store and the master key (thread-safe)."""

    def __init__(self, store: Store, master: bytes) -> None:
        if len(master) != 16:
            raise ValueError("master key must be 16 bytes")
        self.store = store
        self._master = master
        self._lock = threading.Lock()
        self._private: dict[str, PrivateKey] = {}
        self._verifiers: dict[str, Sm2Verifier] = {}

        # Derived keys (HMAC-SM3 of the master key with a label): one seals
        # licence bodies, one keys the holder lookup hash.
        self._body_key = hmac_sm3(master, b"sidian licence body v1")[:16]
        self._lookup_key = hmac_sm3(master, b"sidian holder lookup v1")
        self._usage_key = hmac_sm3(master, b"sidian usage target v1")

    def __repr__(self) -> str:
        return "KeyRing(<master key hidden>)"

    def subkey(self, label: str) -> bytes:
        """A 16-byte SM4 key derived from the master key for one purpose
        (HMAC-SM3 of ``label``): e.g. wrapping partner secrets."""
        return hmac_sm3(self._master, label.encode("utf-8"))[:16]

    # ---- classified data at rest (security.md) ---------------------------------

    def seal_body(self, licence_id: str, canonical: bytes) -> bytes:
        """``nonce ‖ SM4-GCM(body key, nonce, canonical, aad = licence id)``:
        a licence body as the store keeps it (the holder's name and ID
        number and every face field are classified or may be)."""
        nonce = secrets.token_bytes(12)
        return nonce + sm4_gcm_encrypt(self._body_key, nonce, canonical, licence_id.encode("utf-8"))

    def open_body(self, licence_id: str, sealed: bytes) -> bytes:
        """The canonical body (``InvalidTagError`` if it was altered or moved)."""
        if len(sealed) < 12 + 16:
            raise MalformedInputError("sealed licence body is too short")
        return sm4_gcm_decrypt(self._body_key, sealed[:12], sealed[12:], licence_id.encode("utf-8"))

    def holder_key(self, id_type: str, holder_id: str) -> bytes:
        """Keyed hash (HMAC-SM3, 16 bytes) for looking licences up by holder
        without storing the ID number in clear."""
        return hmac_sm3(self._lookup_key, f"{id_type}:{holder_id}".encode())[:16]

    def usage_target(self, licence_id: str) -> bytes:
        """Keyed hash (HMAC-SM3, 16 bytes) naming a licence in usage records,
        so the audit table links checks of one licence without holding its id."""
        return hmac_sm3(self._usage_key, licence_id.encode("utf-8"))[:16]

    # ---- creation ------------------------------------------------------------

    def _row(
        self,
        key: PrivateKey,
        owner: str,
        purpose: str,
        *,
        now_ms: int,
        valid_until: int | None,
    ) -> KeyRow:
        if purpose not in PURPOSES:
            raise MalformedInputError(f"key purpose must be one of {PURPOSES}")
        public = key.public_key()
        kid = public.kid()
        nonce = secrets.token_bytes(12)
        wrapped = sm4_gcm_encrypt(self._master, nonce, key.to_bytes(), kid.encode("ascii"))
        return KeyRow(
            kid=kid,
            owner=owner,
            purpose=purpose,
            public_key=public.to_bytes(),
            wrap_nonce=nonce,
            wrapped_key=wrapped,
            valid_from=now_ms,
            valid_until=valid_until,
            status="active",
            created_at=now_ms,
        )

    def create(
        self,
        owner: str,
        purpose: str,
        *,
        now_ms: int | None = None,
        valid_until: int | None = None,
        key: PrivateKey | None = None,
    ) -> KeyRow:
        """Generate (or adopt ``key``), wrap and store a new active key."""
        row = self._row(
            PrivateKey.generate() if key is None else key,
            owner,
            purpose,
            now_ms=_now_ms() if now_ms is None else now_ms,
            valid_until=valid_until,
        )
        self.store.key_add(row)
        return row

    def rotate(self, owner: str, purpose: str, *, now_ms: int | None = None) -> KeyRow:
        """A new active key; the owner's previous active keys of this purpose
        are retired: their window closes ``ROTATION_GRACE_MS`` from now (so
        a signer that cached the old key a moment ago still signs inside
        its window); what they signed before stays valid."""
        now = _now_ms() if now_ms is None else now_ms
        row = self._row(PrivateKey.generate(), owner, purpose, now_ms=now, valid_until=None)
        self.store.key_rotate(row, now + ROTATION_GRACE_MS)
        return row

    # ---- lookups ---------------------------------------------------------------

    def private_key(self, kid: str) -> PrivateKey:
        """The unwrapped private key of ``kid`` (cached in memory)."""
        with self._lock:
            cached = self._private.get(kid)
        if cached is not None:
            return cached
        row = self.store.key_get(kid)
        if row is None:
            raise UnknownKeyError(f"no key {kid}")
        scalar = sm4_gcm_decrypt(
            self._master, row.wrap_nonce, row.wrapped_key, row.kid.encode("ascii")
        )
        key = PrivateKey.from_bytes(scalar)
        if key.public_key().kid() != kid:
            raise MalformedInputError(f"stored key {kid} does not match its kid")
        with self._lock:
            self._private[kid] = key
        return key

    def active(self, owner: str, purpose: str, *, now_ms: int | None = None) -> KeyRow | None:
        """The newest active key of ``owner`` for ``purpose`` in force now."""
        now = _now_ms() if now_ms is None else now_ms
        rows = [
            r
            for r in self.store.key_rows(owner, purpose)
            if r.status == "active" and key_in_force(r, now)
        ]
        return rows[-1] if rows else None

    def signing_key(self, owner: str, purpose: str = "licence") -> tuple[KeyRow, PrivateKey]:
        """The active key to sign with (:class:`NoActiveKeyError` if none)."""
        row = self.active(owner, purpose)
        if row is None:
            raise NoActiveKeyError(f"{owner} has no active {purpose} key")
        return row, self.private_key(row.kid)

    def platform_key(self, purpose: str) -> PrivateKey:
        """The platform's key for ``purpose`` (``ledger``, ``qr``), created on
        first use. Should two processes create one at once, all settle on the
        oldest active one."""
        rows = [r for r in self.store.key_rows(PLATFORM, purpose) if r.status == "active"]
        if not rows:
            self.create(PLATFORM, purpose)
            rows = [r for r in self.store.key_rows(PLATFORM, purpose) if r.status == "active"]
        return self.private_key(rows[0].kid)

    def qr_signing_key(self) -> tuple[str, PrivateKey]:
        """The platform QR key and its kid (formats.md §QR token)."""
        key = self.platform_key("qr")
        return key.public_key().kid(), key

    def trusted(self, kid: str) -> TrustedKey | None:
        """Public key, owner, window and status of ``kid`` (any purpose)."""
        row = self.store.key_get(kid)
        return None if row is None else TrustedKey.from_row(row)

    def verifier(self, kid: str) -> Sm2Verifier | None:
        """A cached SM2 verifier (default signer ID) for ``kid``, or None.
        Callers still check the key's status and window (:func:`key_in_force`)."""
        with self._lock:
            cached = self._verifiers.get(kid)
        if cached is not None:
            return cached
        row = self.store.key_get(kid)
        if row is None:
            return None
        verifier = Sm2Verifier(PublicKey.from_bytes(row.public_key))
        with self._lock:
            self._verifiers[kid] = verifier
        return verifier

    def trust_list(self) -> list[TrustedKey]:
        """Every key's public part (issuers' and the platform's)."""
        return [TrustedKey.from_row(r) for r in self.store.key_rows()]

    def forget(self, kid: str) -> None:
        """Drop cached objects of ``kid`` (after a status change)."""
        with self._lock:
            self._private.pop(kid, None)
            self._verifiers.pop(kid, None)
