"""The OFD verification report (the fields of issue 9's JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ChainStatus",
    "Check",
    "DocumentResult",
    "OfdReport",
    "SignatureReport",
    "SignedValueFacts",
    "SignedValueVerdict",
]

DocumentResult = Literal["VALID", "INTACT_UNTRUSTED", "INVALID"]
ChainStatus = Literal[
    "trusted",
    "untrusted",
    "expired_at_signing",
    "expired_now",
    "not_yet_valid",
    "bad_certificate",
]


@dataclass(frozen=True, slots=True)
class Check:
    """One named check; ``detail`` says why it failed."""

    name: str
    ok: bool
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedValueFacts:
    """What is reported about one signed value, in a document or alone."""

    format: str
    signature_ok: bool
    seal_signature_ok: bool | None
    data_hash_ok: bool
    seal_name: str | None
    es_id: str | None
    signer_subject: str | None
    signed_at: str | None
    certificate_chain: ChainStatus
    certificate_valid_at_signing: bool | None
    certificate_valid_now: bool
    seal_maker_chain: ChainStatus | None
    #: ``DER(n)`` or ``raw64`` (the signer's signature value).
    signature_encoding: str = ""
    checks: list[Check] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureReport(SignedValueFacts):
    """One signature of the document."""

    signature_xml: str
    signed_value: str
    type: str
    check_method: str | None
    references_total: int
    references_failed: list[str]

    @property
    def intact(self) -> bool:
        """Every cryptographic and structural check passed (trust aside)."""
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "signature_xml": self.signature_xml,
            "signed_value": self.signed_value,
            "type": self.type,
            "format": self.format,
            "signature_ok": self.signature_ok,
            "seal_signature_ok": self.seal_signature_ok,
            "data_hash_ok": self.data_hash_ok,
            "check_method": self.check_method,
            "references_total": self.references_total,
            "references_failed": list(self.references_failed),
            "seal_name": self.seal_name,
            "es_id": self.es_id,
            "signer_subject": self.signer_subject,
            "signed_at": self.signed_at,
            "certificate_chain": self.certificate_chain,
            "certificate_valid_at_signing": self.certificate_valid_at_signing,
            "certificate_valid_now": self.certificate_valid_now,
            "seal_maker_chain": self.seal_maker_chain,
            "signature_encoding": self.signature_encoding,
            "checks": [_check_dict(c) for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class OfdReport:
    """The document's verdict and every signature's report."""

    result: DocumentResult
    signatures: list[SignatureReport]
    checked_at: str
    trust_anchors: int
    reasons: list[str] = field(default_factory=list)
    #: Package files no signature covers (a warning: the verdict is about
    #: the covered files only).
    unreferenced_files: list[str] = field(default_factory=list)
    #: Stable warning codes (``unreferenced_files``).
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "result": self.result,
            "checked_at": self.checked_at,
            "trust_anchors": self.trust_anchors,
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
            "unreferenced_files": list(self.unreferenced_files),
            "signatures": [s.to_dict() for s in self.signatures],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedValueVerdict(SignedValueFacts):
    """A signed value (``SignedValue.dat``) verified on its own against the
    signed bytes or their SM3, with the verdict by the document rules."""

    result: DocumentResult
    reasons: list[str]
    checked_at: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        out: dict[str, object] = {
            name: getattr(self, name) for name in self.__dataclass_fields__ if name != "checks"
        }
        out["reasons"] = list(self.reasons)
        out["checks"] = [_check_dict(c) for c in self.checks]
        return out


def _check_dict(c: Check) -> dict[str, object]:
    return {"name": c.name, "ok": c.ok, **({"detail": c.detail} if c.detail else {})}
