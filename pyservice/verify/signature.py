"""SM2 signature verification (``POST /v1/verify/signature``): parse the
request, then verify. Pure: the caller resolves a ``kid`` to its trust
entry and passes it in.

Request (JSON object, exactly one of each group):

- the signed content: ``data`` (base64 of the message ``M``; the signer ID
  ``uid``, base64, defaults to ``1234567812345678``) or ``digest`` (hex of
  the 32-byte ``e = SM3(Z_A ‖ M)``, the value SM2 signs, GB/T 32918.2);
- the key: ``public_key`` (hex or base64 of SEC1 or SPKI DER), ``kid`` (a
  key of the trust list) or ``certificate`` (an SM2 X.509 certificate,
  base64 DER or one PEM ``CERTIFICATE`` block; one that does not parse is
  400 ``malformed_certificate``);
- ``signature``: base64 of strict DER or raw 64-byte ``r ‖ s``.

Steps:

1. parse (bad input: ``MalformedInputError``, 400);
2. signer key: for a ``kid``, the key exists, is not compromised and is in
   force now (no signing time is given, so "now" is the only time that can
   be checked); a caller-supplied public key is the caller's to trust; for
   a certificate, the key is the certificate's and
   2a. ``certificate_validity``: now lies within its validity period;
   2b. ``certificate_key_usage``: its key usage, if present, includes
   digitalSignature or nonRepudiation (an encryption or CA-only key does
   not sign documents);
   2c. ``certificate_chain``: a chain of verified issuer signatures leads
   to one of the trust anchors, every certificate of it valid now (no
   anchors configured: not performed, so never ``VALID``);
3. signature: SM2 verifies over ``data`` (with ``uid``) or ``digest``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyservice.crypto import DEFAULT_UID, MAX_UID_LEN, PublicKey
from pyservice.errors import (
    InvalidSignatureError,
    MalformedCertificateError,
    MalformedInputError,
    SidianError,
)
from pyservice.registry.keys import TrustedKey, key_in_force
from pyservice.seal.native import CertSummary, certificate_summary, evaluate_chain
from pyservice.verify.result import Check, VerificationResult

__all__ = [
    "MAX_CERTIFICATE_BYTES",
    "MAX_DATA_BYTES",
    "SignatureRequest",
    "SignerCertificate",
    "parse_signature_request",
    "verify_signature",
]

#: Largest message accepted inline (base64-decoded).
MAX_DATA_BYTES: Final = 512 * 1024
#: Largest certificate accepted (DER).
MAX_CERTIFICATE_BYTES: Final = 16 * 1024
_KID: Final = re.compile(r"[0-9a-f]{16}")
_HEX: Final = re.compile(r"(?:[0-9a-fA-F]{2})+")
_FIELDS: Final = frozenset(
    {"data", "digest", "uid", "public_key", "kid", "certificate", "signature"}
)
#: Key usage bits 0 (digitalSignature) and 1 (nonRepudiation).
_SIGNING_USAGE: Final = 0b11
_PEM: Final = re.compile(
    r"\s*-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----\s*"
)


@dataclass(frozen=True, slots=True)
class SignerCertificate:
    """A parsed signer certificate: its DER and what the core read from it."""

    der: bytes
    summary: CertSummary


@dataclass(frozen=True, slots=True)
class SignatureRequest:
    signature: bytes
    data: bytes | None = None
    digest: bytes | None = None
    uid: bytes = DEFAULT_UID
    public_key: PublicKey | None = None
    kid: str | None = None
    certificate: SignerCertificate | None = None


def _b64(value: Any, what: str, max_len: int) -> bytes:
    if not isinstance(value, str) or len(value) > max_len * 4 // 3 + 4:
        raise MalformedInputError(f"{what} must be base64 of at most {max_len} bytes")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedInputError(f"{what} must be base64") from None


def _public_key(value: Any) -> PublicKey:
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise MalformedInputError("public_key must be hex or base64 of SEC1 or SPKI DER")
    raw = bytes.fromhex(value) if _HEX.fullmatch(value) else _b64(value, "public_key", 512)
    return PublicKey.from_bytes(raw)


def _certificate(value: Any) -> SignerCertificate:
    """Base64 DER or exactly one PEM block (nothing else around it), parsed
    by the core; anything else is ``MalformedCertificateError``."""
    limit = MAX_CERTIFICATE_BYTES * 4 // 3 + 4
    if not isinstance(value, str) or not value or len(value) > 2 * limit:
        raise MalformedCertificateError("certificate must be base64 DER or PEM")
    pem = _PEM.fullmatch(value)
    text = "".join(pem.group(1).split()) if pem else value
    if len(text) > limit:
        raise MalformedCertificateError(f"certificate larger than {MAX_CERTIFICATE_BYTES} bytes")
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedCertificateError("certificate must be base64 DER or PEM") from None
    try:
        summary = certificate_summary(der)
    except SidianError as exc:
        raise MalformedCertificateError(f"not an SM2 X.509 certificate: {exc}") from None
    return SignerCertificate(der, summary)


def _content(obj: Mapping[str, Any]) -> tuple[bytes | None, bytes | None, bytes]:
    """(data, digest, uid): what was signed."""
    if "data" not in obj:
        text = obj["digest"]
        if not isinstance(text, str) or len(text) != 64 or not _HEX.fullmatch(text):
            raise MalformedInputError("digest must be 64 hex digits")
        if "uid" in obj:
            raise MalformedInputError("uid applies to data only (a digest includes Z_A)")
        return None, bytes.fromhex(text), DEFAULT_UID
    data = _b64(obj["data"], "data", MAX_DATA_BYTES)
    uid = _b64(obj["uid"], "uid", MAX_UID_LEN) if "uid" in obj else DEFAULT_UID
    return data, None, uid


def parse_signature_request(obj: Any) -> SignatureRequest:
    """Step 1 (``MalformedInputError`` for anything but one well-formed request)."""
    if not isinstance(obj, Mapping):
        raise MalformedInputError("request must be a JSON object")
    extra = set(obj) - _FIELDS
    if extra:
        raise MalformedInputError(f"unknown fields: {', '.join(sorted(map(str, extra)))}")
    keys = [name for name in ("public_key", "kid", "certificate") if name in obj]
    if len(keys) != 1:
        raise MalformedInputError("give exactly one of public_key, kid, certificate")
    contents = [name for name in ("data", "digest") if name in obj]
    if len(contents) != 1:
        raise MalformedInputError("give exactly one of data, digest")
    signature = _b64(obj.get("signature"), "signature", 128)
    if not 64 <= len(signature) <= 72:
        raise MalformedInputError("signature must be DER or 64 raw bytes")
    data, digest, uid = _content(obj)
    if keys[0] == "certificate":
        cert = _certificate(obj["certificate"])
        try:
            key = PublicKey.from_bytes(cert.summary.public_key)
        except MalformedInputError as exc:
            raise MalformedCertificateError(f"certificate public key: {exc}") from None
        return SignatureRequest(signature, data, digest, uid, public_key=key, certificate=cert)
    if keys[0] == "kid":
        kid = obj["kid"]
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise MalformedInputError("kid must be 16 lowercase hex digits")
        return SignatureRequest(signature, data, digest, uid, kid=kid)
    return SignatureRequest(signature, data, digest, uid, public_key=_public_key(obj["public_key"]))


def _certificate_checks(
    cert: SignerCertificate, anchors: Sequence[bytes], now_s: int
) -> tuple[list[Check], str]:
    """Steps 2a-2c: the checks and the status they establish."""
    checks: list[Check] = []
    status = "VALID"
    # 2a. the signer certificate is within its validity period now
    summary = cert.summary
    if summary.not_before <= now_s <= summary.not_after:
        checks.append(Check("certificate_validity", True))
    elif now_s > summary.not_after:
        checks.append(Check("certificate_validity", False, "certificate expired"))
        status = "EXPIRED"
    else:
        checks.append(Check("certificate_validity", False, "certificate not yet valid"))
        status = "UNDETERMINED"
    # 2b. the key may sign: digitalSignature or nonRepudiation, if restricted
    usage = summary.key_usage
    if usage is None or usage & _SIGNING_USAGE:
        checks.append(Check("certificate_key_usage", True))
    else:
        checks.append(Check("certificate_key_usage", False, "key usage does not allow signing"))
    # 2c. a verified chain to a configured trust anchor, valid now
    if not anchors:
        checks.append(Check("certificate_chain", None, "no trust anchor configured"))
        return checks, "UNDETERMINED" if status == "VALID" else status
    outcome = evaluate_chain(cert.der, (), anchors, (now_s,))
    if outcome.path_len == 0:
        checks.append(Check("certificate_chain", False, "no chain to a trust anchor"))
        return checks, "UNDETERMINED" if status == "VALID" else status
    if not outcome.valid_at[0]:
        detail = "a certificate of the chain is outside its validity period"
        checks.append(Check("certificate_chain", False, detail))
        return checks, "EXPIRED"
    checks.append(Check("certificate_chain", True))
    return checks, status


def verify_signature(
    request: SignatureRequest,
    trusted: TrustedKey | None,
    *,
    now_ms: int,
    anchors: Sequence[bytes] = (),
) -> VerificationResult:
    """Steps 2-3. ``trusted`` is the trust entry of ``request.kid`` (``None``
    if unknown); ignored for a caller-supplied key. ``anchors`` (DER) are
    the trust anchors for a certificate."""
    checks: list[Check] = []
    status = "VALID"
    key = request.public_key
    if request.certificate is not None:
        checks, status = _certificate_checks(request.certificate, anchors, now_ms // 1000)
    # 2. signer key
    if request.kid is not None:
        if trusted is None:
            checks.append(Check("signer_key", False, f"unknown key {request.kid}"))
            status = "UNDETERMINED"
        elif not key_in_force(trusted, now_ms):
            checks.append(Check("signer_key", False, f"key {trusted.kid} not in force"))
            status = "REVOKED" if trusted.status == "compromised" else "EXPIRED"
            key = trusted.public_key
        else:
            checks.append(Check("signer_key", True))
            key = trusted.public_key
    # 3. signature
    if key is None:
        checks.append(Check("signature", None, "no key to verify with"))
    else:
        try:
            if request.digest is not None:
                key.verify_digest(request.digest, request.signature)
            else:
                key.verify(request.data or b"", request.signature, uid=request.uid)
            checks.append(Check("signature", True))
        except (InvalidSignatureError, MalformedInputError) as exc:
            checks.append(Check("signature", False, str(exc)))
    return VerificationResult(status=status, status_as_of=None, checks=checks)
