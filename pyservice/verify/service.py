"""The verification service: gathers what the pure steps need (platform
key, status, licence summary, trust entries) and runs them. This is the
only module of :mod:`pyservice.verify` that does I/O; the steps themselves
are in :mod:`~pyservice.verify.checks`, :mod:`~pyservice.verify.signature`
and :mod:`pyservice.registry.document`, the verdict in
:func:`~pyservice.verify.result.decide`.

Dependency failures never pass: a status that cannot be read makes the
``status`` check ``ok=None`` (``UNDETERMINED``); a summary that cannot be
read makes ``validity_period`` ``ok=None``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from redis.asyncio import Redis

from pyservice.errors import (
    MalformedInputError,
    NonceCheckUnavailableError,
    SidianError,
    StatusUnavailableError,
    StoreUnavailableError,
)
from pyservice.nonces import consume_qr_nonce
from pyservice.partners.disclosure import (
    READ_FULL,
    Disclosures,
    disclosed_fields,
    record_disclosure,
)
from pyservice.partners.policy import Caller
from pyservice.qr import QrToken, decode_token, licence_ref
from pyservice.registry.document import LicenceDocument, parse_ledger, verify_document
from pyservice.registry.errors import UnknownLicenceError
from pyservice.registry.keys import KeyRing, TrustedKey
from pyservice.registry.service import AsyncRegistry, today_in_china
from pyservice.statuscache import StatusCache, StatusRecord
from pyservice.tokencache import VerifiedTokenCache
from pyservice.verify.checks import (
    UNKNOWN_LICENCE,
    PlatformKey,
    check_period,
    check_status,
    check_token,
)
from pyservice.verify.result import Check, VerificationResult
from pyservice.verify.signature import SignatureRequest, verify_signature
from pyservice.verify.summary import LicenceSummary, SummaryCache, summarise

__all__ = ["KEY_TTL", "Verifier", "in_store"]

log = logging.getLogger(__name__)

#: How long a trust entry (key status and window) is reused before it is
#: read again: a compromised key stops counting within this time.
KEY_TTL: Final = 5.0


_T = TypeVar("_T")


async def in_store(fn: Callable[..., _T], *args: Any) -> _T:
    """Run a store read in a worker thread; a store failure (not a
    :class:`SidianError` such as an unknown licence) becomes
    :class:`StoreUnavailableError` (503), never a 500."""
    try:
        return await asyncio.to_thread(fn, *args)
    except SidianError:
        raise
    except Exception as exc:
        log.warning("store unavailable: %s", type(exc).__name__)
        raise StoreUnavailableError("the registry store is unavailable") from exc


class Verifier:
    def __init__(
        self,
        registry: AsyncRegistry,
        keyring: KeyRing,
        status_cache: StatusCache,
        *,
        redis: Redis | None = None,
        sm2_timer: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.time,
        trust_anchors: Sequence[bytes] = (),
    ) -> None:
        self._redis = redis
        #: DER CA certificates a signer certificate must chain to (loaded
        #: once at startup; none: certificate chains are not established).
        self.trust_anchors = tuple(trust_anchors)
        self._registry = registry
        self._keyring = keyring
        self._status_cache = status_cache
        self._sm2_timer = sm2_timer
        self._clock = clock
        self.tokens = VerifiedTokenCache()
        self.summaries = SummaryCache()
        self._keys: dict[str, tuple[float, PlatformKey | None]] = {}
        self._trusted: dict[str, tuple[float, TrustedKey | None]] = {}

    # ---------------------------------------------------------------- keys

    async def trusted(self, kid: str) -> TrustedKey | None:
        now = time.monotonic()
        cached = self._trusted.get(kid)
        if cached is not None and now - cached[0] < KEY_TTL:
            return cached[1]
        key = await in_store(self._keyring.trusted, kid)
        if len(self._trusted) > 10_000:
            self._trusted.clear()
        self._trusted[kid] = (now, key)
        return key

    async def _platform_key(self, kid: str) -> PlatformKey | None:
        now = time.monotonic()
        cached = self._keys.get(kid)
        if cached is not None and now - cached[0] < KEY_TTL:
            return cached[1]
        trusted = await self.trusted(kid)
        key = None
        if trusted is not None:
            verifier = await in_store(self._keyring.verifier, kid)
            key = None if verifier is None else PlatformKey(trusted, verifier)
        if len(self._keys) > 1000:
            self._keys.clear()
        self._keys[kid] = (now, key)
        return key

    # ------------------------------------------------------------ summaries

    async def summary(self, ref: bytes) -> LicenceSummary | None:
        """The summary of the licence ``ref`` names (``None``: unknown)."""
        cached = self.summaries.get(ref)
        if cached is not None:
            return cached

        def load() -> LicenceSummary | None:
            registry = self._registry.registry
            try:
                row = registry.licence_by_ref(ref)
            except UnknownLicenceError:
                return None
            body = json.loads(row.body)
            return summarise(body, registry.licence_type(row.type_code).sensitive)

        summary = await in_store(load)
        if summary is not None:
            self.summaries.put(ref, summary)
        return summary

    async def disclose(
        self,
        summary: LicenceSummary,
        caller: Caller | None,
        *,
        qr_consent: bool,
        request_id: str,
    ) -> tuple[dict[str, Any], bool]:
        """The masked summary, or the full one under the disclosure rule of
        :mod:`pyservice.partners.disclosure` (``licence:read-full`` and the
        holder's consent: the QR flag or a recorded grant). A full
        disclosure is recorded first; if it cannot be, the masked summary
        is returned. Masked too while the request's nonce could only be
        checked by this worker (Redis down): a replay to another worker
        must not disclose again."""
        if caller is None or not caller.grant.may(READ_FULL) or not caller.nonce_shared:
            return summary.masked, False
        fields = disclosed_fields(summary.full, summary.masked)
        if not fields:
            return summary.full, False  # nothing classified to reveal
        store = self._registry.registry.store
        rule = Disclosures(store)
        try:
            basis = await in_store(
                functools.partial(rule.basis, caller, summary.licence_id, qr_consent=qr_consent)
            )
            if basis is None:
                return summary.masked, False
            await in_store(
                functools.partial(
                    record_disclosure,
                    store,
                    partner_id=caller.partner_id,
                    licence_id=summary.licence_id,
                    fields=fields,
                    basis=basis,
                    request_id=request_id,
                )
            )
        except StoreUnavailableError:  # an unrecorded disclosure never happens
            log.warning("disclosure could not be recorded: masked")
            return summary.masked, False
        return summary.full, True

    # --------------------------------------------------------------- status

    async def _status(
        self, ref: bytes, checks: list[Check]
    ) -> tuple[StatusRecord | None, datetime | None, bool]:
        """(record, as_of, known): appends the failing check when the status
        cannot be read or the licence is unknown."""
        try:
            lookup = await self._status_cache.lookup(ref)
        except StatusUnavailableError as exc:
            checks.append(Check("status", None, str(exc)))
            return None, None, True
        record = lookup.record
        if record is None:
            checks.append(Check("licence_ref", False, UNKNOWN_LICENCE))
            return None, None, False
        return record, datetime.fromtimestamp(lookup.as_of, UTC), True

    # ---------------------------------------------------------------- QR

    async def verify_qr(
        self, text: str, caller: Caller | None, *, request_id: str = ""
    ) -> tuple[VerificationResult, QrToken, str | None, bool]:
        """The QR hot path. Returns the result, the decoded token, the
        licence id (if resolved) and whether the full summary was disclosed.
        ``MalformedTokenError`` for a token that does not decode; for a
        partner whose policy makes tokens single-use,
        ``NonceCheckUnavailableError`` (503) when Redis cannot record the
        nonce."""
        now_s = self._clock()
        now = int(now_s)
        # 1. decode (Rust); bad input is an error, not a verdict
        token = decode_token(text)
        # 2-3. platform key, signature, lifetime (verified-token cache first)
        try:
            key = await self._platform_key(token.kid)
        except StoreUnavailableError:
            checks = [
                Check("token_format", True),
                Check("token_signature", None, "platform key unavailable"),
            ]
            return VerificationResult("UNDETERMINED", None, checks), token, None, False
        outcome = check_token(
            token, text, key, self.tokens, now=now, now_ms=int(now_s * 1000), timer=self._sm2_timer
        )
        checks = outcome.checks
        if outcome.token is None:
            return VerificationResult("UNDETERMINED", None, checks), token, None, False
        # 3a. single use (partner policy): the nonce is consumed atomically
        if caller is not None and caller.single_use_tokens:
            if self._redis is None:
                raise NonceCheckUnavailableError("single-use tokens need Redis")
            if not await consume_qr_nonce(self._redis, outcome.token, now=now):
                checks.append(Check("token_single_use", False, "QR token already used"))
                return VerificationResult("UNDETERMINED", None, checks), token, None, False
            checks.append(Check("token_single_use", True))
        # 4-5. reference and status (status cache: in-process → Redis → store)
        ref = token.licence_ref
        record, as_of, _ = await self._status(ref, checks)
        today = today_in_china(int(now_s * 1000))
        status = "UNDETERMINED"
        licence_id = None
        if record is not None:
            licence_id = record.licence_id
            checks.append(Check("licence_ref", True))
            status, status_check = check_status(record, today)
            checks.append(status_check)
        # 6. validity period and the summary (in-process, immutable per id)
        summary = None
        if record is not None:
            try:
                summary = await self.summary(ref)
            except Exception as exc:  # the store is down and the summary not cached
                log.warning("licence summary unavailable: %s", type(exc).__name__)
            if summary is None:
                checks.append(Check("validity_period", None, "licence details unavailable"))
            else:
                if caller is not None:
                    caller.grant.require_licence(summary.type_code, summary.issuer_code)
                checks.append(check_period(summary.valid_from, summary.valid_until, today))
        full = False
        disclosed = None
        if summary is not None:
            disclosed, full = await self.disclose(
                summary, caller, qr_consent=token.consent, request_id=request_id
            )
        result = VerificationResult(status, as_of, checks, licence=disclosed)
        return result, token, licence_id, full

    # ------------------------------------------------------- licence document

    async def verify_document(
        self, doc: LicenceDocument, caller: Caller | None
    ) -> VerificationResult:
        """A signed licence document: its own steps (registry.document), with
        the status from the cache and, when the document carries no ledger
        proof, the stored one."""
        licence_id = doc.licence["id"]
        if not isinstance(licence_id, str):
            raise MalformedInputError("licence.id must be a string")
        ref = licence_ref(licence_id)
        extra: list[Check] = []
        record, as_of, _ = await self._status(ref, extra)
        if doc.ledger is None and record is not None:
            doc = await self._with_stored_proof(doc)
        kids = {doc.kid} | ({doc.ledger.sth.kid} if doc.ledger is not None else set())
        trust = {}
        try:
            for kid in sorted(kids):
                key = await self.trusted(kid)
                if key is not None:
                    trust[kid] = key
        except StoreUnavailableError:
            checks = [Check("signature", None, "trusted keys unavailable"), *extra]
            return VerificationResult("UNDETERMINED", None, checks, licence={"id": licence_id})
        now_ms = int(self._clock() * 1000)
        today = today_in_china(now_ms)
        status: str | None = None
        detail: str | None = None
        if record is not None:
            status, status_check = check_status(record, today)
            detail = status_check.detail
        elif extra:
            detail = extra[0].detail
        result = verify_document(doc, trust, today=today, status=status, status_detail=detail)
        if record is None and extra and extra[0].name == "licence_ref":
            # Not in this registry: the status check ran and failed.
            result.checks = [c for c in result.checks if c.name != "status"]
            result.checks.append(Check("status", False, UNKNOWN_LICENCE))
        result.status_as_of = as_of
        summary = await self._summary_or_none(ref) if record is not None else None
        if summary is not None:
            if caller is not None:
                caller.grant.require_licence(summary.type_code, summary.issuer_code)
            result.licence = summary.masked
        return result

    async def _summary_or_none(self, ref: bytes) -> LicenceSummary | None:
        try:
            return await self.summary(ref)
        except Exception:
            return None

    async def _with_stored_proof(self, doc: LicenceDocument) -> LicenceDocument:
        try:
            exported = await self._registry.export(doc.licence["id"])
        except Exception as exc:  # unknown or store down: the check says so
            log.info("no stored ledger proof: %s", type(exc).__name__)
            return doc
        return dataclasses.replace(doc, ledger=parse_ledger(exported["ledger"]))

    # ------------------------------------------------------------ signature

    async def verify_signature(self, request: SignatureRequest) -> VerificationResult:
        try:
            trusted = None if request.kid is None else await self.trusted(request.kid)
        except StoreUnavailableError:
            checks = [Check("signer_key", None, "trusted keys unavailable")]
            return VerificationResult("UNDETERMINED", None, checks)
        now_ms = int(self._clock() * 1000)
        result = verify_signature(request, trusted, now_ms=now_ms, anchors=self.trust_anchors)
        result.status_as_of = datetime.fromtimestamp(now_ms / 1000, UTC)
        return result
