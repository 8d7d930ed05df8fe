"""Per-issuer status lists for offline verifiers (formats.md §Status), in
the layout of the IETF Token Status List (draft-ietf-oauth-status-list,
"TSL"), signed with SM2.

Status list (TSL §4)
    2 bits per licence (``bits = 2``): 0 valid, 1 revoked or cancelled
    (TSL "INVALID"), 2 suspended, 3 reserved (never written). Entry ``i``
    lives in byte ``i // 4`` at bits ``2·(i % 4)`` and ``2·(i % 4) + 1``,
    counted from the least significant bit (TSL §4.1: index 0 is in the
    lowest bits of byte 0). A list has a multiple of 4 entries and at least
    :data:`MIN_ENTRIES` (131,072 = 2^17, so one licence's position reveals
    little), at most :data:`MAX_ENTRIES`. ``EXPIRED`` is derived from the
    licence's validity period and never appears in the list (TSL: the
    referenced token's own expiry takes precedence); ``UNDETERMINED`` is a
    result, never a status.

Compression
    formats.md says "gzip"; the TSL draft specifies DEFLATE in the ZLIB
    format (RFC 1950, RFC 1951) and that is what this module writes and
    reads (the draft's own example ``eNo76fITAAPfAgc`` is zlib), so any TSL
    implementation can inflate our lists. Decompression is bounded: the
    inflated size may not exceed ``MAX_ENTRIES / 4`` bytes.

Signed envelope (a compact JWS shape with SM2; byte-exact)
    ``token = B64(header) "." B64(payload) "." B64(signature)`` where

    - ``B64`` is base64url without padding (RFC 4648 §5); decoding is
      strict (URL-safe alphabet only, no ``=``, canonical trailing bits);
    - ``header`` = canonical JSON (RFC 8785, :func:`canonical_json`) of
      ``{"alg": "SM2-SM3", "kid": <16 lowercase hex: kid of the signing key>,
      "typ": "statuslist+jwt"}``;
    - ``payload`` = canonical JSON of ``{"exp": <unix s>, "iat": <unix s>,
      "status_list": {"bits": 2, "lst": B64(zlib(packed list))},
      "sub": <the list's URI or issuer id>, "ttl": <seconds>}``;
    - ``signature`` = SM2 over the ASCII bytes ``B64(header) "." B64(payload)``
      with the default signer ID (GM/T 0009 ``1234567812345678``), raw
      ``r ‖ s``, 64 bytes.

    A verifier rejects anything else: header and payload must be exactly
    the canonical JSON of exactly these members (so there is one encoding
    of each list), ``kid`` must be the verifying key's, the signature must
    verify, and ``iat - 30 <= now < exp``.

API: :class:`ListStatus`, :func:`list_status` (stored status name → value),
:class:`StatusList` (``from_statuses``, ``[index]``, ``set``, ``size``,
``to_bytes``, ``compress``/``decompress``), :func:`sign_status_list`,
:func:`verify_status_list` → :class:`SignedStatusList`.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

from pyservice.canonical import canonical_json
from pyservice.crypto import PrivateKey, Sm2Verifier
from pyservice.errors import (
    InvalidSignatureError,
    MalformedInputError,
    TokenExpiredError,
    TokenNotYetValidError,
)

__all__ = [
    "ALG",
    "BITS",
    "MAX_ENTRIES",
    "MAX_TOKEN_CHARS",
    "MIN_ENTRIES",
    "TYP",
    "ListStatus",
    "SignedStatusList",
    "StatusList",
    "list_status",
    "sign_status_list",
    "verify_status_list",
]

ALG = "SM2-SM3"
TYP = "statuslist+jwt"
BITS = 2
#: Smallest list published (TSL herd privacy; formats.md).
MIN_ENTRIES = 1 << 17
#: Largest list accepted (4 MiB packed).
MAX_ENTRIES = 1 << 24
_ENTRIES_PER_BYTE = 8 // BITS
_MAX_PACKED = MAX_ENTRIES // _ENTRIES_PER_BYTE
#: Longest token text accepted before any decoding (an incompressible
#: largest list in base64 is about 5.6 MB; real lists are a few kB).
MAX_TOKEN_CHARS = 6 << 20
_SKEW = 30
_B64_RE = re.compile(rb"[A-Za-z0-9_-]*")


class ListStatus(IntEnum):
    """The 2-bit values (TSL status types 0x00-0x03)."""

    VALID = 0
    INVALID = 1  # revoked or cancelled
    SUSPENDED = 2
    RESERVED = 3


_STORED = {
    "VALID": ListStatus.VALID,
    "REVOKED": ListStatus.INVALID,
    "CANCELLED": ListStatus.INVALID,
    "SUSPENDED": ListStatus.SUSPENDED,
}


def list_status(stored: str) -> ListStatus:
    """The list value of a stored status (``VALID``, ``SUSPENDED``,
    ``REVOKED``, ``CANCELLED``). ``EXPIRED`` and ``UNDETERMINED`` are never
    stored, so they raise ``ValueError`` like any other name."""
    try:
        return _STORED[stored]
    except KeyError:
        raise ValueError(f"not a stored licence status: {stored!r}") from None


class StatusList:
    """A packed 2-bit status list (a ``bytearray`` of ``size / 4`` bytes)."""

    __slots__ = ("_packed",)

    def __init__(self, size: int = MIN_ENTRIES) -> None:
        _check_size(size)
        self._packed = bytearray(size // _ENTRIES_PER_BYTE)

    @classmethod
    def from_bytes(cls, packed: bytes) -> StatusList:
        """A list from its packed bytes (4 entries per byte)."""
        _check_size(len(packed) * _ENTRIES_PER_BYTE)
        out = cls.__new__(cls)
        out._packed = bytearray(packed)
        return out

    @classmethod
    def from_statuses(
        cls,
        statuses: Mapping[int, int] | Iterable[tuple[int, int]],
        *,
        size: int = MIN_ENTRIES,
    ) -> StatusList:
        """A list of ``size`` entries, all valid except ``index → value``."""
        out = cls(size)
        items = statuses.items() if isinstance(statuses, Mapping) else statuses
        for index, value in items:
            out.set(index, value)
        return out

    @property
    def size(self) -> int:
        return len(self._packed) * _ENTRIES_PER_BYTE

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < self.size:
            raise IndexError(f"status list index {index} outside 0..{self.size - 1}")
        return index // _ENTRIES_PER_BYTE, (index % _ENTRIES_PER_BYTE) * BITS

    def __getitem__(self, index: int) -> ListStatus:
        byte, shift = self._locate(index)
        return ListStatus((self._packed[byte] >> shift) & 0b11)

    def set(self, index: int, value: int) -> None:
        """Sets entry ``index``; ``RESERVED`` (3) is never written."""
        if value not in (ListStatus.VALID, ListStatus.INVALID, ListStatus.SUSPENDED):
            raise ValueError(f"status list value must be 0, 1 or 2, got {value}")
        byte, shift = self._locate(index)
        self._packed[byte] = (self._packed[byte] & ~(0b11 << shift) & 0xFF) | (value << shift)

    def to_bytes(self) -> bytes:
        return bytes(self._packed)

    def compress(self) -> bytes:
        """DEFLATE in the ZLIB format (RFC 1950), best compression."""
        return zlib.compress(self._packed, 9)

    @classmethod
    def decompress(cls, data: bytes) -> StatusList:
        """Inflates a ZLIB stream, at most ``MAX_ENTRIES / 4`` bytes; a
        truncated stream, trailing bytes or a bigger output are malformed."""
        inflater = zlib.decompressobj()
        try:
            packed = inflater.decompress(data, _MAX_PACKED)
        except zlib.error as exc:
            raise MalformedInputError(f"status list: bad zlib stream: {exc}") from None
        if inflater.unconsumed_tail or not inflater.eof:
            raise MalformedInputError("status list: truncated or larger than allowed")
        if inflater.unused_data:
            raise MalformedInputError("status list: bytes after the zlib stream")
        try:
            return cls.from_bytes(packed)
        except ValueError as exc:
            raise MalformedInputError(f"status list: {exc}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StatusList) and self._packed == other._packed

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StatusList(size={self.size})"


def _check_size(size: int) -> None:
    if not MIN_ENTRIES <= size <= MAX_ENTRIES or size % _ENTRIES_PER_BYTE:
        raise ValueError(
            f"status list size must be a multiple of {_ENTRIES_PER_BYTE} "
            f"in {MIN_ENTRIES}..{MAX_ENTRIES}, got {size}"
        )


@dataclass(frozen=True, slots=True)
class SignedStatusList:
    """A verified status list token."""

    kid: str
    subject: str
    issued_at: int
    expires_at: int
    ttl: int
    status_list: StatusList


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(text: bytes, what: str) -> bytes:
    if not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedInputError(f"status list token: {what} is not base64url")
    data = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    if _b64(data) != text:
        raise MalformedInputError(f"status list token: {what} has non-canonical base64url")
    return data


def _header(kid: str) -> dict[str, Any]:
    return {"alg": ALG, "kid": kid, "typ": TYP}


def sign_status_list(
    key: PrivateKey,
    status_list: StatusList,
    *,
    subject: str,
    issued_at: int,
    expires_at: int,
    ttl: int,
) -> str:
    """The signed token of ``status_list`` (see the module docstring)."""
    if not issued_at < expires_at:
        raise ValueError("expires_at must be after issued_at")
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    header = canonical_json(_header(key.public_key().kid()))
    payload = canonical_json(
        {
            "exp": expires_at,
            "iat": issued_at,
            "status_list": {"bits": BITS, "lst": _b64(status_list.compress()).decode()},
            "sub": subject,
            "ttl": ttl,
        }
    )
    signing_input = _b64(header) + b"." + _b64(payload)
    signature = key.sign(signing_input, raw=True)
    return (signing_input + b"." + _b64(signature)).decode()


def _canonical_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedInputError(f"status list token: {what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedInputError(f"status list token: {what} is not an object")
    if canonical_json(value) != data:
        raise MalformedInputError(f"status list token: {what} is not canonical JSON")
    return value


def _int(payload: dict[str, Any], name: str) -> int:
    value = payload[name]
    if type(value) is not int or value < 0:
        raise MalformedInputError(f"status list token: {name} must be a non-negative integer")
    return value


def verify_status_list(verifier: Sm2Verifier, token: str, *, now: int) -> SignedStatusList:
    """Parses and verifies a status list token with the issuer's status-list
    key (``verifier`` built with the default ID) at ``now`` (unix seconds).

    Raises :class:`MalformedInputError` for anything not exactly in the
    format, :class:`InvalidSignatureError` for another key or a bad
    signature, :class:`TokenExpiredError` / :class:`TokenNotYetValidError`
    outside ``iat - 30 <= now < exp``.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise MalformedInputError("status list token: not text or too long")
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedInputError("status list token: non-ASCII character") from None
    parts = raw.split(b".")
    if len(parts) != 3:
        raise MalformedInputError("status list token: expected three dot-separated parts")
    header_b64, payload_b64, signature_b64 = parts
    header = _canonical_object(_unb64(header_b64, "header"), "header")
    kid = verifier.public_key.kid()
    if set(header) != {"alg", "kid", "typ"} or header["alg"] != ALG or header["typ"] != TYP:
        raise MalformedInputError("status list token: unexpected header")
    if header["kid"] != kid:
        raise InvalidSignatureError("status list token: signed by another key")
    signature = _unb64(signature_b64, "signature")
    if len(signature) != 64:
        raise MalformedInputError("status list token: signature must be 64 bytes (r ‖ s)")
    # Step 1: the signature, before the payload is interpreted any further.
    verifier.verify(header_b64 + b"." + payload_b64, signature)
    # Step 2: the payload's shape.
    payload = _canonical_object(_unb64(payload_b64, "payload"), "payload")
    if set(payload) != {"exp", "iat", "status_list", "sub", "ttl"}:
        raise MalformedInputError("status list token: unexpected payload members")
    lst = payload["status_list"]
    if not isinstance(lst, dict) or set(lst) != {"bits", "lst"} or lst["bits"] != BITS:
        raise MalformedInputError("status list token: status_list must be {bits: 2, lst}")
    if (
        not isinstance(lst["lst"], str)
        or not lst["lst"].isascii()
        or not isinstance(payload["sub"], str)
    ):
        raise MalformedInputError("status list token: lst and sub must be strings")
    issued_at, expires_at, ttl = _int(payload, "iat"), _int(payload, "exp"), _int(payload, "ttl")
    # Step 3: the time window.
    if now < issued_at - _SKEW:
        raise TokenNotYetValidError("status list token issued in the future")
    if now >= expires_at:
        raise TokenExpiredError("status list token has expired")
    # Step 4: the list itself.
    status_list = StatusList.decompress(_unb64(lst["lst"].encode("ascii"), "lst"))
    return SignedStatusList(
        kid=kid,
        subject=payload["sub"],
        issued_at=issued_at,
        expires_at=expires_at,
        ttl=ttl,
        status_list=status_list,
    )
