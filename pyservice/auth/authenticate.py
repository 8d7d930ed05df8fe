"""Authenticating a signed request (security.md §Partners), step by step:

1. parse the ``Authorization`` header strictly (401 ``missing_credentials``,
   ``malformed_credentials``);
2. look the partner up (401 ``unknown_partner``);
3. the timestamp is within ±300 s of the server's clock (401 ``stale_timestamp``);
4. the signature over the canonical string of the raw request target and
   the body bytes matches, compared in constant time (401 ``bad_signature``);
5. refuse a suspended partner (401 ``partner_suspended``) — after the
   signature, so only the holder of the secret learns of the suspension;
6. the nonce is consumed atomically (``SET NX EX 600`` in Redis under
   ``sidian:v1:nonce:req:``; 401 ``replayed_nonce``), in the same Lua
   script (one round trip) as step 7 when Redis is used. Without a configured
   Redis, a bounded in-process set does it — only when the service runs as
   one process (embedded mode); with several workers and no Redis, or with
   Redis configured but unreachable, the request is refused (503
   ``unavailable``): a replay can never be let through;
7. the partner's rate limit (429 ``rate_limited`` with ``Retry-After``);
8. the scope the handler declared (403 ``scope_denied``).

Every 401 carries ``WWW-Authenticate: SIDIAN-HMAC-SM3``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from redis.asyncio import Redis

from pyservice.auth.scheme import (
    AuthError,
    check_signature,
    check_timestamp,
    parse_authorization,
)
from pyservice.crypto import sm3
from pyservice.errors import NonceCheckUnavailableError, SidianError
from pyservice.nonces import nonce_key
from pyservice.partners.policy import Caller
from pyservice.partners.ratelimit import RateDecision, RateLimiter, ReplayedNonce
from pyservice.partners.registry import Partner, PartnerRegistry

__all__ = [
    "NONCE_TTL_SECONDS",
    "AuthUnavailableError",
    "Authenticator",
    "LocalNonceSet",
    "PartnerSuspendedError",
    "ReplayedNonceError",
    "SignedRequest",
    "UnknownPartnerCredentialsError",
]

#: How long a request nonce is remembered: longer than the ±300 s window.
NONCE_TTL_SECONDS: Final = 600
#: The Redis nonce namespace of request signatures.
REQUEST_NONCE_NAMESPACE: Final = "req"


class UnknownPartnerCredentialsError(AuthError):
    code = "unknown_partner"


class PartnerSuspendedError(AuthError):
    code = "partner_suspended"


class ReplayedNonceError(AuthError):
    code = "replayed_nonce"


class AuthUnavailableError(SidianError):
    """The nonce could not be recorded, so a replay cannot be ruled out."""

    code = "unavailable"
    http_status = 503


class LocalNonceSet:
    """Nonces seen in the last ``ttl`` seconds, in this process only, at most
    ``max_entries`` of them (about 100 MB at the default: keys are 64-bit
    integers). Entries are kept in arrival order, which is expiry order (one
    TTL for all), so expired ones are dropped from the front. When full of
    unexpired nonces it refuses (fails closed, 503) rather than forgetting
    one that could then be replayed: embedded mode sustains about
    ``max_entries / ttl`` (1,600) signed requests per second; beyond that,
    configure Redis."""

    def __init__(self, ttl: float = NONCE_TTL_SECONDS, max_entries: int = 1_000_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._seen: OrderedDict[int, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, value: bytes, now: float) -> bool:
        """``True`` the first time ``value`` (a hash) is seen within ``ttl``."""
        key = int.from_bytes(value[:8], "big")  # 64 bits of a hash: no collisions in practice
        seen = self._seen
        while seen:
            oldest, expires = next(iter(seen.items()))
            if expires > now:
                break
            del seen[oldest]
        if key in seen:
            return False
        if len(seen) >= self._max:
            raise AuthUnavailableError("too many recent requests to rule out a replay")
        seen[key] = now + self._ttl
        return True


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose signature verified: its partner and nonce."""

    partner: Partner
    nonce: str


def _nonce_value(partner_id: str, nonce: str) -> bytes:
    # Nonces are per partner; 20 bytes of SM3 keep the key short and bounded.
    return sm3(f"{partner_id}\n{nonce}".encode("ascii"))[:20]


class Authenticator:
    """Runs the steps of the module docstring for one request."""

    def __init__(
        self,
        partners: PartnerRegistry,
        redis: Redis | None,
        limiter: RateLimiter,
        *,
        single_process: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.partners = partners
        self._redis = redis
        self._limiter = limiter
        self._local = LocalNonceSet() if redis is None and single_process else None
        self._clock = clock

    async def _lookup(self, partner_id: str) -> Partner | None:
        hit, partner = self.partners.peek(partner_id)
        if hit:
            return partner
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.partners.lookup, partner_id)

    async def _nonce_and_rate(self, partner: Partner, nonce: str) -> RateDecision:
        """Steps 6 and 7: consume the nonce, then spend a rate-limit token —
        in Redis one script, one round trip."""
        value = _nonce_value(partner.id, nonce)
        if self._redis is not None:
            try:
                outcome = await self._limiter.take_with_nonce(
                    partner.id,
                    partner.rate_per_s,
                    nonce_key(REQUEST_NONCE_NAMESPACE, value),
                    NONCE_TTL_SECONDS,
                )
            except NonceCheckUnavailableError as exc:
                raise AuthUnavailableError(
                    "cannot check the request nonce: Redis unreachable"
                ) from exc
            if isinstance(outcome, ReplayedNonce):
                raise ReplayedNonceError("this nonce was already used")
            return outcome
        if self._local is None:
            raise AuthUnavailableError(
                "several workers without Redis cannot rule out a replayed request"
            )
        if not self._local.add(value, time.monotonic()):
            raise ReplayedNonceError("this nonce was already used")
        return await self._limiter.take(partner.id, partner.rate_per_s)

    async def verify(self, request: web.Request) -> SignedRequest:
        """Steps 1 to 5: the partner that signed ``request`` (and the nonce
        it used), or the error of the first step that fails."""
        credentials = parse_authorization(request.headers.get("Authorization"))
        partner = await self._lookup(credentials.partner)
        if partner is None:
            raise UnknownPartnerCredentialsError("unknown partner")
        check_timestamp(credentials, self._clock())
        body = await request.read()
        check_signature(credentials, partner.secret, request.method, request.raw_path, body)
        if not partner.active:
            raise PartnerSuspendedError("this partner is suspended")
        return SignedRequest(partner, credentials.nonce)

    async def admit(self, signed: SignedRequest, scope: str | None) -> Caller:
        """Steps 6 to 8: the nonce, the rate limit, then ``scope`` (any when ``None``)."""
        partner = signed.partner
        decision = await self._nonce_and_rate(partner, signed.nonce)
        decision.raise_if_denied()
        if scope is not None:
            partner.grant.require(scope)
        return Caller(
            partner_id=partner.id,
            name=partner.name,
            grant=partner.grant,
            single_use_tokens=partner.single_use_tokens,
            holder_key=partner.holder_key,
        )

    async def authenticate(self, request: web.Request, scope: str | None) -> Caller:
        """:meth:`verify` then :meth:`admit`."""
        return await self.admit(await self.verify(request), scope)
