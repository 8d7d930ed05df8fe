"""Verification of one OFD signature from bytes already read (no I/O, no
policy). The steps, in order:

1. ``References``: the ``CheckMethod`` is SM3 (``1.2.156.10197.1.401`` or
   ``SM3``), there is at least one ``Reference``, and each referenced file
   exists and hashes to its ``CheckValue``;
2. the signed value parses (SES V1/V4/V5 or GB/T 35275) — else
   :class:`~pyservice.errors.MalformedInputError` from the core;
3. ``dataHash == SM3(Signature.xml)`` (SignedData: the content or
   messageDigest covers ``Signature.xml``);
4. the signer's SM2 signature over the original ``TBS_Sign`` (or the
   SignedData signer info);
5. seals only: the seal maker's signature, the signing time within the
   seal's validity window, and the signer's certificate in the seal's list.

Trust (certificate chains) and the document's verdict are
:mod:`pyservice.seal.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyservice.crypto import sm3
from pyservice.errors import MalformedInputError
from pyservice.seal.native import (
    SignedValueReport,
    check_signed_value,
    check_signed_value_sm3,
)
from pyservice.seal.ofdxml import SignatureEntry, SignatureXml
from pyservice.seal.report import Check

__all__ = [
    "SM3_CHECK_METHODS",
    "DigestCache",
    "SignatureFacts",
    "SignatureParts",
    "value_checks",
    "verify_signature",
    "verify_signed_value",
]

#: CheckMethod values meaning SM3 (GB/T 33190 writes the OID; many
#: producers write the name).
SM3_CHECK_METHODS = frozenset({"1.2.156.10197.1.401", "sm3"})


class DigestCache:
    """SM3 of each file once per document, however many References (in
    however many signatures) name it: the package keeps one ``bytes`` object
    per entry, so identity is the key (the object is held, so its id stays
    unique)."""

    def __init__(self) -> None:
        self._digests: dict[int, tuple[bytes, bytes]] = {}

    def sm3(self, data: bytes) -> bytes:
        hit = self._digests.get(id(data))
        if hit is not None and hit[0] is data:
            return hit[1]
        digest = sm3(data)
        self._digests[id(data)] = (data, digest)
        return digest


@dataclass(frozen=True, slots=True)
class SignatureParts:
    """Everything read from the package for one signature."""

    entry: SignatureEntry
    signature_xml_path: str
    signature_xml: bytes
    parsed: SignatureXml
    signed_value_path: str
    signed_value: bytes
    #: FileRef as written → the file's bytes, or ``None`` if it is missing.
    referenced: dict[str, bytes | None]


@dataclass(frozen=True, slots=True)
class SignatureFacts:
    """The outcome of steps 1-5."""

    parts: SignatureParts
    value: SignedValueReport
    references_failed: list[str]
    checks: list[Check]


def _check_references(parts: SignatureParts, digests: DigestCache) -> tuple[list[str], list[Check]]:
    method = parts.parsed.check_method
    refs = parts.parsed.references
    checks: list[Check] = []
    method_ok = method is not None and method.strip().lower() in SM3_CHECK_METHODS
    checks.append(
        Check(
            "check_method",
            method_ok,
            None if method_ok else f"CheckMethod {method!r} is not SM3",
        )
    )
    failed: list[str] = []
    reasons: list[str] = []
    for ref in refs:
        data = parts.referenced.get(ref.file_ref)
        if data is None:
            failed.append(ref.file_ref)
            reasons.append(f"{ref.file_ref}: missing")
        elif not method_ok or ref.check_value is None or digests.sm3(data) != ref.check_value:
            failed.append(ref.file_ref)
            if ref.check_value is None:
                reasons.append(f"{ref.file_ref}: CheckValue is not base64")
    if not refs:
        checks.append(Check("references", False, "no Reference: the signature covers no file"))
    else:
        detail = None
        if failed:
            detail = f"{len(failed)} of {len(refs)} fail: " + ", ".join(failed)
            if reasons:
                detail += " (" + "; ".join(reasons) + ")"
        checks.append(Check("references", not failed, detail))
    return failed, checks


def verify_signature(parts: SignatureParts, digests: DigestCache | None = None) -> SignatureFacts:
    """Steps 1-5 for one signature (``digests``: share file digests between
    the signatures of one document)."""
    # 1. References.
    failed, checks = _check_references(parts, digests or DigestCache())
    # 2. Parse the signed value (raises MalformedInputError) and run its checks.
    value = check_signed_value(parts.signed_value, parts.signature_xml)
    checks += value_checks(value, "this Signature.xml")
    return SignatureFacts(parts=parts, value=value, references_failed=failed, checks=checks)


def value_checks(value: SignedValueReport, signed: str) -> list[Check]:
    """Steps 3-5 from a signed value's facts (``signed`` names the data)."""
    checks: list[Check] = []
    # 3. dataHash over the signed data.
    checks.append(
        Check(
            "data_hash",
            value.data_hash_ok,
            None if value.data_hash_ok else f"the signed value does not cover {signed}",
        )
    )
    # 4. The signer's signature.
    checks.append(Check("signature", value.signature_ok, value.signature_error))
    # 5. The seal.
    if value.seal_signature_ok is not None:
        checks.append(Check("seal_signature", value.seal_signature_ok, value.seal_signature_error))
        start, end, at = value.seal_valid_start, value.seal_valid_end, value.signed_at
        in_window = start is not None and end is not None and at is not None and start <= at <= end
        checks.append(
            Check(
                "seal_validity",
                in_window,
                None if in_window else "signing time outside the seal's validity (or unknown)",
            )
        )
        listed = bool(value.signer_in_seal_cert_list)
        checks.append(
            Check(
                "signer_in_seal",
                listed,
                None
                if listed
                else "the signer's certificate is not in the seal's certificate list",
            )
        )
    return checks


def verify_signed_value(
    signed_value: bytes, *, data: bytes | None = None, data_sm3: bytes | None = None
) -> tuple[SignedValueReport, list[Check]]:
    """Steps 2-5 for a signed value on its own (a ``SignedValue.dat`` and the
    signed bytes, or only their SM3). Exactly one of ``data``/``data_sm3``."""
    if data is not None and data_sm3 is None:
        value = check_signed_value(signed_value, data)
    elif data_sm3 is not None and data is None:
        value = check_signed_value_sm3(signed_value, data_sm3)
    else:
        raise MalformedInputError("give either the signed data or its SM3, not both or neither")
    return value, value_checks(value, "the given data")
