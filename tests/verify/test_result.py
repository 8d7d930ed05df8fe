"""The verdict policy: VALID only when every check ran and passed and the
status is VALID; a failure beats an undetermined check; nothing ran → UNDETERMINED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pyservice.verify.result import CHECK_NAMES, STATUSES, Check, VerificationResult, decide, iso_ms

PASS = [Check(name, True) for name in CHECK_NAMES]


def test_all_passed_and_status_valid_is_valid() -> None:
    assert decide(PASS, "VALID") == "VALID"


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "VALID"])
def test_every_other_status_is_not_valid(status: str) -> None:
    expected = "UNDETERMINED" if status == "UNDETERMINED" else "INVALID"
    assert decide(PASS, status) == expected


def test_nothing_ran_is_undetermined() -> None:
    assert decide([], "VALID") == "UNDETERMINED"


@given(
    st.lists(
        st.tuples(st.sampled_from(CHECK_NAMES), st.sampled_from([True, False, None])),
        min_size=1,
    ),
    st.sampled_from(STATUSES),
)
def test_valid_only_when_everything_passed(
    outcomes: list[tuple[str, bool | None]], status: str
) -> None:
    checks = [Check(name, ok) for name, ok in outcomes]
    verdict = decide(checks, status)
    all_ok = all(ok is True for _, ok in outcomes)
    assert (verdict == "VALID") == (all_ok and status == "VALID")
    if any(ok is False for _, ok in outcomes):
        assert verdict == "INVALID"
    elif any(ok is None for _, ok in outcomes):
        assert verdict == "UNDETERMINED"


def test_json_shape_and_first_failure() -> None:
    checks = [
        Check("signature", True),
        Check("status", None, "store unreachable"),
        Check("validity_period", False, "expired on 2026-01-01"),
    ]
    result = VerificationResult(
        status="UNDETERMINED",
        status_as_of=datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC),
        checks=checks,
        warnings=["licence_id_check_mismatch"],
    )
    assert result.failed() == checks[2]
    data = result.to_json()
    assert data["result"] == "INVALID"
    assert data["status_as_of"] == "2026-11-27T10:00:00.123Z"
    assert data["checks"][1] == {"name": "status", "ok": None, "detail": "store unreachable"}
    assert data["checks"][0] == {"name": "signature", "ok": True}
    assert set(data) == {
        "result",
        "status",
        "status_as_of",
        "checks",
        "warnings",
        "licence",
        "receipt",
    }


def test_iso_ms_converts_to_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    assert iso_ms(datetime(2026, 11, 27, 18, 0, 0, 999999, tzinfo=beijing)) == (
        "2026-11-27T10:00:00.999Z"
    )


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))]
        ),
    )
)
@example(datetime(4148, 1, 1, 0, 0, 0, 999993, tzinfo=UTC))  # a float timestamp rounds up
def test_iso_ms_is_the_strftime_form_in_utc(when: datetime) -> None:
    # The cached-second formatter against the plain strftime definition.
    expected = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
    assert iso_ms(when) == expected + f"{when.microsecond // 1000:03d}Z"
