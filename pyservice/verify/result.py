"""The verification result of api.md and the checks that make it up.

A check is ``ok=True`` (ran and passed), ``ok=False`` (ran and failed) or
``ok=None`` (could not be performed: a dependency was down). The verdict is
decided in one place, :func:`decide` (the policy), never by a handler:

1. any check that failed → ``INVALID``;
2. else any check that could not be performed, or a status that could not
   be established → ``UNDETERMINED``;
3. else ``VALID`` only if the status is ``VALID``; any other status → ``INVALID``.

An empty list of checks is ``UNDETERMINED``: nothing ran, so nothing passed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

__all__ = [
    "CHECK_NAMES",
    "STATUSES",
    "Check",
    "Verdict",
    "VerificationResult",
    "decide",
    "iso_ms",
]

Verdict = Literal["VALID", "INVALID", "UNDETERMINED"]
Status = Literal["VALID", "SUSPENDED", "REVOKED", "CANCELLED", "EXPIRED", "UNDETERMINED"]
STATUSES: Final = ("VALID", "SUSPENDED", "REVOKED", "CANCELLED", "EXPIRED", "UNDETERMINED")

#: Check names, in the order they are reported.
CHECK_NAMES: Final = (
    "token_format",  # QR token: version, length, flags
    "token_signature",  # QR token: the platform QR key's SM2 signature
    "token_lifetime",  # QR token: issued_at - 30 s <= now < issued_at + lifetime
    "token_single_use",  # QR token: nonce not used before (partner policy)
    "licence_ref",  # QR token: the licence reference resolves
    "signature",  # the issuer's SM2 signature over the canonical body
    "issuer_key",  # the issuer key was valid (active, in its window) at issuance
    "ledger",  # the licence.issued entry is on the ledger (proof verifies)
    "status",  # the licence's status (VALID required)
    "validity_period",  # valid_from <= today <= valid_until
    "certificate_validity",  # a signer certificate: within its validity period now
    "certificate_key_usage",  # a signer certificate: its key usage allows signing
    "certificate_chain",  # a signer certificate: chains to a configured trust anchor
    "signer_key",  # a bare signature: the signer's key known and in force now
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool | None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "ok": self.ok}
        if self.detail is not None:
            out["detail"] = self.detail
        return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def iso_ms(when: datetime) -> str:
    """``2026-11-27T10:00:00.123Z`` (a naive ``when`` is local time)."""
    if when.tzinfo is None:
        when = when.astimezone()
    # Whole seconds by exact timedelta arithmetic: a float timestamp rounds
    # x.999999 up to the next second once it has more than 15 digits in µs.
    return _iso_second((when - _EPOCH) // _SECOND) + f"{when.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_second(epoch_s: int) -> str:
    # Two formats per answer, mostly of the current second: cached.
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(epoch_s))


def decide(checks: Sequence[Check], status: str) -> Verdict:
    if not checks:
        return "UNDETERMINED"
    if any(check.ok is False for check in checks):
        return "INVALID"
    if any(check.ok is None for check in checks) or status == "UNDETERMINED":
        return "UNDETERMINED"
    return "VALID" if status == "VALID" else "INVALID"


@dataclass(slots=True)
class VerificationResult:
    status: str
    status_as_of: datetime | None
    checks: list[Check]
    warnings: list[str] = field(default_factory=list)
    licence: dict[str, Any] | None = None
    receipt: dict[str, str] | None = None

    @property
    def result(self) -> Verdict:
        return decide(self.checks, self.status)

    def failed(self) -> Check | None:
        """The first check that failed, else the first that could not run."""
        for check in self.checks:
            if check.ok is False:
                return check
        return next((check for check in self.checks if check.ok is None), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "status": self.status,
            "status_as_of": None if self.status_as_of is None else iso_ms(self.status_as_of),
            "checks": [check.to_json() for check in self.checks],
            "warnings": list(self.warnings),
            "licence": self.licence,
            "receipt": self.receipt,
        }
