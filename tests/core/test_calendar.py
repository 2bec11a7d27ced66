"""Working-day arithmetic on the Kazakhstan calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qorgau.core import calendar as cal
from qorgau.core.calendar import CalendarRangeError, WorkingCalendar, deadline_hours


def test_plain_weekdays_and_weekends() -> None:
    assert cal.is_working_day(date(2024, 11, 25))  # Monday
    assert not cal.is_working_day(date(2024, 11, 23))  # Saturday
    assert not cal.is_working_day(date(2024, 11, 24))  # Sunday


@pytest.mark.parametrize(
    "day",
    [
        date(2024, 1, 1), date(2024, 1, 2), date(2024, 3, 8), date(2024, 3, 21),
        date(2024, 5, 1), date(2024, 5, 7), date(2024, 5, 9), date(2024, 7, 8),
        date(2024, 10, 25), date(2024, 12, 16), date(2021, 12, 1), date(2021, 12, 17),
        date(2023, 6, 28),  # Kurban Ait
    ],
)  # fmt: skip
def test_holidays_are_days_off(day: date) -> None:
    assert not cal.is_working_day(day)


def test_law_changes_of_2022() -> None:
    assert cal.is_working_day(date(2022, 12, 1))  # First President Day abolished
    assert not cal.is_working_day(date(2022, 10, 25))  # Republic Day reinstated
    assert cal.is_working_day(date(2023, 12, 15))  # 17 Dec no longer a holiday (was Sun)


def test_weekend_holiday_carries_over_but_religious_ones_do_not() -> None:
    assert not cal.is_working_day(date(2023, 1, 3))  # 1 Jan 2023 was a Sunday
    assert cal.is_working_day(date(2023, 1, 9))  # 7 Jan 2023 (Sat) Christmas: no carry-over
    assert cal.is_working_day(date(2024, 6, 17))  # Kurban Ait 16 Jun 2024 (Sun): no carry-over
    # Nauryz 2020 fell Sat–Mon: two carried days, Tue 24 and Wed 25 March.
    assert not cal.is_working_day(date(2020, 3, 24))
    assert not cal.is_working_day(date(2020, 3, 25))
    assert cal.is_working_day(date(2020, 3, 26))


def test_government_transfers() -> None:
    assert not cal.is_working_day(date(2024, 5, 8))  # bridge Wednesday
    assert cal.is_working_day(date(2024, 5, 4))  # working Saturday
    assert cal.is_working_day(date(2025, 1, 5))  # working Sunday
    assert cal.is_working_day(date(2020, 5, 11))  # carry-over moved to Fri 8 May 2020
    assert not cal.is_working_day(date(2020, 5, 8))


def test_add_working_days_starts_the_day_after() -> None:
    friday = date(2024, 11, 22)
    assert cal.add_working_days(friday, 0) == friday
    assert cal.add_working_days(friday, 1) == date(2024, 11, 25)
    assert cal.add_working_days(friday, 10) == date(2024, 12, 6)
    assert cal.add_working_days(datetime(2024, 11, 22, 23, 59), 1) == date(2024, 11, 25)


def test_add_working_days_over_a_holiday_cluster() -> None:
    # Investigation ended Fri 3 May 2024: Sat 4 May was a working day, 7–9 May were off.
    assert cal.add_working_days(date(2024, 5, 3), 1) == date(2024, 5, 4)
    assert cal.add_working_days(date(2024, 5, 3), 2) == date(2024, 5, 6)
    assert cal.add_working_days(date(2024, 5, 3), 3) == date(2024, 5, 10)


def test_add_working_days_across_year_end() -> None:
    # 30, 31 Dec; 1–2 Jan holidays; 3 Jan day off; Sun 5 Jan 2025 worked.
    assert cal.add_working_days(date(2024, 12, 27), 3) == date(2025, 1, 5)
    assert cal.add_working_days(date(2024, 12, 27), 4) == date(2025, 1, 6)
    assert cal.add_working_days(date(2025, 1, 6), -4) == date(2024, 12, 27)


def test_working_days_between() -> None:
    assert cal.working_days_between(date(2024, 11, 22), date(2024, 11, 22)) == 0
    assert cal.working_days_between(date(2024, 11, 22), date(2024, 11, 25)) == 1
    assert cal.working_days_between(date(2024, 12, 27), date(2025, 1, 6)) == 4
    assert cal.working_days_between(date(2025, 1, 6), date(2024, 12, 27)) == -4
    # 2024: 262 weekdays - 14 weekday days off + 1 working Saturday (4 May).
    assert cal.working_days_between(date(2023, 12, 31), date(2024, 12, 31)) == 248 + 1


@given(
    start=st.dates(min_value=date(2018, 1, 1), max_value=date(2029, 12, 31)),
    n=st.integers(min_value=0, max_value=60),
)
def test_between_inverts_add(start: date, n: int) -> None:
    end = cal.add_working_days(start, n)
    assert cal.working_days_between(start, end) == n
    if n:
        assert cal.is_working_day(end)


def test_out_of_range_raises() -> None:
    with pytest.raises(CalendarRangeError):
        cal.is_working_day(date(2031, 1, 6))
    with pytest.raises(CalendarRangeError):
        cal.add_working_days(date(2030, 12, 27), 10)


def test_confirmed_only_drops_estimated_kurban_ait() -> None:
    estimated = date(2026, 5, 27)
    assert not cal.load_calendar().is_working_day(estimated)
    assert cal.load_calendar(confirmed_only=True).is_working_day(estimated)


def test_from_rows_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar.from_rows([{"date": "2024-01-01", "kind": "party", "status": ""}])


def test_deadline_hours_is_calendar_time() -> None:
    almaty = timezone(timedelta(hours=5))
    start = datetime(2024, 12, 31, 18, 30, tzinfo=almaty)  # before two holidays
    assert deadline_hours(start, 24) == datetime(2025, 1, 1, 18, 30, tzinfo=almaty)
    assert deadline_hours(start, 24).tzinfo is almaty
    assert deadline_hours(datetime(2024, 1, 1, tzinfo=UTC), 0.5).minute == 30
    with pytest.raises(ValueError):
        deadline_hours(start, -1)
