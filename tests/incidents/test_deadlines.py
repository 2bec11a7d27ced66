"""Statutory deadlines across weekends, holidays and transferred days off (2026 calendar)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from qorgau.incidents import deadlines
from qorgau.incidents.constants import KZ_TZ


def local(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=KZ_TZ)


def test_report_deadline_is_calendar_hours_through_a_holiday_weekend():
    event = local(2026, 3, 21, 9)  # Saturday, Nauryz
    assert deadlines.report_due(event) == local(2026, 3, 22, 9)
    assert deadlines.commission_due(event) == event + timedelta(hours=24)


def test_investigation_skips_nauryz_and_transferred_days():
    # Friday 13 March: 16–20 March (5), 21–25 off (weekend, Nauryz, two transferred days),
    # 26, 27, 30, 31 March and 1 April.
    due = deadlines.investigation_due(local(2026, 3, 13))
    assert due.astimezone(KZ_TZ).date() == date(2026, 4, 1)
    assert (due.astimezone(KZ_TZ).hour, due.astimezone(KZ_TZ).minute) == (23, 59)


def test_extension_adds_working_days():
    due = deadlines.investigation_due(local(2026, 3, 13), extension_days=2)
    assert due.astimezone(KZ_TZ).date() == date(2026, 4, 3)


def test_working_days_use_the_local_day_not_utc():
    # 20:00 UTC on Thursday 12 March is already Friday 01:00 in Kazakhstan.
    late_evening = datetime(2026, 3, 12, 20, tzinfo=UTC)
    assert deadlines.investigation_due(late_evening).astimezone(KZ_TZ).date() == date(2026, 4, 1)


def test_act_and_register_deadlines_skip_may_holidays():
    # Investigation ends Thursday 30 April; 1 May is a holiday: 4, 5, 6 May.
    assert deadlines.act_due(local(2026, 4, 30)).astimezone(KZ_TZ).date() == date(2026, 5, 6)
    # Act sent Wednesday 6 May; 7 May holiday, 8 May, 11 May transferred day off, 12 May.
    assert deadlines.register_due(local(2026, 5, 6)).astimezone(KZ_TZ).date() == date(2026, 5, 12)


def test_late_and_overdue_rules():
    due = local(2026, 3, 2, 12)
    assert deadlines.is_late(due, due + timedelta(seconds=1))
    assert not deadlines.is_late(due, due)
