"""The ``SIDIAN-HMAC-SM3`` request signature (security.md §Partners).

A partner signs each request with its secret (the ASCII string issued to
it, used as UTF-8 bytes as the HMAC-SM3 key)::

    Authorization: SIDIAN-HMAC-SM3 partner=<id>, ts=<unix s>, nonce=<16+ chars>, signature=<hex>

over the canonical string, five lines joined by single ``\\n``::

    METHOD            upper case, as sent
    PATH?QUERY        the raw request target, exactly as sent (no re-encoding)
    ts                decimal unix seconds, as in the header
    nonce             as in the header
    hex(SM3(body))    lowercase; SM3 of the empty string for no body

The service accepts ``|now - ts| <= 300 s``, consumes the nonce atomically in
Redis (a replay inside the window is refused) and compares signatures in
constant time. This module is pure (no I/O, no clock): parsing, the
canonical string, signing and the constant-time check.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Final

from pyservice.crypto import hmac_sm3, sm3
from pyservice.errors import SidianError

__all__ = [
    "MAX_SKEW_SECONDS",
    "SCHEME",
    "AuthError",
    "BadSignatureError",
    "Credentials",
    "MalformedCredentialsError",
    "MissingCredentialsError",
    "StaleTimestampError",
    "authorization_header",
    "canonical_string",
    "check_signature",
    "check_timestamp",
    "parse_authorization",
    "sign",
]

SCHEME: Final = "SIDIAN-HMAC-SM3"
MAX_SKEW_SECONDS: Final = 300
_PARAM: Final = re.compile(r"\s*([a-z]+)=([^,\s]*)\s*(?:,|$)")
_PARTNER: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_NONCE: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TS: Final = re.compile(r"[0-9]{1,12}")
_SIGNATURE: Final = re.compile(r"[0-9a-fA-F]{64}")
_MAX_HEADER: Final = 512


class AuthError(SidianError):
    """The request is not authenticated (401)."""

    code = "unauthenticated"
    http_status = 401

    def headers(self) -> dict[str, str]:
        """Every 401 names the scheme to use (RFC 9110 §11.6.1)."""
        return {"WWW-Authenticate": SCHEME}


class MissingCredentialsError(AuthError):
    code = "missing_credentials"


class MalformedCredentialsError(AuthError):
    """An ``Authorization`` header that is not a well-formed SIDIAN-HMAC-SM3 one."""

    code = "malformed_credentials"


class BadSignatureError(AuthError):
    code = "bad_signature"


class StaleTimestampError(AuthError):
    code = "stale_timestamp"


@dataclass(frozen=True, slots=True)
class Credentials:
    partner: str
    ts: int
    ts_text: str
    nonce: str
    signature: bytes


def canonical_string(method: str, target: str, ts: str, nonce: str, body: bytes) -> bytes:
    return "\n".join((method.upper(), target, ts, nonce, sm3(body).hex())).encode("utf-8")


def sign(secret: str, *, method: str, target: str, ts: str, nonce: str, body: bytes) -> str:
    """The lowercase hex HMAC-SM3 signature of the canonical string."""
    message = canonical_string(method, target, ts, nonce, body)
    return hmac_sm3(secret.encode("utf-8"), message).hex()


def authorization_header(
    partner: str, secret: str, *, method: str, target: str, ts: int, nonce: str, body: bytes
) -> str:
    ts_text = str(ts)
    signature = sign(secret, method=method, target=target, ts=ts_text, nonce=nonce, body=body)
    return f"{SCHEME} partner={partner}, ts={ts_text}, nonce={nonce}, signature={signature}"


def parse_authorization(header: str | None) -> Credentials:
    """Parse the header strictly: the scheme, then exactly ``partner``,
    ``ts``, ``nonce`` and ``signature`` once each, in any order."""
    if header is None or not header.strip():
        raise MissingCredentialsError("an Authorization header is required")
    if len(header) > _MAX_HEADER:
        raise MalformedCredentialsError("Authorization header too long")
    scheme, _, rest = header.strip().partition(" ")
    if scheme != SCHEME:
        raise MalformedCredentialsError(f"the Authorization scheme must be {SCHEME}")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if match is None or match.end() == pos:
            raise MalformedCredentialsError("malformed Authorization parameters")
        name, value = match.group(1), match.group(2)
        if name in params:
            raise MalformedCredentialsError(f"Authorization parameter {name!r} repeated")
        params[name] = value
        pos = match.end()
    if set(params) != {"partner", "ts", "nonce", "signature"}:
        raise MalformedCredentialsError(
            "Authorization needs exactly partner, ts, nonce and signature"
        )
    checks = (
        ("partner", _PARTNER),
        ("ts", _TS),
        ("nonce", _NONCE),
        ("signature", _SIGNATURE),
    )
    for name, pattern in checks:
        if pattern.fullmatch(params[name]) is None:
            raise MalformedCredentialsError(f"malformed Authorization parameter {name!r}")
    return Credentials(
        partner=params["partner"],
        ts=int(params["ts"]),
        ts_text=params["ts"],
        nonce=params["nonce"],
        signature=bytes.fromhex(params["signature"]),
    )


def check_timestamp(credentials: Credentials, now: float) -> None:
    if abs(now - credentials.ts) > MAX_SKEW_SECONDS:
        raise StaleTimestampError(
            f"timestamp is more than {MAX_SKEW_SECONDS} s away from the server's clock"
        )


def check_signature(
    credentials: Credentials, secret: str, method: str, target: str, body: bytes
) -> None:
    """Constant-time comparison of the presented and expected signatures."""
    message = canonical_string(method, target, credentials.ts_text, credentials.nonce, body)
    expected = hmac_sm3(secret.encode("utf-8"), message)
    if not hmac.compare_digest(expected, credentials.signature):
        raise BadSignatureError("the request signature does not match")
