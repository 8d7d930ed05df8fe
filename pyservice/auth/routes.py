"""What each route requires, declared on the handler itself.

    @routes.post("/v1/verify/qr", name="verify_qr")
    @requires("verify:qr")
    async def verify_qr(request): ...

    @routes.get("/v1/ledger/sth", name="ledger_sth")
    @public
    async def get_sth(request): ...

    @routes.post("/v1/partner/applications", name="partner_apply")
    @authenticated
    async def apply(request): ...

The auth middleware reads the declaration from the matched handler: a
public handler needs no credentials; an ``authenticated`` one needs a
signed request from any active partner, whatever its grant (for a
partner's own records, e.g. applying for access it does not have yet);
any other handler needs an authenticated partner holding the declared
scope. A handler that declares
nothing is treated as requiring ``admin`` — forgetting the declaration can
only make an endpoint stricter, never open it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from pyservice.partners.policy import SCOPES

__all__ = [
    "AUTHENTICATED",
    "PUBLIC",
    "authenticated",
    "public",
    "required_scope",
    "requires",
]

_ATTR: Final = "__sidian_requires__"
#: The declaration of a public handler.
PUBLIC: Final = "public"
#: The declaration of a handler open to any authenticated partner.
AUTHENTICATED: Final = "authenticated"
#: What an undeclared handler requires.
DEFAULT_SCOPE: Final = "admin"

_H = TypeVar("_H", bound=Callable[..., object])


def requires(scope: str) -> Callable[[_H], _H]:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def mark(handler: _H) -> _H:
        setattr(handler, _ATTR, scope)
        return handler

    return mark


def public(handler: _H) -> _H:
    setattr(handler, _ATTR, PUBLIC)
    return handler


def authenticated(handler: _H) -> _H:
    setattr(handler, _ATTR, AUTHENTICATED)
    return handler


def required_scope(handler: object) -> str:
    """``PUBLIC``, ``AUTHENTICATED``, a scope, or ``DEFAULT_SCOPE`` when
    nothing was declared."""
    value = getattr(handler, _ATTR, None)
    return value if isinstance(value, str) else DEFAULT_SCOPE
