"""Business hours: working days, opening hours, time zone and public holidays.

SLA targets and the ETAs shown to people are counted on this clock: "4h" means four
working hours, "2d" means the same time two working days later.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from bot.base.config import BusinessHours

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessCalendar:
    def __init__(self, hours: BusinessHours) -> None:
        self.tz = ZoneInfo(hours.timezone)
        self.days = {DAYS.index(d) for d in hours.days}
        self.opens = time.fromisoformat(hours.start)
        self.closes = time.fromisoformat(hours.end)
        self.country = hours.holidays

    @cached_property
    def _holidays(self) -> holidays_lib.HolidayBase | None:
        if not self.country:
            return None
        country, _, subdivision = self.country.partition("-")
        return holidays_lib.country_holidays(country, subdiv=subdivision or None)

    def is_business_day(self, day: date) -> bool:
        if day.weekday() not in self.days:
            return False
        return self._holidays is None or day not in self._holidays

    def _open_at(self, day: date) -> datetime:
        return datetime.combine(day, self.opens, self.tz)

    def _close_at(self, day: date) -> datetime:
        return datetime.combine(day, self.closes, self.tz)

    def _next_opening(self, local: datetime) -> datetime:
        """`local` if the desk is open then, else the next moment it opens."""
        day = local.date()
        for _ in range(400):
            if self.is_business_day(day):
                if local < self._open_at(day):
                    return self._open_at(day)
                if local < self._close_at(day):
                    return local
            day += timedelta(days=1)
            local = self._open_at(day)
        raise ValueError("no business day within a year; check business_hours")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start` has elapsed."""
        local = self._next_opening(start.astimezone(self.tz))
        minutes = duration.total_seconds() / 60
        if minutes >= 1440 and minutes % 1440 == 0:
            day = local.date()
            for _ in range(int(minutes // 1440)):
                day += timedelta(days=1)
                while not self.is_business_day(day):
                    day += timedelta(days=1)
            return datetime.combine(day, local.timetz()).astimezone(start.tzinfo)
        return self.add_working(start, duration)

    def add_working(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start` (no whole-day rule: "24h" is
        24 working hours, about three working days)."""
        local = self._next_opening(start.astimezone(self.tz))
        remaining = duration
        for _ in range(100_000):
            available = self._close_at(local.date()) - local
            if remaining <= available:
                return (local + remaining).astimezone(start.tzinfo)
            remaining -= available
            local = self._next_opening(self._close_at(local.date()) + timedelta(seconds=1))
        raise ValueError("duration too long for the business calendar")

    @property
    def day_length(self) -> timedelta:
        """Working time in one business day."""
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def next_opening(self, when: datetime) -> datetime:
        """`when` if it falls in working hours, else the next moment they start."""
        return self._next_opening(when.astimezone(self.tz)).astimezone(when.tzinfo)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two moments (zero if end is before start)."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        day = local_start.date()
        while day <= local_end.date():
            if self.is_business_day(day):
                lo = max(local_start, self._open_at(day))
                hi = min(local_end, self._close_at(day))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total
