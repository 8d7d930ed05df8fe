"""Full disclosure needs licence:read-full AND holder consent (QR flag or a
recorded grant); every disclosure is recorded; otherwise the body is masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyservice.errors import MalformedInputError
from pyservice.masking import mask_body
from pyservice.partners.disclosure import (
    Disclosures,
    disclosed_fields,
    disclosure_basis,
    record_disclosure,
)
from pyservice.partners.policy import Caller, Grant
from pyservice.store.sqlite import SqliteStore
from tests.registry_testkit import DRIVING_TYPE, HOLDER_PERSON, business_body, driving_body

SENSITIVE = DRIVING_TYPE["sensitive"]


def _caller(*scopes: str, pid: str = "p_1") -> Caller:
    return Caller(pid, "合作方", Grant(frozenset({"verify:qr", *scopes})))


@pytest.fixture
def disclosures(tmp_path: Path) -> Disclosures:
    return Disclosures(SqliteStore.open(tmp_path / "s.db"))


@pytest.mark.parametrize(
    ("scopes", "qr", "granted", "expected"),
    [
        ((), False, False, None),
        ((), True, True, None),  # consent without the scope: masked
        (("licence:read-full",), False, False, None),  # the scope without consent: masked
        (("licence:read-full",), True, False, "qr_consent"),
        (("licence:read-full",), False, True, "grant"),
        (("licence:read-full",), True, True, "qr_consent"),
    ],
)
def test_the_rule_needs_both(
    scopes: tuple[str, ...], qr: bool, granted: bool, expected: str | None
) -> None:
    basis = disclosure_basis(_caller(*scopes), qr_consent=qr, consent_granted=granted)
    assert basis == expected
    assert disclosure_basis(None, qr_consent=qr, consent_granted=granted) is None


def test_masked_by_default_and_nothing_recorded(disclosures: Disclosures) -> None:
    body = driving_body()
    shown, basis = disclosures.present(
        _caller(), body["id"], body, SENSITIVE, qr_consent=True, request_id="r1"
    )
    assert basis is None
    assert shown == mask_body(body, SENSITIVE)
    assert HOLDER_PERSON not in str(shown)
    assert disclosures.list() == []


def test_qr_consent_discloses_and_records(disclosures: Disclosures) -> None:
    body = driving_body()
    caller = _caller("licence:read-full")
    shown, basis = disclosures.present(
        caller, body["id"], body, SENSITIVE, qr_consent=True, request_id="r1", now_ms=5
    )
    assert (shown, basis) == (body, "qr_consent")
    [record] = disclosures.list(licence_id=body["id"])
    assert (record.partner_id, record.basis, record.request_id, record.at) == (
        "p_1",
        "qr_consent",
        "r1",
        5,
    )
    assert record.fields == ("holder.id", "holder.name", "number")


def test_recorded_consent_is_per_partner_and_expires(disclosures: Disclosures) -> None:
    body = driving_body()
    lid = body["id"]
    disclosures.grant_consent(lid, "p_1", expires_at_ms=1000, now_ms=10)
    mine, other = _caller("licence:read-full"), _caller("licence:read-full", pid="p_2")
    _, basis = disclosures.present(
        mine, lid, body, SENSITIVE, qr_consent=False, request_id="r", now_ms=500
    )
    assert basis == "grant"
    _, basis = disclosures.present(
        other, lid, body, SENSITIVE, qr_consent=False, request_id="r", now_ms=500
    )
    assert basis is None
    _, basis = disclosures.present(
        mine, lid, body, SENSITIVE, qr_consent=False, request_id="r", now_ms=1000
    )
    assert basis is None  # expired
    assert [d.partner_id for d in disclosures.list()] == ["p_1"]
    disclosures.grant_consent(lid, "p_2")
    assert disclosures.has_consent(lid, "p_2")
    assert disclosures.revoke_consent(lid, "p_2")
    assert not disclosures.has_consent(lid, "p_2")
    with pytest.raises(MalformedInputError):
        disclosures.grant_consent(lid, "p_1", expires_at_ms=5, now_ms=10)


def test_an_organisation_holder_has_nothing_classified_to_disclose(
    disclosures: Disclosures,
) -> None:
    body = business_body()  # holder id_type 001: public; no address on its face
    shown, basis = disclosures.present(
        _caller("licence:read-full"),
        body["id"],
        body,
        ["face.address"],
        qr_consent=True,
        request_id="r",
    )
    assert (shown, basis) == (body, None)
    assert disclosures.list() == []


def test_record_disclosure_is_the_shared_entry_point(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "s.db")
    seq = record_disclosure(
        store, partner_id="p", licence_id="L", fields=["holder.id"], basis="grant", request_id="r"
    )
    assert store.disclosures()[0].seq == seq
    with pytest.raises(ValueError, match="basis"):
        record_disclosure(
            store, partner_id="p", licence_id="L", fields=[], basis="asked", request_id="r"
        )


def test_disclosed_fields_lists_only_what_masking_hid() -> None:
    body = driving_body()
    assert disclosed_fields(body, mask_body(body, SENSITIVE)) == (
        "holder.id",
        "holder.name",
        "number",
    )
    assert disclosed_fields(body, body) == ()
