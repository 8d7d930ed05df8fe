"""Access applications (用证申请审核) over a real store: the 5-working-day
deadline, approval granting exactly what was approved, rejection, overdue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pyservice.errors import MalformedInputError
from pyservice.partners.applications import (
    ApplicationNotPendingError,
    Applications,
    ApprovalExceedsApplicationError,
    NotAPartnerError,
    UnknownApplicationError,
    application_json,
)
from pyservice.partners.calendar import BEIJING, WorkCalendar
from pyservice.partners.policy import UnknownScopeError
from pyservice.partners.registry import (
    HolderScopeReservedError,
    PartnerRegistry,
    UnknownPartnerError,
)
from pyservice.registry.keys import KeyRing
from pyservice.store.sqlite import SqliteStore

T1, T2 = "11100000000013338W032", "11100000000013661B006"


def _ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=BEIJING).timestamp() * 1000)


@pytest.fixture
def env(tmp_path: Path) -> tuple[PartnerRegistry, Applications]:
    store = SqliteStore.open(tmp_path / "s.db")
    partners = PartnerRegistry(store, KeyRing(store, bytes(16)), cache_seconds=60)
    # National Day week: 1-7 October holidays, Saturday 10 October a working day.
    calendar = WorkCalendar.from_lists([f"2026-10-0{d}" for d in range(1, 8)], ["2026-10-10"])
    return partners, Applications(store, calendar, partners)


def test_deadline_is_five_working_days_with_holidays(
    env: tuple[PartnerRegistry, Applications],
) -> None:
    partners, apps = env
    pid = partners.add("A", scopes=["status:read"]).id
    # Friday 27 November 2026 evening → end of Friday 4 December.
    row = apps.apply(pid, purpose="开户核验", scopes=["verify:qr"], now_ms=_ms("2026-11-27T21:00"))
    assert row.due_at == _ms("2026-12-05T00:00")
    # Wednesday 30 September: 8, 9, 10 (Saturday make-up day), 12, 13 October.
    row = apps.apply(pid, purpose="开户核验", scopes=["verify:qr"], now_ms=_ms("2026-09-30T10:00"))
    assert row.due_at == _ms("2026-10-14T00:00")
    js = application_json(row, _ms("2026-10-13T23:59"))
    assert js["overdue"] is False
    assert js["due_at"] == "2026-10-13T16:00:00.000Z"
    assert application_json(row, _ms("2026-10-14T00:00"))["overdue"] is True


def test_approval_grants_exactly_what_was_approved(
    env: tuple[PartnerRegistry, Applications],
) -> None:
    partners, apps = env
    pid = partners.add("A", scopes=["status:read"]).id
    assert partners.lookup(pid) is not None  # cached before the decision
    row = apps.apply(
        pid,
        purpose="银行开户时核验营业执照",
        scopes="verify:qr,verify:licence,licence:read-full",
        licence_types=[T1, T2],
    )
    with pytest.raises(ApprovalExceedsApplicationError):
        apps.approve(row.id, by="admin", scopes=["verify:qr", "issue"])
    with pytest.raises(ApprovalExceedsApplicationError):
        apps.approve(row.id, by="admin", licence_types=[])  # would widen to any type
    with pytest.raises(ApprovalExceedsApplicationError):
        apps.approve(row.id, by="admin", licence_types=["11100000000013338W011"])
    approved = apps.approve(
        row.id, by="admin", scopes=["verify:qr", "verify:licence"], licence_types=[T1]
    )
    assert approved.status == "approved"
    assert approved.granted_scopes == ("verify:licence", "verify:qr")
    looked = partners.lookup(pid)  # the cache entry was dropped
    assert looked is not None
    assert looked.grant.scopes == {"verify:qr", "verify:licence"}  # status:read replaced
    assert looked.grant.licence_types == {T1}
    with pytest.raises(ApplicationNotPendingError):
        apps.approve(row.id, by="admin")
    with pytest.raises(ApplicationNotPendingError):
        apps.reject(row.id, by="admin", reason="late")


def test_approve_as_applied_and_reject_with_reason(
    env: tuple[PartnerRegistry, Applications],
) -> None:
    partners, apps = env
    pid = partners.add("A", scopes=["status:read"]).id
    first = apps.apply(pid, purpose="p", scopes=["verify:qr"], issuers=["430100"], now_ms=1)
    assert apps.approve(first.id, by="admin").granted_issuers == ("430100",)
    second = apps.apply(pid, purpose="p", scopes=["admin"], now_ms=2)
    with pytest.raises(MalformedInputError):
        apps.reject(second.id, by="admin", reason=" ")
    rejected = apps.reject(second.id, by="admin", reason="用途与申请范围不符")
    assert (rejected.status, rejected.reason) == ("rejected", "用途与申请范围不符")
    partner = partners.get(pid)
    assert partner.grant.scopes == {"verify:qr"}  # unchanged by the rejection
    assert [a.id for a in apps.list(partner_id=pid)] == [first.id, second.id]
    assert [a.id for a in apps.list(status="rejected")] == [second.id]


def test_overdue_lists_only_pending_past_deadline(
    env: tuple[PartnerRegistry, Applications],
) -> None:
    partners, apps = env
    pid = partners.add("A", scopes=["status:read"]).id
    old = apps.apply(pid, purpose="p", scopes=["verify:qr"], now_ms=_ms("2026-11-02T09:00"))
    decided = apps.apply(pid, purpose="p", scopes=["verify:qr"], now_ms=_ms("2026-11-02T09:00"))
    apps.reject(decided.id, by="admin", reason="no")
    fresh = apps.apply(pid, purpose="p", scopes=["verify:qr"], now_ms=_ms("2026-11-27T09:00"))
    now = _ms("2026-11-28T09:00")
    assert [a.id for a in apps.overdue(now)] == [old.id]
    assert fresh.id not in {a.id for a in apps.overdue(now)}


def test_bad_applications_are_refused(env: tuple[PartnerRegistry, Applications]) -> None:
    partners, apps = env
    pid = partners.add("A", scopes=["status:read"]).id
    with pytest.raises(UnknownPartnerError):
        apps.apply("p_nobody", purpose="p", scopes=["verify:qr"])
    with pytest.raises(UnknownScopeError):
        apps.apply(pid, purpose="p", scopes=["verify:all"])
    with pytest.raises(MalformedInputError):
        apps.apply(pid, purpose="p", scopes=[])
    with pytest.raises(MalformedInputError):
        apps.apply(pid, purpose="", scopes=["verify:qr"])
    with pytest.raises(MalformedInputError):
        apps.apply(pid, purpose="x" * 1001, scopes=["verify:qr"])
    with pytest.raises(MalformedInputError):
        apps.list(status="maybe")
    with pytest.raises(UnknownApplicationError):
        apps.get("app_missing")
    # the holder scope is never applied for, and a holder credential never applies
    with pytest.raises(HolderScopeReservedError):
        apps.apply(pid, purpose="p", scopes=["verify:qr", "holder"])
    holder = partners.add_holder(bytes(16)).id
    with pytest.raises(NotAPartnerError) as info:
        apps.apply(holder, purpose="p", scopes=["admin"])
    assert (info.value.code, info.value.http_status) == ("not_a_partner", 403)
    assert apps.list() == []
