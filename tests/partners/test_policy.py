"""Scopes and licence-type/issuer limits: everything not granted is denied."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice.partners.policy import (
    SCOPES,
    Grant,
    IssuerDeniedError,
    LicenceTypeDeniedError,
    ScopeDeniedError,
    UnknownScopeError,
    parse_scopes,
)

BUSINESS_LICENCE = "91100000000013338W032"
DRIVING_LICENCE = "11100000000013338W071"


def test_parse_scopes() -> None:
    assert parse_scopes("verify:qr, status:read,") == {"verify:qr", "status:read"}
    assert parse_scopes(["admin"]) == {"admin"}
    assert parse_scopes("") == frozenset()
    with pytest.raises(UnknownScopeError, match="verify:all"):
        parse_scopes("verify:qr,verify:all")


@given(st.sets(st.sampled_from(sorted(SCOPES))), st.sampled_from(sorted(SCOPES)))
def test_a_scope_is_allowed_exactly_when_granted(granted: set[str], asked: str) -> None:
    grant = Grant(scopes=frozenset(granted))
    if asked in granted:
        grant.require(asked)
    else:
        with pytest.raises(ScopeDeniedError):
            grant.require(asked)


def test_an_unknown_scope_is_a_bug_not_a_denial() -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        Grant(scopes=frozenset(SCOPES)).require("everything")


def test_a_partner_limited_to_business_licences_cannot_see_driving_licences() -> None:
    grant = Grant(scopes=frozenset({"verify:qr"}), licence_types=frozenset({BUSINESS_LICENCE}))
    grant.require_licence(BUSINESS_LICENCE, "11330100002493816X")
    with pytest.raises(LicenceTypeDeniedError) as caught:
        grant.require_licence(DRIVING_LICENCE, "11330100002493816X")
    assert (caught.value.code, caught.value.http_status) == ("licence_type_denied", 403)


def test_issuer_limits() -> None:
    grant = Grant(scopes=frozenset({"verify:qr"}), issuers=frozenset({"11330100002493816X"}))
    grant.require_licence(DRIVING_LICENCE, "11330100002493816X")
    with pytest.raises(IssuerDeniedError):
        grant.require_licence(DRIVING_LICENCE, "11110000000021135M")


def test_no_limits_means_any_type_and_issuer() -> None:
    Grant(scopes=frozenset({"verify:qr"})).require_licence(DRIVING_LICENCE, "x")
