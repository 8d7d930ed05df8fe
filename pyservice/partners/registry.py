"""The partner registry (security.md §Partners): add, look up, suspend,
resume and rotate the secret of partners, over the store.

- A partner's id is ``p_`` + 16 hex digits; its secret is ``sk_`` + 43
  URL-safe characters (256 random bits), an ASCII string used as UTF-8
  bytes as the HMAC-SM3 key. The secret is returned once, by :meth:`add`
  and :meth:`rotate_secret`, and stored only SM4-GCM-wrapped under a key
  derived from the master key (random 12-byte nonce, the partner id as
  associated data, so a wrapped secret moved to another row fails).
- A *holder credential* (:meth:`add_holder`) is a partner-like account with
  the one scope ``holder``, bound to one holder by the keyed hash of the
  holder's ID (:meth:`KeyRing.holder_key`, as the registry indexes
  licences): it signs requests exactly as a partner does (one auth path)
  and acts only on that holder's licences. Its id is ``h_`` + 16 hex
  digits. ``holder`` is reserved to holder credentials: :meth:`add`
  refuses it.
- :meth:`lookup` is the hot path of every signed request: it keeps the
  unwrapped partner for ``cache_seconds`` (a few seconds) per process. A
  change made in this process (suspend, resume, rotation) drops the entry
  at once; one made by another process (the CLI) is seen within
  ``cache_seconds``.

Methods are synchronous (store I/O): async code runs them in a thread.
"""

from __future__ import annotations

import builtins
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from pyservice.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from pyservice.errors import MalformedInputError, NotFoundError
from pyservice.partners.policy import Grant, parse_scopes
from pyservice.registry.keys import KeyRing
from pyservice.store import PartnerRow, Store

__all__ = [
    "DEFAULT_RATE_PER_S",
    "HOLDER_RATE_PER_S",
    "HOLDER_SCOPE",
    "PARTNER_STATUSES",
    "HolderScopeReservedError",
    "NewPartner",
    "Partner",
    "PartnerRegistry",
    "UnknownPartnerError",
    "check_codes",
    "check_rate",
    "new_holder_credential_id",
    "new_partner_id",
    "new_secret",
]

PARTNER_STATUSES: Final = ("active", "suspended")
DEFAULT_RATE_PER_S: Final = 100.0
#: A holder's app refreshes a QR code now and then: a low default rate.
HOLDER_RATE_PER_S: Final = 5.0
#: The scope of holder credentials, and only theirs.
HOLDER_SCOPE: Final = "holder"
MAX_RATE_PER_S: Final = 100_000.0
#: Label of the master-key-derived key that wraps partner secrets.
SECRET_WRAP_LABEL: Final = "sidian partner secret v1"  # noqa: S105 - a label, not a secret
_CODE: Final = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
_MAX_TEXT: Final = 200


class UnknownPartnerError(NotFoundError):
    code = "unknown_partner"


class HolderScopeReservedError(MalformedInputError):
    """``holder`` is granted only to holder credentials (bound to one holder)."""

    code = "holder_scope_reserved"


#: The id prefix of holder credentials (partners' ids start with ``p_``).
HOLDER_ID_PREFIX: Final = "h_"


def new_holder_credential_id() -> str:
    return HOLDER_ID_PREFIX + secrets.token_hex(8)


def new_partner_id() -> str:
    return "p_" + secrets.token_hex(8)


def new_secret() -> str:
    return "sk_" + secrets.token_urlsafe(32)


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner as the service uses it: its grant and, unwrapped, its secret
    (never in the repr)."""

    id: str
    name: str
    contact: str
    status: str
    grant: Grant
    rate_per_s: float
    single_use_tokens: bool
    created_at: int
    secret_rotated_at: int
    secret: str = field(repr=False)
    #: The holder this credential is bound to (keyed hash); ``None``: a partner.
    holder_key: bytes | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def kind(self) -> str:
        return "partner" if self.holder_key is None else "holder"

    def to_json(self) -> dict[str, Any]:
        """The public description (no secret)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "contact": self.contact,
            "status": self.status,
            "scopes": sorted(self.grant.scopes),
            "licence_types": sorted(self.grant.licence_types),
            "issuers": sorted(self.grant.issuers),
            "rate_per_s": self.rate_per_s,
            "single_use_tokens": self.single_use_tokens,
            "created_at": self.created_at,
            "secret_rotated_at": self.secret_rotated_at,
        }


@dataclass(frozen=True, slots=True)
class NewPartner:
    """What :meth:`PartnerRegistry.add` and ``rotate_secret`` return: the
    id and the secret, shown once."""

    id: str
    secret: str = field(repr=False)

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "secret": self.secret}


def check_codes(values: Iterable[str], what: str) -> tuple[str, ...]:
    """Licence type or issuer codes of an allow-list (validated, sorted)."""
    items = sorted({v.strip() for v in values if v.strip()})
    for item in items:
        if _CODE.fullmatch(item) is None:
            raise MalformedInputError(f"malformed {what} code")
    return tuple(items)


def _check_text(value: str, what: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise MalformedInputError(f"{what} is required")
    if len(value) > _MAX_TEXT or any(ord(c) < 32 for c in value):
        raise MalformedInputError(f"{what} must be at most {_MAX_TEXT} printable characters")
    return value


def check_rate(rate_per_s: float) -> float:
    rate = float(rate_per_s)
    if not 0 < rate <= MAX_RATE_PER_S:
        raise MalformedInputError(f"rate must be in (0, {MAX_RATE_PER_S:g}] requests per second")
    return rate


class PartnerRegistry:
    """Partners over a store; secrets wrapped with a key derived from the
    keyring's master key. Thread-safe."""

    def __init__(self, store: Store, keyring: KeyRing, *, cache_seconds: float = 5.0) -> None:
        self.store = store
        self._wrap_key = keyring.subkey(SECRET_WRAP_LABEL)
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Partner | None]] = {}

    def __repr__(self) -> str:
        return "PartnerRegistry(<keys hidden>)"

    # ---- secrets ---------------------------------------------------------------

    def _wrap(self, partner_id: str, secret: str) -> tuple[bytes, bytes]:
        nonce = secrets.token_bytes(12)
        wrapped = sm4_gcm_encrypt(
            self._wrap_key, nonce, secret.encode("ascii"), partner_id.encode("ascii")
        )
        return nonce, wrapped

    def _unwrap(self, row: PartnerRow) -> str:
        plain = sm4_gcm_decrypt(
            self._wrap_key, row.wrap_nonce, row.wrapped_secret, row.id.encode("ascii")
        )
        return plain.decode("ascii")

    def _partner(self, row: PartnerRow) -> Partner:
        return Partner(
            id=row.id,
            name=row.name,
            contact=row.contact,
            status=row.status,
            grant=Grant(
                frozenset(row.scopes), frozenset(row.licence_types), frozenset(row.issuers)
            ),
            rate_per_s=row.rate_per_s,
            single_use_tokens=row.single_use_tokens,
            created_at=row.created_at,
            secret_rotated_at=row.secret_rotated_at,
            secret=self._unwrap(row),
            holder_key=row.holder_key,
        )

    # ---- writes -----------------------------------------------------------------

    def add(
        self,
        name: str,
        *,
        scopes: Iterable[str] | str,
        licence_types: Iterable[str] = (),
        issuers: Iterable[str] = (),
        contact: str = "",
        rate_per_s: float = DEFAULT_RATE_PER_S,
        single_use_tokens: bool = False,
        now_ms: int | None = None,
    ) -> NewPartner:
        """A new active partner; its id and secret (shown once)."""
        granted = parse_scopes(scopes)
        if HOLDER_SCOPE in granted:
            raise HolderScopeReservedError(
                "the holder scope is only for holder credentials (sidian holder add)"
            )
        return self._add(
            new_partner_id(),
            name,
            scopes=granted,
            licence_types=licence_types,
            issuers=issuers,
            contact=contact,
            rate_per_s=rate_per_s,
            single_use_tokens=single_use_tokens,
            now_ms=now_ms,
        )

    def add_holder(
        self,
        holder_key: bytes,
        *,
        name: str = "holder",
        rate_per_s: float = HOLDER_RATE_PER_S,
        now_ms: int | None = None,
    ) -> NewPartner:
        """A new holder credential bound to ``holder_key`` (the keyed hash of
        the holder's ID, never the ID): scope ``holder`` only; its id and
        secret (shown once)."""
        if len(holder_key) != 16:
            raise ValueError("a holder key is 16 bytes")
        return self._add(
            new_holder_credential_id(),
            name,
            scopes=frozenset({HOLDER_SCOPE}),
            rate_per_s=rate_per_s,
            holder_key=holder_key,
            now_ms=now_ms,
        )

    def _add(
        self,
        partner_id: str,
        name: str,
        *,
        scopes: frozenset[str],
        licence_types: Iterable[str] = (),
        issuers: Iterable[str] = (),
        contact: str = "",
        rate_per_s: float = DEFAULT_RATE_PER_S,
        single_use_tokens: bool = False,
        holder_key: bytes | None = None,
        now_ms: int | None = None,
    ) -> NewPartner:
        now = _now_ms() if now_ms is None else now_ms
        secret = new_secret()
        nonce, wrapped = self._wrap(partner_id, secret)
        self.store.partner_add(
            PartnerRow(
                id=partner_id,
                name=_check_text(name, "name", required=True),
                contact=_check_text(contact, "contact", required=False),
                status="active",
                wrap_nonce=nonce,
                wrapped_secret=wrapped,
                scopes=tuple(sorted(scopes)),
                licence_types=check_codes(licence_types, "licence type"),
                issuers=check_codes(issuers, "issuer"),
                rate_per_s=check_rate(rate_per_s),
                single_use_tokens=single_use_tokens,
                created_at=now,
                secret_rotated_at=now,
                holder_key=holder_key,
            )
        )
        return NewPartner(partner_id, secret)

    def _set_status(self, partner_id: str, status: str) -> Partner:
        if not self.store.partner_set_status(partner_id, status):
            raise UnknownPartnerError(f"no partner {partner_id}")
        self.forget(partner_id)
        return self.get(partner_id)

    def suspend(self, partner_id: str) -> Partner:
        return self._set_status(partner_id, "suspended")

    def resume(self, partner_id: str) -> Partner:
        return self._set_status(partner_id, "active")

    def rotate_secret(self, partner_id: str, *, now_ms: int | None = None) -> NewPartner:
        """A new secret for the partner (the old one stops working at once in
        this process, within the cache time elsewhere); shown once."""
        secret = new_secret()
        nonce, wrapped = self._wrap(partner_id, secret)
        now = _now_ms() if now_ms is None else now_ms
        if not self.store.partner_set_secret(partner_id, nonce, wrapped, now):
            raise UnknownPartnerError(f"no partner {partner_id}")
        self.forget(partner_id)
        return NewPartner(partner_id, secret)

    # ---- reads ------------------------------------------------------------------

    def get(self, partner_id: str) -> Partner:
        """From the store (:class:`UnknownPartnerError` if absent)."""
        row = self.store.partner_get(partner_id)
        if row is None:
            raise UnknownPartnerError(f"no partner {partner_id}")
        return self._partner(row)

    def peek(self, partner_id: str) -> tuple[bool, Partner | None]:
        """``(True, partner or None)`` from the cache if fresh, else
        ``(False, None)``: no I/O, for the event loop."""
        with self._lock:
            hit = self._cache.get(partner_id)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def lookup(self, partner_id: str) -> Partner | None:
        """The partner (or None), cached for ``cache_seconds``: the hot path."""
        found, cached = self.peek(partner_id)
        if found:
            return cached
        now = time.monotonic()
        row = self.store.partner_get(partner_id)
        partner = None if row is None else self._partner(row)
        with self._lock:
            if len(self._cache) >= 10_000:  # bounded: unknown ids are cached too
                self._cache.clear()
            self._cache[partner_id] = (now + self._cache_seconds, partner)
        return partner

    def forget(self, partner_id: str) -> None:
        with self._lock:
            self._cache.pop(partner_id, None)

    def list(self) -> builtins.list[Partner]:
        """Every partner, by id (from the store)."""
        return [self._partner(row) for row in self.store.partners()]
