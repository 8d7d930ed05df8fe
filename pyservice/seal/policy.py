"""Trust and verdict (policy stage; no I/O): certificate chains to the
configured trust anchors at the signing time and now, and the document's
``result``:

- ``VALID``: at least one signature; every check of every signature passed;
  trust anchors are configured and every signer's (and seal maker's)
  certificate chains to one, valid at signing time and now;
- ``INTACT_UNTRUSTED``: every check passed but no trust anchor is configured;
- ``INVALID``: anything else (a failed check, no signatures, or anchors
  configured that the certificates do not chain to at both times).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyservice.errors import MalformedInputError
from pyservice.seal.native import SignedValueReport, certificate_summary, evaluate_chain
from pyservice.seal.ofdxml import SignatureXml
from pyservice.seal.report import (
    ChainStatus,
    Check,
    DocumentResult,
    SignatureReport,
    SignedValueFacts,
    SignedValueVerdict,
)
from pyservice.seal.timefmt import format_time, parse_ofd_time
from pyservice.seal.verify import SignatureFacts

__all__ = [
    "Trust",
    "chain_status",
    "document_result",
    "signature_report",
    "signed_value_verdict",
    "trust",
    "verdict_of",
]


def chain_status(
    leaf: bytes | None,
    pool: Sequence[bytes],
    anchors: Sequence[bytes],
    signed_at: int | None,
    now: int,
) -> tuple[ChainStatus, bool | None, bool]:
    """``(status, valid at signing, valid now)`` for ``leaf``."""
    if leaf is None:
        return "bad_certificate", None, False
    times = [now] if signed_at is None else [now, signed_at]
    try:
        outcome = evaluate_chain(leaf, pool, anchors, times)
    except MalformedInputError:
        return "bad_certificate", None, False
    valid_now = outcome.valid_at[0]
    valid_signing = outcome.valid_at[1] if signed_at is not None else None
    if outcome.path_len == 0 or valid_signing is None:
        return "untrusted", valid_signing, valid_now
    if not valid_signing:
        return "expired_at_signing", valid_signing, valid_now
    if not valid_now:
        return "expired_now", valid_signing, valid_now
    return "trusted", valid_signing, valid_now


@dataclass(frozen=True, slots=True)
class Trust:
    """The certificate facts of one signed value."""

    signer_chain: ChainStatus
    valid_at_signing: bool | None
    valid_now: bool
    seal_maker_chain: ChainStatus | None
    signer_subject: str | None


def trust(
    v: SignedValueReport,
    anchors: Sequence[bytes],
    intermediates: Sequence[bytes],
    signed_at: int | None,
    now: int,
) -> Trust:
    """Chains of the signer's and (for seals) the seal maker's certificate,
    through ``intermediates`` and the certificates the signed value carries."""
    pool = [*intermediates, *v.extra_certs]
    status, at_signing, at_now = chain_status(v.signer_cert, pool, anchors, signed_at, now)
    maker_status: ChainStatus | None = None
    if v.seal_signature_ok is not None:
        maker_status, _, _ = chain_status(v.seal_maker_cert, pool, anchors, signed_at, now)
    subject = None
    if v.signer_cert is not None:
        try:
            subject = certificate_summary(v.signer_cert).subject
        except MalformedInputError:
            subject = None
    return Trust(status, at_signing, at_now, maker_status, subject)


def _signing_time(facts: SignatureFacts, xml: SignatureXml) -> int | None:
    if facts.value.signed_at is not None:
        return facts.value.signed_at
    return parse_ofd_time(xml.signature_date_time)


def signature_report(
    facts: SignatureFacts,
    anchors: Sequence[bytes],
    now: int,
    intermediates: Sequence[bytes] = (),
) -> SignatureReport:
    """The report of one signature, with its certificate chains."""
    v = facts.value
    parts = facts.parts
    signed_at = _signing_time(facts, parts.parsed)
    t = trust(v, anchors, intermediates, signed_at, now)
    return SignatureReport(
        signature_xml=parts.signature_xml_path,
        signed_value=parts.signed_value_path,
        type=parts.entry.type,
        format=v.format,
        signature_ok=v.signature_ok,
        seal_signature_ok=v.seal_signature_ok,
        data_hash_ok=v.data_hash_ok,
        check_method=parts.parsed.check_method,
        references_total=len(parts.parsed.references),
        references_failed=facts.references_failed,
        seal_name=v.seal_name,
        es_id=v.es_id,
        signer_subject=t.signer_subject,
        signed_at=None if signed_at is None else format_time(signed_at),
        certificate_chain=t.signer_chain,
        certificate_valid_at_signing=t.valid_at_signing,
        certificate_valid_now=t.valid_now,
        seal_maker_chain=t.seal_maker_chain,
        signature_encoding=v.signature_encoding,
        checks=facts.checks,
    )


def signed_value_verdict(
    v: SignedValueReport,
    checks: list[Check],
    anchors: Sequence[bytes],
    intermediates: Sequence[bytes],
    now: int,
) -> SignedValueVerdict:
    """The verdict on a signed value checked on its own (same rules as a
    document with one signature)."""
    t = trust(v, anchors, intermediates, v.signed_at, now)
    result, reasons = _result(
        [("signed value", checks, t.signer_chain, t.seal_maker_chain)], bool(anchors)
    )
    return SignedValueVerdict(
        result=result,
        reasons=reasons,
        format=v.format,
        signature_ok=v.signature_ok,
        seal_signature_ok=v.seal_signature_ok,
        data_hash_ok=v.data_hash_ok,
        seal_name=v.seal_name,
        es_id=v.es_id,
        signer_subject=t.signer_subject,
        signed_at=None if v.signed_at is None else format_time(v.signed_at),
        certificate_chain=t.signer_chain,
        certificate_valid_at_signing=t.valid_at_signing,
        certificate_valid_now=t.valid_now,
        seal_maker_chain=t.seal_maker_chain,
        signature_encoding=v.signature_encoding,
        checks=checks,
        checked_at=format_time(now),
    )


def document_result(
    reports: Sequence[SignatureReport], anchors_configured: bool
) -> tuple[DocumentResult, list[str]]:
    """The document's verdict and the reasons it is not ``VALID``."""
    items = [(r.signature_xml, r.checks, r.certificate_chain, r.seal_maker_chain) for r in reports]
    if not items:
        return "INVALID", ["the document has no signatures"]
    return _result(items, anchors_configured)


def verdict_of(v: SignedValueFacts, anchors_configured: bool) -> tuple[DocumentResult, list[str]]:
    """The verdict on a signed value from its checks and chains (the rules
    of a document with one signature), e.g. after a check was added."""
    return _result(
        [("signed value", v.checks, v.certificate_chain, v.seal_maker_chain)], anchors_configured
    )


def _result(
    items: Sequence[tuple[str, list[Check], ChainStatus, ChainStatus | None]],
    anchors_configured: bool,
) -> tuple[DocumentResult, list[str]]:
    reasons = [
        f"{name}: {c.name} failed" for name, checks, _, _ in items for c in checks if not c.ok
    ]
    if reasons:
        return "INVALID", reasons
    if not anchors_configured:
        return "INTACT_UNTRUSTED", ["no trust anchor is configured"]
    for name, _, signer, maker in items:
        if signer != "trusted":
            reasons.append(f"{name}: signer certificate {signer}")
        if maker not in (None, "trusted"):
            reasons.append(f"{name}: seal maker certificate {maker}")
    return ("INVALID", reasons) if reasons else ("VALID", [])
