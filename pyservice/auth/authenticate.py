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
   script as step 7, and the requests of one event-loop turn share one
   call (:class:`~pyservice.partners.ratelimit.RateLimiter`). Without a
   configured Redis, a bounded in-process set does it — only when the
   service runs as one process (embedded mode); with several workers and no
   Redis the request is refused (503 ``unavailable``). **Redis configured
   but unreachable:** a request to a read-only endpoint
   (:data:`~pyservice.partners.policy.READ_ONLY_SCOPES`: verification and
   status reads) is admitted on this worker's own nonce set, and the nonces
   so admitted are written to Redis once it is back, so a replay is caught
   from then on (during the outage a replay sent to *another* worker would
   get the same read-only answer again); every other request is refused
   (503 ``unavailable``);
7. the partner's rate limit (429 ``rate_limited`` with ``Retry-After``);
8. the scope the handler declared (403 ``scope_denied``).

Every 401 carries ``WWW-Authenticate: SIDIAN-HMAC-SM3``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pyservice.auth.scheme import (
    MAX_SKEW_SECONDS,
    AuthError,
    check_signature,
    check_timestamp,
    parse_authorization,
)
from pyservice.crypto import sm3
from pyservice.errors import NonceCheckUnavailableError, SidianError
from pyservice.nonces import nonce_key
from pyservice.partners.policy import READ_ONLY_SCOPES, Caller
from pyservice.partners.ratelimit import RateDecision, RateLimiter, ReplayedNonce
from pyservice.partners.registry import Partner, PartnerRegistry

__all__ = [
    "NONCE_TTL_SECONDS",
    "AuthUnavailableError",
    "Authenticator",
    "LocalNonces",
    "PartnerSuspendedError",
    "ReplayedNonceError",
    "SignedRequest",
    "UnknownPartnerCredentialsError",
]

log = logging.getLogger(__name__)

#: How long a request nonce is remembered: longer than the ±300 s window.
NONCE_TTL_SECONDS: Final = 600
#: The Redis nonce namespace of request signatures.
REQUEST_NONCE_NAMESPACE: Final = "req"
#: Nonces written back per Redis call after an outage.
BACKFILL_CHUNK: Final = 5_000


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


class LocalNonces:
    """Nonces this process has seen, when Redis cannot record them: the
    embedded single-process service's (no Redis configured), and a worker's
    for read-only requests while Redis is down (then written back to Redis
    when it returns). At most ``max_entries`` (then it refuses, failing
    closed: about ``max_entries / window`` signed requests per second),
    grouped by the second of their signed timestamp. A request is only
    accepted within ``window`` seconds of its timestamp, so a group older
    than that can never be replayed and is dropped whole. Compact: a 64-bit
    fingerprint per nonce to detect replays and its 20-byte value to write
    back (about 60 bytes a nonce)."""

    def __init__(self, window: int = MAX_SKEW_SECONDS, max_entries: int = 300_000) -> None:
        self._window = window
        self._max = max_entries
        self._seen: dict[int, set[int]] = {}
        self._values: dict[int, bytearray] = {}
        self._written: dict[int, int] = {}  # bytes of each group already in Redis
        self._count = 0
        self._unwritten = 0

    def __len__(self) -> int:
        return self._count

    def _expire(self, now: float) -> None:
        oldest = int(now) - self._window - 1
        for ts in [ts for ts in self._seen if ts < oldest]:
            self._count -= len(self._seen.pop(ts))
            self._unwritten -= (len(self._values.pop(ts)) - self._written.pop(ts, 0)) // 20

    def add(self, value: bytes, ts: int, now: float) -> bool:
        """``True`` the first time ``value`` (20 bytes) is seen with ``ts``."""
        self._expire(now)
        fingerprint = int.from_bytes(value[:8], "big")
        seen = self._seen.setdefault(ts, set())
        if fingerprint in seen:
            return False
        if self._count >= self._max:
            raise AuthUnavailableError("too many requests during the Redis outage")
        seen.add(fingerprint)
        self._values.setdefault(ts, bytearray()).extend(value)
        self._count += 1
        self._unwritten += 1
        return True

    def unwritten(self, now: float, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` (timestamp, value) pairs not yet written back."""
        self._expire(now)
        out: list[tuple[int, bytes]] = []
        for ts, values in self._values.items():
            start = self._written.get(ts, 0)
            while start < len(values) and len(out) < limit:
                out.append((ts, bytes(values[start : start + 20])))
                start += 20
            if len(out) >= limit:
                break
        return out

    def mark_written(self, pairs: list[tuple[int, bytes]]) -> None:
        for ts, _ in pairs:
            if ts in self._values:
                self._written[ts] = self._written.get(ts, 0) + 20
                self._unwritten -= 1

    def pending(self) -> bool:
        """Some admitted nonce is not in Redis yet."""
        return self._unwritten > 0


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose signature verified: its partner and nonce."""

    partner: Partner
    nonce: str
    ts: int


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
        # Embedded mode (no Redis, one process): this process's set is complete.
        embedded = redis is None and single_process
        self._local = LocalNonces(max_entries=1_000_000) if embedded else None
        self._clock = clock
        #: Redis configured but down: this worker's nonces for read-only
        #: requests, and what to write back to Redis when it returns.
        self._outage = LocalNonces()
        self._backfill_task: asyncio.Task[None] | None = None
        self._in_outage = False

    async def _lookup(self, partner_id: str) -> Partner | None:
        hit, partner = self.partners.peek(partner_id)
        if hit:
            return partner
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.partners.lookup, partner_id)

    async def _nonce_and_rate(self, signed: SignedRequest, scope: str | None) -> RateDecision:
        """Steps 6 and 7: consume the nonce, then spend a rate-limit token —
        in Redis one script, one round trip."""
        partner = signed.partner
        value = _nonce_value(partner.id, signed.nonce)
        if self._redis is not None:
            key = nonce_key(REQUEST_NONCE_NAMESPACE, value)
            try:
                outcome = await self._limiter.take_with_nonce(
                    partner.id, partner.rate_per_s, key, NONCE_TTL_SECONDS
                )
            except NonceCheckUnavailableError as exc:
                if scope not in READ_ONLY_SCOPES:
                    raise AuthUnavailableError(
                        "cannot check the request nonce: Redis unreachable"
                    ) from exc
                return self._admit_in_outage(partner, value, signed.ts)
            if self._in_outage or self._outage.pending():
                self._outage_over()
            if isinstance(outcome, ReplayedNonce):
                raise ReplayedNonceError("this nonce was already used")
            return outcome
        if self._local is None:
            raise AuthUnavailableError(
                "several workers without Redis cannot rule out a replayed request"
            )
        if not self._local.add(value, signed.ts, time.time()):
            raise ReplayedNonceError("this nonce was already used")
        return self._limiter.take_local(partner.id, partner.rate_per_s)

    def _admit_in_outage(self, partner: Partner, value: bytes, ts: int) -> RateDecision:
        """Step 6 for a read-only request while Redis is down: this
        worker's nonce set, remembered for writing back; step 7 on this
        worker's share of the partner's rate."""
        if not self._in_outage:
            self._in_outage = True
            log.warning("Redis unreachable: read-only requests use per-worker nonce checks")
        if not self._outage.add(value, ts, time.time()):
            raise ReplayedNonceError("this nonce was already used")
        return self._limiter.take_local(partner.id, partner.rate_per_s)

    def _outage_over(self) -> None:
        if self._in_outage:
            self._in_outage = False
            log.warning("Redis is back: writing back the nonces admitted meanwhile")
        if self._backfill_task is None or self._backfill_task.done():
            self._backfill_task = asyncio.ensure_future(self._write_back())

    async def _write_back(self) -> None:
        """Record in Redis the nonces admitted during the outage (``SET NX``,
        until their timestamp leaves the window), so their replays are
        refused from now on by every worker."""
        redis = self._redis
        assert redis is not None  # noqa: S101 - only scheduled with Redis configured
        while True:
            now = time.time()
            chunk = self._outage.unwritten(now, BACKFILL_CHUNK)
            if not chunk:
                return
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for ts, value in chunk:
                        ttl = int(ts + MAX_SKEW_SECONDS - now) + 2
                        if ttl > 0:
                            pipe.set(
                                nonce_key(REQUEST_NONCE_NAMESPACE, value), "1", nx=True, ex=ttl
                            )
                    await pipe.execute()
            except (RedisError, OSError, TimeoutError):
                return  # tried again after the next request that reaches Redis
            self._outage.mark_written(chunk)

    async def aclose(self) -> None:
        if self._backfill_task is not None:
            await asyncio.gather(self._backfill_task, return_exceptions=True)
        await self._limiter.aclose()

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
        return SignedRequest(partner, credentials.nonce, credentials.ts)

    async def admit(self, signed: SignedRequest, scope: str | None) -> Caller:
        """Steps 6 to 8: the nonce, the rate limit, then ``scope`` (any when ``None``)."""
        partner = signed.partner
        decision = await self._nonce_and_rate(signed, scope)
        decision.raise_if_denied()
        if scope is not None:
            partner.grant.require(scope)
        return Caller(
            partner_id=partner.id,
            name=partner.name,
            grant=partner.grant,
            single_use_tokens=partner.single_use_tokens,
            nonce_shared=decision.source == "redis" or self._redis is None,
            holder_key=partner.holder_key,
        )

    async def authenticate(self, request: web.Request, scope: str | None) -> Caller:
        """:meth:`verify` then :meth:`admit`."""
        return await self.admit(await self.verify(request), scope)
