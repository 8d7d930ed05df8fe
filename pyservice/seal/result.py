"""Seal and OFD reports in the verification result shape of api.md
(policy; no I/O). The verdict is :func:`pyservice.verify.result.decide`
over these checks, which agrees with the report's own ``result``:

- every check of every signature, named as in the report, its ``detail``
  prefixed with the signature it belongs to;
- one ``certificate_chain`` check per signature: passed when the signer's
  (and seal maker's) certificate is trusted, failed when trust anchors are
  configured and it is not, not performed (``ok: null``) without anchors —
  so ``INTACT_UNTRUSTED`` reads as ``UNDETERMINED``;
- a failed ``signatures`` check when the document has none.

``status`` is the registry status of our seals at their signing time
(``CANCELLED``, ``EXPIRED``; ``UNDETERMINED`` for a seal not yet filed or
an unknown signing time), else ``VALID``: seals the registry does not know
carry the warning ``seal_status_unknown`` instead. The full report is
returned beside the result as ``report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pyservice.seal.report import ChainStatus, OfdReport, SignedValueVerdict
from pyservice.seal.report import Check as SealCheck
from pyservice.seal.standing import StandingKind
from pyservice.verify.result import Check, VerificationResult

__all__ = ["ofd_result", "signed_value_result"]


def _chain_check(
    where: str, signer: ChainStatus, maker: ChainStatus | None, anchors: bool
) -> Check:
    if signer == "trusted" and maker in (None, "trusted"):
        return Check("certificate_chain", True)
    if not anchors:
        return Check("certificate_chain", None, f"{where}: no trust anchor is configured")
    parts = [f"signer certificate {signer}"]
    if maker not in (None, "trusted"):
        parts.append(f"seal maker certificate {maker}")
    return Check("certificate_chain", False, f"{where}: " + ", ".join(parts))


def _checks(where: str, checks: Sequence[SealCheck]) -> list[Check]:
    return [Check(c.name, c.ok, f"{where}: {c.detail}" if c.detail else where) for c in checks]


def _status(kinds: Sequence[StandingKind]) -> str:
    for bad in ("CANCELLED", "EXPIRED"):
        if bad in kinds:
            return bad
    return "UNDETERMINED" if any(k != "VALID" for k in kinds) else "VALID"


def ofd_result(
    report: OfdReport, kinds: Sequence[StandingKind], checked_at: datetime
) -> dict[str, Any]:
    """An OFD report as ``VerificationResult`` JSON plus ``report``."""
    anchors = report.trust_anchors > 0
    checks: list[Check] = []
    for sig in report.signatures:
        checks += _checks(sig.signature_xml, sig.checks)
        checks.append(
            _chain_check(sig.signature_xml, sig.certificate_chain, sig.seal_maker_chain, anchors)
        )
    if not report.signatures:
        checks.append(Check("signatures", False, "the document has no signatures"))
    result = VerificationResult(
        status=_status(kinds),
        status_as_of=checked_at,
        checks=checks,
        warnings=list(report.warnings),
    )
    return {**result.to_json(), "report": report.to_dict()}


def signed_value_result(
    verdict: SignedValueVerdict,
    kinds: Sequence[StandingKind],
    checked_at: datetime,
    anchors: bool,
) -> dict[str, Any]:
    """A signed value's verdict as ``VerificationResult`` JSON plus ``report``."""
    checks = _checks("signed value", verdict.checks)
    checks.append(
        _chain_check("signed value", verdict.certificate_chain, verdict.seal_maker_chain, anchors)
    )
    warnings = [] if kinds else ["seal_status_unknown"]
    result = VerificationResult(
        status=_status(kinds), status_as_of=checked_at, checks=checks, warnings=warnings
    )
    return {**result.to_json(), "report": verdict.to_dict()}
