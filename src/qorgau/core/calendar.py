"""Working-day arithmetic on Kazakhstan's official calendar (pure; no I/O beyond one CSV read).

Conventions (used for every statutory "N working days" deadline in qorgau):
* A working day is Monday–Friday that is neither a holiday nor a transferred day off, plus any
  weekend day the Government declared a working day (``working_saturday`` / ``working_sunday``).
* The day of the event is day 0; counting starts on the next working day. So "within 3 working
  days after the investigation ends on Friday 3 May" ends on the 3rd working day after that
  Friday: ``add_working_days(date(...3), 3)``. The event day itself never counts, even if it is
  a working day (Civil Code rule: a period starts the day after the event that starts it).
* ``working_days_between(a, b)`` counts working days d with a < d <= b, so
  ``working_days_between(a, add_working_days(a, n)) == n``.
* Hour deadlines ("inform within 24 hours") are calendar hours: they run through nights,
  weekends and holidays, so ``deadline_hours`` is plain addition that keeps the time zone.
The table covers 2018–2030 (``holidays.csv``); dates outside it raise ``CalendarRangeError``
instead of silently treating holidays as working days.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib.resources import files

DAYS_OFF_KINDS = frozenset({"holiday", "transfer_day_off"})
WORKING_KINDS = frozenset({"working_saturday", "working_sunday"})
# Rows whose date is not yet official; excluded when a caller asks for confirmed data only.
UNCONFIRMED_STATUSES = frozenset({"estimated", "unverified"})


class CalendarRangeError(ValueError):
    """The date lies outside the years the holiday table covers."""


@dataclass(frozen=True)
class WorkingCalendar:
    days_off: frozenset[date]
    working_weekend_days: frozenset[date]
    first_year: int
    last_year: int

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, str]], *, confirmed_only: bool = False
    ) -> WorkingCalendar:
        off: set[date] = set()
        working: set[date] = set()
        years: set[int] = set()
        for row in rows:
            day = date.fromisoformat(row["date"])
            years.add(day.year)
            if confirmed_only and row.get("status") in UNCONFIRMED_STATUSES:
                continue
            if row["kind"] in DAYS_OFF_KINDS:
                off.add(day)
            elif row["kind"] in WORKING_KINDS:
                working.add(day)
            else:
                raise ValueError(f"unknown calendar kind {row['kind']!r} on {day}")
        if not years:
            raise ValueError("empty holiday table")
        return cls(frozenset(off), frozenset(working), min(years), max(years))

    def _check(self, day: date) -> None:
        if not self.first_year <= day.year <= self.last_year:
            raise CalendarRangeError(
                f"{day} is outside the holiday table ({self.first_year}–{self.last_year})"
            )

    def is_working_day(self, day: date | datetime) -> bool:
        d = _as_date(day)
        self._check(d)
        if d in self.working_weekend_days:
            return True
        return d.weekday() < 5 and d not in self.days_off

    def add_working_days(self, start: date | datetime, n: int) -> date:
        """The n-th working day after ``start`` (n < 0: before it); n == 0 returns start's date."""
        day = _as_date(start)
        self._check(day)
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days d with a < d <= b; negative when b is before a."""
        start, end = _as_date(a), _as_date(b)
        if end < start:
            return -self.working_days_between(end, start)
        self._check(start)
        self._check(end)
        return sum(
            self.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
        )

    def next_working_day(self, day: date | datetime) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        d = _as_date(day)
        return d if self.is_working_day(d) else self.add_working_days(d, 1)


def deadline_hours(start: datetime, hours: float) -> datetime:
    """Deadline ``hours`` calendar hours after ``start`` (weekends and holidays included)."""
    if hours < 0:
        raise ValueError("hours must be non-negative")
    return start + timedelta(hours=hours)


def _as_date(value: date | datetime) -> date:
    # datetime is a subclass of date: test it first so the time part is dropped.
    return value.date() if isinstance(value, datetime) else value


def read_holiday_rows() -> list[dict[str, str]]:
    text = files("qorgau.registry").joinpath("data/holidays.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_calendar(*, confirmed_only: bool = False) -> WorkingCalendar:
    """The packaged calendar. ``confirmed_only`` drops estimated dates (future Kurban Ait)."""
    return WorkingCalendar.from_rows(read_holiday_rows(), confirmed_only=confirmed_only)


def is_working_day(day: date | datetime) -> bool:
    return load_calendar().is_working_day(day)


def add_working_days(start: date | datetime, n: int) -> date:
    return load_calendar().add_working_days(start, n)


def working_days_between(a: date | datetime, b: date | datetime) -> int:
    return load_calendar().working_days_between(a, b)
