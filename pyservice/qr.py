"""Typed Python API of the QR token (亮证码, formats.md §QR token).

This module is the QR facade over the native extension: the codec (strict
parse, signing, verification, the time window) runs in Rust
(``sidian_core::qr``); this module only checks argument types and ranges,
draws the nonce and wraps the fields in :class:`QrToken`.

- ``licence_ref(licence_id)``: the first 16 bytes of SM3(licence id, UTF-8);
- ``make_token(key, licence_id, *, now, lifetime=180, consent=False) -> str``:
  a fresh 139-character token signed by the platform QR key;
- ``decode_token(text) -> QrToken``: strict decode only (no signature or
  time check) — raises :class:`~pyservice.errors.MalformedTokenError`
  (code ``malformed_token``, a ``MalformedInputError``);
- ``verify_token(verifier, text, *, now) -> QrToken``: decode, then the time
  window ``issued_at - 30 ≤ now < issued_at + lifetime``
  (:class:`~pyservice.errors.TokenExpiredError` /
  :class:`~pyservice.errors.TokenNotYetValidError`), then the SM2 signature
  with a cached :class:`~pyservice.crypto.Sm2Verifier` of the platform QR
  key (:class:`~pyservice.errors.InvalidSignatureError`, also for a token
  of another key).

Tokens are secrets of the holder for their lifetime: never log them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pyservice import _core
from pyservice.crypto import PrivateKey, Sm2Verifier
from pyservice.errors import MalformedInputError, MalformedTokenError

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_LIFETIME",
    "FLAG_CONSENT",
    "MAX_LIFETIME",
    "TEXT_LEN",
    "TOKEN_LEN",
    "VERSION",
    "QrToken",
    "decode_token",
    "licence_ref",
    "make_token",
    "verify_token",
]

VERSION = 0x01
FLAG_CONSENT = 0x01
TOKEN_LEN = 104
TEXT_LEN = 139
MAX_LIFETIME = 3600
DEFAULT_LIFETIME = 180
CLOCK_SKEW = 30
_U32_MAX = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class QrToken:
    """The fields of a decoded token (``kid`` as 16 hex digits, like
    :meth:`~pyservice.crypto.PublicKey.kid`)."""

    version: int
    flags: int
    kid: str
    licence_ref: bytes
    issued_at: int
    lifetime: int
    nonce: bytes
    signature: bytes

    @property
    def consent(self) -> bool:
        """The holder consents to full disclosure to an authorised partner."""
        return bool(self.flags & FLAG_CONSENT)

    @property
    def expires_at(self) -> int:
        """First unix second at which the token is no longer accepted."""
        return self.issued_at + self.lifetime

    def __repr__(self) -> str:
        # The nonce and signature identify a live token: keep them out of logs.
        return (
            f"QrToken(kid={self.kid!r}, licence_ref={self.licence_ref.hex()!r}, "
            f"issued_at={self.issued_at}, lifetime={self.lifetime}, consent={self.consent})"
        )


def _token(fields: tuple[int, int, bytes, bytes, int, int, bytes, bytes]) -> QrToken:
    version, flags, kid, ref, issued_at, lifetime, nonce, signature = fields
    return QrToken(version, flags, kid.hex(), ref, issued_at, lifetime, nonce, signature)


def licence_ref(licence_id: str) -> bytes:
    """First 16 bytes of SM3(``licence_id`` as UTF-8)."""
    return _core.qr_licence_ref(licence_id.encode("utf-8"))


def make_token(
    key: PrivateKey,
    licence_id: str,
    *,
    now: int,
    lifetime: int = DEFAULT_LIFETIME,
    consent: bool = False,
) -> str:
    """A token for ``licence_id`` issued at ``now`` (unix seconds) and
    signed by the platform QR ``key``. ``ValueError`` for a lifetime outside
    1..=3600 s or a time outside the 32-bit field."""
    if not 1 <= lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime must be in 1..={MAX_LIFETIME} s, got {lifetime}")
    if not 0 <= now <= _U32_MAX:
        raise ValueError(f"issued-at {now} does not fit the 32-bit field")
    return _core.qr_sign(
        key,
        flags=FLAG_CONSENT if consent else 0,
        licence_ref=licence_ref(licence_id),
        issued_at=now,
        lifetime=lifetime,
        nonce=secrets.token_bytes(8),
    )


def _ascii(text: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedTokenError("QR token must be text")
    if len(text) != TEXT_LEN:
        raise MalformedTokenError(f"QR token: {len(text)} characters, expected {TEXT_LEN}")
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedTokenError("QR token: non-ASCII character") from None


def decode_token(text: str) -> QrToken:
    """Strict decode of a token's text form; no signature or time check."""
    raw = _ascii(text)
    try:
        return _token(_core.qr_decode(raw))
    except MalformedTokenError:
        raise
    except MalformedInputError as exc:
        raise MalformedTokenError(str(exc)) from None


def verify_token(verifier: Sm2Verifier, text: str, *, now: int) -> QrToken:
    """Decode, check the time window at ``now`` (unix seconds), verify the
    signature with the platform QR key's ``verifier``; the token on success."""
    raw = _ascii(text)
    if not 0 <= now < 1 << 64:
        raise ValueError("now must be a non-negative 64-bit unix time")
    try:
        return _token(_core.qr_verify(verifier, raw, now))
    except MalformedTokenError:
        raise
    except MalformedInputError as exc:
        raise MalformedTokenError(str(exc)) from None
