"""Whether a platform seal was in force when a signature was made (policy
stage; no I/O): the caller looks the seals up in the seal registry
(:mod:`pyservice.seal.registry`) and passes what it found.

A seal is one of ours when the registry knows its esID. For such a seal
the signature gets one more check, ``seal_status``, which passes only if
the signing time is known and

1. the seal had been filed (备案, status ``active``) at or before it;
2. the seal was not cancelled (注销) at or before it;
3. it lies inside the validity window of one of the seal's made versions
   (so a renewal does not reach back, and an expired seal fails).

Seals the registry does not know are left as they are, with the warning
``seal_status_unknown`` (their standing rests on their certificates alone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from pyservice.seal.policy import document_result, verdict_of
from pyservice.seal.report import Check, OfdReport, SignedValueFacts, SignedValueVerdict
from pyservice.seal.timefmt import format_time, parse_ofd_time

__all__ = [
    "CHECK",
    "UNKNOWN_WARNING",
    "SealStanding",
    "StandingKind",
    "apply_to_report",
    "apply_to_verdict",
    "standing_check",
]

CHECK: Final = "seal_status"
UNKNOWN_WARNING: Final = "seal_status_unknown"
StandingKind = Literal["VALID", "CANCELLED", "EXPIRED", "NOT_FILED", "UNDETERMINED"]


@dataclass(frozen=True, slots=True)
class SealStanding:
    """What the registry says about one of our seals: stored status,
    when it was filed and cancelled (unix ms, None if not), and the
    validity windows (epoch seconds) of its made versions."""

    es_id: str
    status: str
    filed_at: int | None
    cancelled_at: int | None
    windows: tuple[tuple[int, int], ...]


def standing_check(standing: SealStanding, signed_at: int | None) -> tuple[Check, StandingKind]:
    """The ``seal_status`` check of a signature made at ``signed_at``
    (epoch seconds) with this seal, and the seal's status at that time."""
    es_id = standing.es_id
    if signed_at is None:
        return Check(CHECK, False, f"seal {es_id}: the signing time is unknown"), "UNDETERMINED"
    # Signing times are whole seconds: a signature in the second of the
    # filing counts as after it, one in the second of the cancellation
    # as after that too (fail closed).
    when = format_time(signed_at)
    if standing.filed_at is None or signed_at < standing.filed_at // 1000:
        return Check(CHECK, False, f"seal {es_id} was not filed at {when}"), "NOT_FILED"
    if standing.cancelled_at is not None and signed_at >= standing.cancelled_at // 1000:
        since = format_time(standing.cancelled_at // 1000)
        return Check(CHECK, False, f"seal {es_id} cancelled since {since}"), "CANCELLED"
    if not any(start <= signed_at <= end for start, end in standing.windows):
        return Check(CHECK, False, f"seal {es_id} was not valid at {when}"), "EXPIRED"
    return Check(CHECK, True), "VALID"


def _facts_check(
    facts: SignedValueFacts, standings: Mapping[str, SealStanding]
) -> tuple[Check, StandingKind] | None:
    if facts.es_id is None or facts.es_id not in standings:
        return None
    return standing_check(standings[facts.es_id], parse_ofd_time(facts.signed_at))


def apply_to_report(
    report: OfdReport, standings: Mapping[str, SealStanding]
) -> tuple[OfdReport, list[StandingKind]]:
    """``report`` with a ``seal_status`` check on every signature made with
    one of our seals and its result recomputed; also each such seal's
    status at its signing time."""
    signatures = []
    kinds: list[StandingKind] = []
    unknown = False
    for sig in report.signatures:
        found = _facts_check(sig, standings)
        if found is None:
            unknown = True
            signatures.append(sig)
            continue
        check, kind = found
        kinds.append(kind)
        signatures.append(dataclasses.replace(sig, checks=[*sig.checks, check]))
    result, reasons = document_result(signatures, report.trust_anchors > 0)
    warnings = [*report.warnings, *([UNKNOWN_WARNING] if unknown else [])]
    return (
        dataclasses.replace(
            report, signatures=signatures, result=result, reasons=reasons, warnings=warnings
        ),
        kinds,
    )


def apply_to_verdict(
    verdict: SignedValueVerdict, standings: Mapping[str, SealStanding], anchors_configured: bool
) -> tuple[SignedValueVerdict, list[StandingKind]]:
    """The same for a signed value verified on its own."""
    found = _facts_check(verdict, standings)
    if found is None:
        return verdict, []
    check, kind = found
    checks: Sequence[Check] = [*verdict.checks, check]
    updated = dataclasses.replace(verdict, checks=list(checks))
    result, reasons = verdict_of(updated, anchors_configured)
    return dataclasses.replace(updated, result=result, reasons=reasons), [kind]
