"""Business hours: SLA targets and ETAs count working time in the queue's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.base.calendar import BusinessCalendar
from bot.base.config import BusinessHours

LONDON = BusinessHours(timezone="Europe/London", start="09:00", end="17:30", holidays="GB")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_hours_within_one_day_and_across_the_evening():
    cal = BusinessCalendar(LONDON)
    assert cal.add(utc(2026, 11, 23, 10), timedelta(hours=4)) == utc(2026, 11, 23, 14)
    # 16:00 + 4h: 1.5h today, 2.5h from 09:00 tomorrow.
    assert cal.add(utc(2026, 11, 23, 16), timedelta(hours=4)) == utc(2026, 11, 24, 11, 30)


def test_weekends_and_public_holidays_are_skipped():
    cal = BusinessCalendar(LONDON)
    # Friday 24 Dec 2027 16:30 + 2h: Christmas and Boxing Day fall on the weekend in 2027,
    # so the substitute bank holidays are Mon 27 and Tue 28 Dec; work resumes Wed 29.
    assert cal.add(utc(2027, 12, 24, 16, 30), timedelta(hours=2)) == utc(2027, 12, 29, 10)
    # Sunday evening request: the clock starts Monday 09:00.
    assert cal.add(utc(2026, 11, 22, 22), timedelta(hours=1)) == utc(2026, 11, 23, 10)


def test_days_keep_the_time_of_day():
    cal = BusinessCalendar(LONDON)
    assert cal.add(utc(2026, 11, 27, 11), timedelta(days=1)) == utc(2026, 11, 30, 11)  # Fri -> Mon
    assert cal.add(utc(2026, 11, 23, 11), timedelta(days=3)) == utc(2026, 11, 26, 11)


def test_elapsed_counts_only_working_time():
    cal = BusinessCalendar(LONDON)
    assert cal.elapsed(utc(2026, 11, 27, 16), utc(2026, 11, 30, 10)) == timedelta(
        hours=2, minutes=30
    )
    assert cal.elapsed(utc(2026, 11, 30, 10), utc(2026, 11, 27, 16)) == timedelta(0)


def test_around_the_clock_calendar():
    cal = BusinessCalendar(
        BusinessHours(
            timezone="UTC",
            days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            start="00:00",
            end="23:59",
        )
    )
    assert cal.add(utc(2026, 11, 28, 12), timedelta(hours=4)) == utc(2026, 11, 28, 16)
