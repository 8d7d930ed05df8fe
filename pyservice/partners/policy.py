"""What a partner may do (security.md §Partners). Pure: no I/O.

Scopes are explicit and minimal; everything not granted is denied. A
partner may further be limited to some licence types and issuers: an empty
limit means "any", a non-empty one is an allow-list.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from pyservice.errors import SidianError

__all__ = [
    "READ_ONLY_SCOPES",
    "SCOPES",
    "AccessDeniedError",
    "Caller",
    "Grant",
    "IssuerDeniedError",
    "LicenceTypeDeniedError",
    "NotHolderError",
    "ScopeDeniedError",
    "parse_scopes",
    "require_holder_of",
]

SCOPES: Final = frozenset(
    {
        "verify:qr",
        "verify:licence",
        "verify:signature",
        "verify:seal",
        "status:read",
        "licence:read-full",
        "issue",
        "status:write",
        "holder",
        "admin",
    }
)

#: Scopes of endpoints that change nothing: answering a replay of one of
#: their requests repeats an answer the partner already had. While Redis is
#: down these are admitted on per-worker nonce checks (security.md §Partners,
#: "Redis down"); every other scope fails closed.
READ_ONLY_SCOPES: Final = frozenset(
    {"verify:qr", "verify:licence", "verify:signature", "verify:seal", "status:read"}
)


class AccessDeniedError(SidianError):
    code = "forbidden"
    http_status = 403


class ScopeDeniedError(AccessDeniedError):
    code = "scope_denied"


class LicenceTypeDeniedError(AccessDeniedError):
    code = "licence_type_denied"


class IssuerDeniedError(AccessDeniedError):
    code = "issuer_denied"


class NotHolderError(AccessDeniedError):
    """A holder endpoint called for a licence that is not the caller's —
    or that does not exist: both get this same answer, so a holder
    credential cannot probe which licence ids exist."""

    code = "not_holder"


class UnknownScopeError(SidianError, ValueError):
    code = "unknown_scope"
    http_status = 400


def parse_scopes(text: str | Iterable[str]) -> frozenset[str]:
    """``"verify:qr,status:read"`` (or an iterable) → a validated set."""
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = frozenset(item.strip() for item in items if item.strip())
    unknown = scopes - SCOPES
    if unknown:
        raise UnknownScopeError(f"unknown scopes: {', '.join(sorted(unknown))}")
    return scopes


@dataclass(frozen=True, slots=True)
class Grant:
    """What one partner was granted (by an approved application)."""

    scopes: frozenset[str]
    licence_types: frozenset[str] = field(default_factory=frozenset)
    issuers: frozenset[str] = field(default_factory=frozenset)

    def require(self, scope: str) -> None:
        if scope not in SCOPES:  # a programming error, never a grant
            raise ValueError(f"unknown scope {scope!r}")
        if scope not in self.scopes:
            raise ScopeDeniedError(f"scope {scope!r} not granted")

    def require_licence(self, type_code: str, issuer_code: str) -> None:
        """The partner may see licences of this type from this issuer."""
        if self.licence_types and type_code not in self.licence_types:
            raise LicenceTypeDeniedError("licence type not granted to this partner")
        if self.issuers and issuer_code not in self.issuers:
            raise IssuerDeniedError("issuer not granted to this partner")

    def may(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated partner of a request (set by the auth middleware)."""

    partner_id: str
    name: str
    grant: Grant
    single_use_tokens: bool = False
    #: The request's nonce was checked where every worker sees it (Redis,
    #: or the only process). False while Redis is down (a per-worker check,
    #: see :data:`READ_ONLY_SCOPES`): then nothing beyond a repeatable
    #: read-only answer is given, in particular no full disclosure.
    nonce_shared: bool = True
    #: A holder credential's holder (keyed hash of the ID); ``None``: a partner.
    holder_key: bytes | None = field(default=None, repr=False)


def require_holder_of(caller: Caller | None, licence_holder_key: bytes | None) -> None:
    """``caller`` is a holder credential bound to the holder whose keyed
    hash is ``licence_holder_key`` (``None``: no such licence); else
    :class:`NotHolderError`. Compared in constant time."""
    if (
        caller is None
        or caller.holder_key is None
        or licence_holder_key is None
        or not hmac.compare_digest(caller.holder_key, licence_holder_key)
    ):
        raise NotHolderError("this credential may act only on its own holder's licences")
