"""The 5-working-day review target: weekends, holidays, make-up working days."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyservice.errors import MalformedInputError
from pyservice.partners.calendar import BEIJING, WorkCalendar

D = dt.date.fromisoformat


def test_plain_weeks() -> None:
    cal = WorkCalendar()
    friday = D("2026-11-27")
    assert cal.add_working_days(friday, 5) == D("2026-12-04")  # the next Friday
    assert cal.add_working_days(D("2026-11-28"), 1) == D("2026-11-30")  # Saturday → Monday
    assert not cal.is_working_day(D("2026-11-29"))


def test_holidays_and_make_up_days() -> None:
    # A golden week: 1 to 7 October are holidays, Sunday 27 September and
    # Saturday 10 October are make-up working days (a typical notice's shape).
    holidays = [f"2026-10-0{d}" for d in range(1, 8)]
    cal = WorkCalendar.from_lists(holidays, ["2026-09-27", "2026-10-10"])
    assert cal.is_working_day(D("2026-09-27"))  # a Sunday, worked
    assert not cal.is_working_day(D("2026-10-05"))  # a Monday, holiday
    # Submitted Friday 25 September: 27 Sep, 28, 29, 30 Sep, then 8 Oct.
    assert cal.add_working_days(D("2026-09-25"), 5) == D("2026-10-08")


def test_deadline_is_end_of_day_beijing() -> None:
    cal = WorkCalendar()
    # 2026-11-27 17:30 UTC is already Saturday 01:30 in Beijing.
    submitted = dt.datetime(2026, 11, 27, 17, 30, tzinfo=dt.UTC)
    deadline = cal.review_deadline(submitted)
    assert deadline == dt.datetime(2026, 12, 5, 0, 0, tzinfo=BEIJING)  # end of Fri 4 Dec
    early = dt.datetime(2026, 11, 27, 9, 0, tzinfo=BEIJING)  # Friday morning
    assert cal.review_deadline(early) == dt.datetime(2026, 12, 5, 0, 0, tzinfo=BEIJING)


@given(st.dates(min_value=D("2020-01-01"), max_value=D("2035-12-31")), st.integers(1, 40))
def test_counting_agrees_with_adding(day: dt.date, n: int) -> None:
    cal = WorkCalendar.from_lists(["2026-10-01", "2027-01-01"], ["2026-10-10"])
    end = cal.add_working_days(day, n)
    assert cal.is_working_day(end)
    assert cal.working_days_between(day, end) == n
    assert (end - day).days <= n * 3 + 10


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"holidays": ["2026-12-31"], "workdays": []}))
    assert not WorkCalendar.load(path).is_working_day(D("2026-12-31"))
    assert WorkCalendar.load(None) == WorkCalendar()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"holidays": ["2026-13-01"]}',
        '{"holidays": ["2026-10-01"], "workdays": ["2026-10-01"]}',
        '["2026-10-01"]',
    ],
)
def test_bad_calendars_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "cal.json"
    path.write_text(content)
    with pytest.raises(MalformedInputError):
        WorkCalendar.load(path)
