"""Durations and times as people read them, in their language."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.base.texts import Texts


def describe_duration(texts: Texts, lang: str, duration: timedelta) -> str:
    """'4 business hours', '2 business days', '30 minutes' (d and w count working days)."""
    minutes = int(duration.total_seconds() // 60)
    if minutes % 1440 == 0 and minutes >= 1440:
        return texts.plain(lang, "duration.days", n=minutes // 1440)
    if minutes % 60 == 0 and minutes >= 60:
        return texts.plain(lang, "duration.hours", n=minutes // 60)
    return texts.plain(lang, "duration.minutes", n=minutes)


def describe_time(texts: Texts, lang: str, when: datetime, timezone: str) -> str:
    """A local date and time such as 'Tue 25 Nov, 14:00'."""
    local = when.astimezone(ZoneInfo(timezone))
    weekday = texts.list(lang, "weekdays")[local.weekday()]
    return texts.plain(
        lang,
        "datetime",
        weekday=weekday,
        day=local.day,
        month=local.month,
        month_name=texts.list(lang, "months")[local.month - 1],
        time=local.strftime("%H:%M"),
    )
