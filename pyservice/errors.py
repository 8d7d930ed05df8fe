"""Exceptions of Sidian Verify.

The native module (``pyservice._core``) imports these classes and raises
them, so crypto failures are ordinary Python exceptions that the service
catches and renders. Each class carries a stable ``code`` (the ``code`` of
the JSON error shape in api.md) and the HTTP status it maps to when it
escapes a handler.

This module must not import anything from the package: the native module
imports it while ``pyservice.crypto`` is being imported.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "InvalidProofError",
    "InvalidSignatureError",
    "InvalidTagError",
    "MalformedCertificateError",
    "MalformedInputError",
    "MalformedTokenError",
    "NonceCheckUnavailableError",
    "NotFoundError",
    "OfdMalformedError",
    "OfdTooLargeError",
    "SidianError",
    "StatusUnavailableError",
    "StoreUnavailableError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenTimeError",
    "TreeSizeBeyondCurrentError",
    "UnknownLeafError",
    "UnknownTreeHeadError",
]


class SidianError(Exception):
    """Base of every error the project raises on purpose."""

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500


class MalformedInputError(SidianError, ValueError):
    """Bytes that cannot be parsed: bad DER or PEM, wrong length, a point not
    on the curve, a scalar out of range, a signer ID that is too long."""

    code = "malformed_input"
    http_status = 400


class MalformedTokenError(MalformedInputError):
    """A QR token that is not 139 characters of canonical base64url of a
    well-formed 104-byte token (formats.md §QR token)."""

    code = "malformed_token"


class MalformedCertificateError(MalformedInputError):
    """A certificate in a request that is not one well-formed SM2 X.509
    certificate (bad base64 or PEM, truncated, trailing bytes, not SM2)."""

    code = "malformed_certificate"


class OfdMalformedError(MalformedInputError):
    """An OFD package that cannot be read safely or lacks a part it names:
    not a zip, unsafe entry names, bad XML, a missing Signatures.xml or
    Signature.xml. ``reason`` is a stable sub-code (``not_zip``,
    ``unsafe_path``, ``xml_forbidden``, ``missing_part``, …)."""

    code = "malformed_ofd"
    http_status = 400

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class OfdTooLargeError(OfdMalformedError):
    """An OFD package over a bound: too many entries, an entry or the total
    uncompressed size too large, a suspicious compression ratio (zip bomb),
    XML nested too deeply."""

    code = "ofd_too_large"
    http_status = 413


class InvalidSignatureError(SidianError):
    """A well-formed signature that does not verify."""

    code = "invalid_signature"
    http_status = 422


class InvalidTagError(SidianError):
    """An SM4-GCM authentication tag that does not match (wrong key, nonce,
    associated data, or tampered ciphertext)."""

    code = "invalid_tag"
    http_status = 422


class InvalidProofError(SidianError):
    """A ledger (Merkle) proof that does not verify."""

    code = "invalid_proof"
    http_status = 422


class TokenTimeError(SidianError):
    """A token outside its time window (QR token: ``issued_at - 30 s ≤ now <
    issued_at + lifetime``)."""

    code = "token_time"
    http_status = 422


class TokenExpiredError(TokenTimeError):
    """A token (QR token, status list token) whose lifetime has ended."""

    code = "token_expired"


class TokenNotYetValidError(TokenTimeError):
    """A token issued more than the allowed clock skew in the future."""

    code = "token_not_yet_valid"


class StatusUnavailableError(SidianError):
    """Neither the status cache nor the registry store could give a licence
    status now. Verification turns this into ``UNDETERMINED`` naming the
    status check; it is never read as valid."""

    code = "status_unavailable"
    http_status = 503


class NonceCheckUnavailableError(SidianError):
    """A single-use nonce could not be recorded (Redis unreachable), so a
    replay cannot be ruled out: the request is refused, never let through."""

    code = "nonce_check_unavailable"
    http_status = 503


class StoreUnavailableError(SidianError):
    """The registry store did not answer (closed, locked, disk error): the
    request cannot be served now; a verification names the check instead."""

    code = "store_unavailable"
    http_status = 503


class NotFoundError(SidianError):
    """An unknown resource."""

    code = "not_found"
    http_status = 404


class UnknownLeafError(NotFoundError):
    """No ledger entry has this leaf hash (in the tree size asked for)."""

    code = "unknown_leaf"


class UnknownTreeHeadError(NotFoundError):
    """No signed tree head was published for this tree size."""

    code = "unknown_tree_head"


class TreeSizeBeyondCurrentError(NotFoundError):
    """A tree size larger than the ledger's current (committed) size."""

    code = "tree_size_beyond_current"
