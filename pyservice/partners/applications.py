"""Access applications (用证申请审核, security.md §Partners).

A partner applies for scopes, licence types and issuers with a stated
purpose. An administrator approves — the partner's grant becomes exactly
what was approved, which may narrow the application but never widen it —
or rejects with a reason. An application states the complete access the
partner asks for: approval replaces the partner's grant, it does not add
to it, so a grant is always the content of one reviewed decision.

Each application is due within 5 working days (:class:`WorkCalendar`:
weekends, the configured holidays and make-up working days); pending ones
past their deadline are listed as overdue.

Methods are synchronous (store I/O): async code runs them in a thread.
"""

from __future__ import annotations

import builtins
import datetime as dt
import secrets
import time
from collections.abc import Iterable
from typing import Any, Final

from pyservice.errors import MalformedInputError, NotFoundError, SidianError
from pyservice.partners.calendar import WorkCalendar
from pyservice.partners.policy import AccessDeniedError, parse_scopes
from pyservice.partners.registry import (
    HOLDER_SCOPE,
    HolderScopeReservedError,
    PartnerRegistry,
    UnknownPartnerError,
    check_codes,
)
from pyservice.store import ApplicationDecision, ApplicationRow, Store

__all__ = [
    "APPLICATION_STATUSES",
    "ApplicationNotPendingError",
    "Applications",
    "ApprovalExceedsApplicationError",
    "NotAPartnerError",
    "UnknownApplicationError",
    "application_json",
]

APPLICATION_STATUSES: Final = ("pending", "approved", "rejected")
_MAX_PURPOSE: Final = 1000
_MAX_REASON: Final = 1000


class NotAPartnerError(AccessDeniedError):
    """A holder credential applying for access: its one scope is ``holder``
    and an approval (which replaces the grant) must never change that."""

    code = "not_a_partner"


class UnknownApplicationError(NotFoundError):
    code = "unknown_application"


class ApplicationNotPendingError(SidianError):
    """The application was already decided (409)."""

    code = "application_not_pending"
    http_status = 409


class ApprovalExceedsApplicationError(SidianError):
    """An approval granting more than the application asked for (422)."""

    code = "approval_exceeds_application"
    http_status = 422


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    at = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def application_json(row: ApplicationRow, now_ms: int) -> dict[str, Any]:
    """The JSON form (times as UTC ISO strings; ``overdue`` as of ``now_ms``)."""
    return {
        "id": row.id,
        "partner_id": row.partner_id,
        "purpose": row.purpose,
        "scopes": list(row.scopes),
        "licence_types": list(row.licence_types),
        "issuers": list(row.issuers),
        "status": row.status,
        "submitted_at": _iso(row.submitted_at),
        "due_at": _iso(row.due_at),
        "overdue": row.status == "pending" and now_ms >= row.due_at,
        "decided_at": _iso(row.decided_at),
        "decided_by": row.decided_by,
        "reason": row.reason,
        "granted": {
            "scopes": list(row.granted_scopes),
            "licence_types": list(row.granted_types),
            "issuers": list(row.granted_issuers),
        },
    }


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise MalformedInputError(f"{what} is required")
    if len(value) > limit or any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise MalformedInputError(f"{what} must be at most {limit} printable characters")
    return value


def _within(approved: tuple[str, ...], applied: tuple[str, ...], what: str) -> None:
    """Approved ⊆ applied, where an empty list means "any"."""
    if not applied:
        return
    if not approved:
        raise ApprovalExceedsApplicationError(f"the application limited {what}; so must approval")
    if not set(approved) <= set(applied):
        raise ApprovalExceedsApplicationError(f"approval grants {what} not applied for")


class Applications:
    """Access applications over a store (thread-safe as the store is)."""

    def __init__(
        self,
        store: Store,
        calendar: WorkCalendar,
        partners: PartnerRegistry | None = None,
    ) -> None:
        self.store = store
        self.calendar = calendar
        self._partners = partners

    def apply(
        self,
        partner_id: str,
        *,
        purpose: str,
        scopes: Iterable[str] | str,
        licence_types: Iterable[str] = (),
        issuers: Iterable[str] = (),
        now_ms: int | None = None,
    ) -> ApplicationRow:
        """File an application; due at the end of the 5th working day."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        partner = self.store.partner_get(partner_id)
        if partner is None:
            raise UnknownPartnerError(f"no partner {partner_id}")
        if partner.holder_key is not None:
            raise NotAPartnerError("a holder credential cannot apply for access")
        wanted = parse_scopes(scopes)
        if not wanted:
            raise MalformedInputError("an application asks for at least one scope")
        if HOLDER_SCOPE in wanted:
            raise HolderScopeReservedError("the holder scope is only for holder credentials")
        submitted = dt.datetime.fromtimestamp(now / 1000, dt.UTC)
        due = self.calendar.review_deadline(submitted)
        row = ApplicationRow(
            id="app_" + secrets.token_hex(8),
            partner_id=partner_id,
            purpose=_text(purpose, "purpose", _MAX_PURPOSE),
            scopes=tuple(sorted(wanted)),
            licence_types=check_codes(licence_types, "licence type"),
            issuers=check_codes(issuers, "issuer"),
            status="pending",
            submitted_at=now,
            due_at=int(due.timestamp() * 1000),
        )
        self.store.application_add(row)
        return row

    def get(self, application_id: str) -> ApplicationRow:
        row = self.store.application_get(application_id)
        if row is None:
            raise UnknownApplicationError(f"no application {application_id}")
        return row

    def list(
        self, *, status: str | None = None, partner_id: str | None = None, limit: int = 1000
    ) -> builtins.list[ApplicationRow]:
        if status is not None and status not in APPLICATION_STATUSES:
            raise MalformedInputError(f"status must be one of {', '.join(APPLICATION_STATUSES)}")
        return self.store.applications(status, partner_id, limit)

    def overdue(self, now_ms: int | None = None) -> builtins.list[ApplicationRow]:
        """Pending applications past their review deadline, oldest first."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return [row for row in self.store.applications("pending") if now >= row.due_at]

    def _decide(self, decision: ApplicationDecision, row: ApplicationRow) -> ApplicationRow:
        if not self.store.application_decide(decision):
            raise ApplicationNotPendingError(f"application {row.id} was already decided")
        if self._partners is not None:
            self._partners.forget(row.partner_id)
        return self.get(row.id)

    def approve(
        self,
        application_id: str,
        *,
        by: str,
        scopes: Iterable[str] | str | None = None,
        licence_types: Iterable[str] | None = None,
        issuers: Iterable[str] | None = None,
        reason: str = "",
        now_ms: int | None = None,
    ) -> ApplicationRow:
        """Approve as applied, or narrowed (``None`` keeps what was applied for)."""
        row = self.get(application_id)
        if row.status != "pending":
            raise ApplicationNotPendingError(f"application {row.id} was already decided")
        granted_scopes = row.scopes if scopes is None else tuple(sorted(parse_scopes(scopes)))
        types = row.licence_types if licence_types is None else check_codes(licence_types, "type")
        issuer_codes = row.issuers if issuers is None else check_codes(issuers, "issuer")
        if not granted_scopes:
            raise MalformedInputError("an approval grants at least one scope")
        if not set(granted_scopes) <= set(row.scopes):
            raise ApprovalExceedsApplicationError("approval grants scopes not applied for")
        _within(types, row.licence_types, "licence types")
        _within(issuer_codes, row.issuers, "issuers")
        decision = ApplicationDecision(
            application_id=row.id,
            status="approved",
            decided_at=int(time.time() * 1000) if now_ms is None else now_ms,
            decided_by=_text(by, "reviewer", 200),
            reason=reason.strip()[:_MAX_REASON],
            scopes=granted_scopes,
            licence_types=types,
            issuers=issuer_codes,
        )
        return self._decide(decision, row)

    def reject(
        self, application_id: str, *, by: str, reason: str, now_ms: int | None = None
    ) -> ApplicationRow:
        """Reject with a reason (required); the partner's grant is unchanged."""
        row = self.get(application_id)
        decision = ApplicationDecision(
            application_id=row.id,
            status="rejected",
            decided_at=int(time.time() * 1000) if now_ms is None else now_ms,
            decided_by=_text(by, "reviewer", 200),
            reason=_text(reason, "reason", _MAX_REASON),
        )
        return self._decide(decision, row)
