"""What each route requires, declared on the handler itself.

    @routes.post("/v1/verify/qr", name="verify_qr")
    @requires("verify:qr")
    async def verify_qr(request): ...

    @routes.get("/v1/ledger/sth", name="ledger_sth")
    @public
    async def get_sth(request): ...

The auth middleware reads the declaration from the matched handler: a
public handler needs no credentials; any other handler needs an
authenticated partner holding the declared scope. A handler that declares
nothing is treated as requiring ``admin`` — forgetting the declaration can
only make an endpoint stricter, never open it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from pyservice.partners.policy import SCOPES

__all__ = ["PUBLIC", "public", "required_scope", "requires"]

_ATTR: Final = "__sidian_requires__"
#: The declaration of a public handler.
PUBLIC: Final = "public"
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


def required_scope(handler: object) -> str:
    """``PUBLIC``, a scope, or ``DEFAULT_SCOPE`` when nothing was declared."""
    value = getattr(handler, _ATTR, None)
    return value if isinstance(value, str) else DEFAULT_SCOPE
