"""Typed Python API over the Rust core (GB/T 32905 SM3, GB/T 32918 SM2,
GB/T 32907 SM4 in GCM mode per RFC 8998, HMAC-SM3).

This is the only module that imports the native extension. Failures raise
the exceptions of :mod:`pyservice.errors`:

- :class:`~pyservice.errors.MalformedInputError` (a ``ValueError``) for bytes
  that cannot be parsed: bad DER/PEM, wrong length, a point not on the
  curve, a scalar out of range, a signer ID over ``MAX_UID_LEN`` bytes;
- :class:`~pyservice.errors.InvalidSignatureError` for a signature that does
  not verify (``verify`` returns ``None`` or raises, never ``False``);
- :class:`~pyservice.errors.InvalidTagError` for SM4-GCM tag mismatch.

A panic in the core is a bug; it arrives as :class:`PanicException` (a
``BaseException``, like PyO3 raises it) instead of aborting the process.

Summary (all byte arguments are ``bytes``):

- ``sm3(data)``, ``Sm3(data=b"")`` with ``update``/``digest``/``hexdigest``/``copy``,
  ``hmac_sm3(key, data)``;
- ``PrivateKey.generate()/from_bytes/from_der/from_pem``, ``.public_key()``,
  ``.sign(message, *, uid=DEFAULT_UID, raw=False)`` (DER, or raw ``r ‖ s``),
  ``.sign_digest(e)``, ``.to_bytes()/to_der()/to_pem()``; its ``repr`` shows
  only the key id;
- ``PublicKey.from_bytes(data)`` (SEC1 or SPKI DER) ``/from_pem``,
  ``.to_bytes(compressed=False)/to_der()/to_pem()``, ``.kid()`` (16 hex
  digits), ``.za(uid)``, ``.verify(message, signature, *, uid)``,
  ``.verify_digest(e, signature)``; signatures are strict DER or raw 64-byte
  ``r ‖ s``;
- ``Sm2Verifier(public_key, *, uid)`` caches Z_A (and the core's tables) for a
  recurring key;
- ``sm2_verify(public_key, message, signature, *, uid)`` and
  ``sm2_verify_batch(items, *, uid) -> list[bool]`` (all cores, GIL released);
- ``sm4_gcm_encrypt(key, nonce, plaintext, aad=b"") -> ciphertext ‖ tag`` and
  ``sm4_gcm_decrypt(key, nonce, ciphertext, aad=b"")``.
"""

from __future__ import annotations

from pyservice._core import (
    DEFAULT_UID,
    MAX_UID_LEN,
    PanicException,
    PrivateKey,
    PublicKey,
    Sm2Verifier,
    Sm3,
    hmac_sm3,
    sm2_verify,
    sm2_verify_batch,
    sm3,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)

__all__ = [
    "DEFAULT_UID",
    "MAX_UID_LEN",
    "PanicException",
    "PrivateKey",
    "PublicKey",
    "Sm2Verifier",
    "Sm3",
    "hmac_sm3",
    "sm2_verify",
    "sm2_verify_batch",
    "sm3",
    "sm4_gcm_decrypt",
    "sm4_gcm_encrypt",
]
