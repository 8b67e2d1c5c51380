"""Quiet hours and muting: when a notice may reach a person, and whether it should at all.

Non-urgent notices to requesters wait for the person's working hours in their own time zone
(people.csv). They go at once when they are urgent (P1, or something the person is actively
waiting for) or when the person talked to the bot a moment ago. Muting drops non-essential
notices (nudges, waiting reminders, surveys); essential ones (an auto-close warning, approval
reminders, SLA alerts) are always sent.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlmodel import Session, select

from bot.base.calendar import BusinessCalendar
from bot.base.config import BusinessHours, QuietHours, Weekday
from bot.desk import Desk
from bot.directory import Person
from store.models import ConversationState, TicketEvent
from store.notices import is_muted


def _working_hours(hours: QuietHours, timezone: str) -> BusinessCalendar:
    return _calendar(tuple(hours.days), hours.start, hours.end, timezone)


@lru_cache(maxsize=256)
def _calendar(days: tuple[Weekday, ...], start: str, end: str, timezone: str) -> BusinessCalendar:
    return BusinessCalendar(BusinessHours(timezone=timezone, days=list(days), start=start, end=end))


def recently_active(session: Session, person_id: str, since: datetime) -> bool:
    """Whether the person is in a conversation with the bot (a request or question under
    way) or acted on a ticket at or after `since`."""
    talking = select(ConversationState.id).where(
        ConversationState.person_id == person_id, ConversationState.updated_at >= since
    )
    if session.exec(talking.limit(1)).first() is not None:
        return True
    acted = select(TicketEvent.id).where(TicketEvent.at >= since, TicketEvent.actor_id == person_id)
    return session.exec(acted.limit(1)).first() is not None


def deliver_at(
    desk: Desk, session: Session, person: Person | None, now: datetime, *, urgent: bool
) -> datetime:
    """When a notice to `person` should go out: now, or when their working hours start.

    Args:
        desk: the desk (for the quiet-hours settings).
        session: the open transaction.
        person: the recipient (None: an unknown person, sent at once).
        now: the current time.
        urgent: P1, or something the person is actively waiting for.

    Returns:
        `now` or the next start of the person's working hours.
    """
    hours = desk.settings.notifications.quiet_hours
    if urgent or person is None or not hours.enabled:
        return now
    opening = _working_hours(hours, person.timezone).next_opening(now)
    if opening <= now:
        return now
    if recently_active(session, person.id, now - hours.active_window):
        return now
    return opening


def muted(session: Session, person: Person | None, now: datetime) -> bool:
    return person is not None and is_muted(session=session, person_id=person.id, now=now)
