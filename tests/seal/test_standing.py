"""The seal_status policy: filing, cancellation and validity windows at
the signing time (whole seconds, failing closed at the boundaries)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyservice.seal import verify_ofd
from pyservice.seal.standing import SealStanding, apply_to_report, standing_check
from tests.seal_testkit import T_2024, T_2026, T_2029, make_pki, make_signed_ofd

FILED = T_2026 * 1000 + 500  # filed half a second into T_2026
STANDING = SealStanding("11010000000001", "active", FILED, None, ((T_2024, T_2029),))


def _kind(standing: SealStanding, at: int | None) -> str:
    check, kind = standing_check(standing, at)
    assert check.name == "seal_status"
    assert check.ok is (kind == "VALID")
    return kind


def test_filing_boundary() -> None:
    assert _kind(STANDING, T_2026 - 1) == "NOT_FILED"
    assert _kind(STANDING, T_2026) == "VALID"  # the same second as the filing
    assert _kind(STANDING, None) == "UNDETERMINED"
    never = SealStanding("x", "made", None, None, ((T_2024, T_2029),))
    assert _kind(never, T_2026) == "NOT_FILED"


def test_cancellation_boundary() -> None:
    cancelled = SealStanding("x", "cancelled", FILED, (T_2026 + 100) * 1000 + 999, STANDING.windows)
    assert _kind(cancelled, T_2026 + 99) == "VALID"
    assert _kind(cancelled, T_2026 + 100) == "CANCELLED"  # same second: fails closed
    assert _kind(cancelled, T_2026 + 5000) == "CANCELLED"


def test_windows() -> None:
    renewed = SealStanding("x", "active", FILED, None, ((T_2024, T_2029), (T_2024, T_2029 + 99)))
    assert _kind(STANDING, T_2029) == "VALID"
    assert _kind(STANDING, T_2029 + 1) == "EXPIRED"
    assert _kind(renewed, T_2029 + 1) == "VALID"
    assert _kind(renewed, T_2029 + 100) == "EXPIRED"


@given(
    st.integers(0, 2**33),
    st.one_of(st.none(), st.integers(0, 2**43)),
    st.one_of(st.none(), st.integers(0, 2**43)),
)
def test_valid_only_inside_every_bound(at: int, filed: int | None, cancelled: int | None) -> None:
    standing = SealStanding("x", "active", filed, cancelled, ((T_2024, T_2029),))
    inside = (
        filed is not None
        and at >= filed // 1000
        and (cancelled is None or at < cancelled // 1000)
        and T_2024 <= at <= T_2029
    )
    assert (_kind(standing, at) == "VALID") is inside


def test_unknown_seals_only_warn() -> None:
    report = verify_ofd(make_signed_ofd(make_pki()))
    same, kinds = apply_to_report(report, {})
    assert kinds == []
    assert same.result == report.result
    assert same.warnings == ["seal_status_unknown"]
    cancelled = SealStanding("11010000000001", "cancelled", FILED, FILED, STANDING.windows)
    out, kinds = apply_to_report(report, {"11010000000001": cancelled})
    assert kinds == ["CANCELLED"]
    assert out.result == "INVALID"
    assert out.reasons == ["Doc_0/Signs/Sign_0/Signature.xml: seal_status failed"]
