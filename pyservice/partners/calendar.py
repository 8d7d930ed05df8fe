"""Working days for the access-application review target (5 working days).

Weekends are not working days, except the make-up working days (调休) a
year's holiday notice declares; declared public holidays are not working
days. Both lists come from configuration (``SIDIAN_WORK_CALENDAR``: a JSON
file ``{"holidays": ["2026-10-01", ...], "workdays": ["2026-09-27", ...]}``),
because the State Council publishes them year by year.

The deadline of a review is the end (24:00, Beijing time) of the Nth working
day after the day the application arrived, so an application that arrives
on a Friday evening is due at the end of the following Friday.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pyservice.errors import MalformedInputError

__all__ = ["BEIJING", "REVIEW_WORKING_DAYS", "WorkCalendar"]

BEIJING: Final = dt.timezone(dt.timedelta(hours=8))
REVIEW_WORKING_DAYS: Final = 5


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def from_lists(cls, holidays: Iterable[str], workdays: Iterable[str] = ()) -> WorkCalendar:
        try:
            hol = frozenset(dt.date.fromisoformat(d) for d in holidays)
            work = frozenset(dt.date.fromisoformat(d) for d in workdays)
        except (TypeError, ValueError) as exc:
            raise MalformedInputError(f"work calendar dates must be YYYY-MM-DD: {exc}") from None
        if hol & work:
            raise MalformedInputError("a day cannot be both a holiday and a make-up working day")
        return cls(hol, work)

    @classmethod
    def load(cls, path: Path | None) -> WorkCalendar:
        if path is None:
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_lists(data.get("holidays", []), data.get("workdays", []))
        except (OSError, ValueError, AttributeError) as exc:
            raise MalformedInputError(f"cannot read the work calendar {path}: {exc}") from None

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The Nth working day after ``day`` (``n >= 1``)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        current = day
        while n:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                n -= 1
        return current

    def review_deadline(
        self, submitted_at: dt.datetime, n: int = REVIEW_WORKING_DAYS
    ) -> dt.datetime:
        """End of the Nth working day after the (Beijing) day of submission."""
        day = submitted_at.astimezone(BEIJING).date()
        last = self.add_working_days(day, n)
        return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), BEIJING)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in ``(start, end]``."""
        days = 0
        current = start
        while current < end:
            current += dt.timedelta(days=1)
            days += self.is_working_day(current)
        return days
