"""The verification steps of a scanned QR token (formats.md §QR token),
as pure functions: no I/O, no clock. The caller (:mod:`pyservice.verify.service`)
fetches the platform key, the status and the licence summary, and passes
them in with ``now``.

Steps, in the order they run and are reported:

1. token format: strict decode in Rust (a malformed token is bad input,
   ``MalformedTokenError``, never a verdict);
2. token signature: the token's ``kid`` names a platform QR key in force
   now, and its SM2 signature over bytes 0-39 verifies (cached verifier;
   a verified-token cache makes repeat scans skip it);
3. token lifetime: ``issued_at - 30 s <= now < issued_at + lifetime``;
4. licence reference: the 16-byte reference resolves to a licence;
5. status: the licence's stored status (from the status cache), ``EXPIRED``
   derived from ``valid_until`` with China's date;
6. validity period: ``valid_from <= today <= valid_until`` (China's date).

The verdict is :func:`pyservice.verify.result.decide`'s, never decided here.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pyservice.crypto import Sm2Verifier
from pyservice.errors import InvalidSignatureError, TokenExpiredError, TokenNotYetValidError
from pyservice.qr import QrToken, verify_token
from pyservice.registry.keys import PLATFORM, TrustedKey, key_in_force
from pyservice.statuscache import StatusRecord
from pyservice.tokencache import VerifiedTokenCache
from pyservice.verify.result import Check

__all__ = [
    "UNKNOWN_LICENCE",
    "PlatformKey",
    "TokenOutcome",
    "check_period",
    "check_status",
    "check_token",
]

UNKNOWN_LICENCE: Final = "no licence has this reference"


@dataclass(frozen=True, slots=True)
class PlatformKey:
    """A platform QR key as the verifier knows it: trust entry and cached verifier."""

    trusted: TrustedKey
    verifier: Sm2Verifier


@dataclass(frozen=True, slots=True)
class TokenOutcome:
    """Steps 2-3: the token if it verified, and its checks."""

    token: QrToken | None
    checks: list[Check]
    #: Whether the SM2 signature was actually computed (not a cache hit).
    verified_now: bool


def check_token(
    token: QrToken,
    text: str,
    key: PlatformKey | None,
    cache: VerifiedTokenCache,
    *,
    now: int,
    now_ms: int,
    timer: Callable[[float], None] | None = None,
) -> TokenOutcome:
    """Steps 2-3 for a token decoded (step 1) from ``text``, with the
    platform key its ``kid`` names (``None``: no such key)."""
    checks = [Check("token_format", True)]
    # 2a. the key: a platform QR key, in force now
    problem = _key_problem(token, key, now_ms)
    if problem is not None or key is None:
        checks.append(Check("token_signature", False, problem))
        return TokenOutcome(None, checks, False)
    # 2b/3. signature and time window (cache first; a hit re-checks the window)
    cached = cache.get(text, now=now)
    if cached is not None and cached.kid == token.kid:
        checks += [Check("token_signature", True), Check("token_lifetime", True)]
        return TokenOutcome(cached, checks, False)
    started = time.perf_counter()
    try:
        verified = verify_token(key.verifier, text, now=now)
    except TokenExpiredError:
        checks.append(Check("token_lifetime", False, "QR token expired"))
        return TokenOutcome(None, checks, False)
    except TokenNotYetValidError:
        checks.append(Check("token_lifetime", False, "QR token issued in the future"))
        return TokenOutcome(None, checks, False)
    except InvalidSignatureError:
        checks += [Check("token_signature", False, "signature does not verify")]
        return TokenOutcome(None, checks, True)
    finally:
        if timer is not None:
            timer(time.perf_counter() - started)
    cache.put(text, verified, now=now)
    checks += [Check("token_signature", True), Check("token_lifetime", True)]
    return TokenOutcome(verified, checks, True)


def _key_problem(token: QrToken, key: PlatformKey | None, now_ms: int) -> str | None:
    if key is None:
        return f"unknown platform key {token.kid}"
    if key.trusted.owner != PLATFORM or key.trusted.purpose != "qr":
        return "key is not a platform QR key"
    if not key_in_force(key.trusted, now_ms):
        return f"platform key {token.kid} not in force"
    return None


def check_status(record: StatusRecord, today: dt.date) -> tuple[str, Check]:
    """Step 5: the effective status and its check (``EXPIRED`` once today
    is after ``valid_until``; a revoked or cancelled licence stays so)."""
    status = record.status
    if (
        status in ("VALID", "SUSPENDED")
        and record.valid_until is not None
        and today > record.valid_until
    ):
        status = "EXPIRED"
    if status == "VALID":
        return status, Check("status", True)
    if status == "EXPIRED":
        return status, Check("status", False, f"EXPIRED since {record.valid_until}")
    since = dt.datetime.fromtimestamp(record.since, dt.UTC).date().isoformat()
    detail = f"{status} since {since}"
    if record.reason:
        detail += f": {record.reason}"
    return status, Check("status", False, detail)


def check_period(valid_from: dt.date, valid_until: dt.date | None, today: dt.date) -> Check:
    """Step 6: ``valid_from <= today <= valid_until`` (dates in China)."""
    if today < valid_from:
        return Check("validity_period", False, f"not valid before {valid_from}")
    if valid_until is not None and today > valid_until:
        return Check("validity_period", False, f"expired on {valid_until}")
    return Check("validity_period", True)
