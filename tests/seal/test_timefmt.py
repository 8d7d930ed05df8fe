"""OFD time texts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyservice.seal.timefmt import format_time, parse_ofd_time


def test_forms_seen_in_files() -> None:
    assert parse_ofd_time("20200723130907.763Z") == 1_595_509_747
    assert format_time(1_595_509_747) == "2020-07-23T13:09:07Z"
    # No zone: China Standard Time.
    assert parse_ofd_time("2020-06-20 17:18:49") == parse_ofd_time("20200620091849Z")
    assert parse_ofd_time("2020-06-20T17:18:49+08:00") == parse_ofd_time("20200620091849Z")
    for bad in (None, "", "yesterday", "2020-13-01 00:00:00", "2020-02-30 00:00:00"):
        assert parse_ofd_time(bad) is None


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_round_trip(t: int) -> None:
    assert parse_ofd_time(format_time(t)) == t


@given(st.text(max_size=40))
def test_never_raises(text: str) -> None:
    parse_ofd_time(text)
