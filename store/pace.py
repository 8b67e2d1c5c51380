"""Counting a person's messages per minute, for flood control (bot/flood.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from store.models import Pace, Ticket


@dataclass(frozen=True)
class Count:
    """This message's place in the person's current minute."""

    messages: int  # including this one
    warned: bool  # told to slow down earlier in this minute
    window_start: datetime


def count_message(
    session: Session, person_id: str, now: datetime, window: timedelta = timedelta(minutes=1)
) -> Count:
    """Count one more message from `person_id`; a new window starts when the last one is over.

    The caller holds the person's lock (Store.lock) on PostgreSQL; SQLite serialises writers.
    """
    row = session.get(Pace, person_id)
    if row is None:
        row = Pace(person_id=person_id, window_start=now, messages=0)
    elif now - row.window_start >= window or now < row.window_start:
        row.window_start, row.messages, row.warned = now, 0, False
    row.messages += 1
    session.add(row)
    session.flush()
    return Count(row.messages, row.warned, row.window_start)


def mark_warned(session: Session, person_id: str) -> None:
    row = session.get(Pace, person_id)
    if row is not None:
        row.warned = True
        session.add(row)


def tickets_since(session: Session, requester_id: str, since: datetime) -> list[datetime]:
    """When `requester_id`'s tickets opened after `since` were created, oldest first."""
    stmt = (
        select(Ticket.created_at)
        .where(col(Ticket.requester_id) == requester_id, col(Ticket.created_at) > since)
        .order_by(col(Ticket.created_at))
    )
    return list(session.exec(stmt).all())
