"""Tickets, their numbers and their append-only audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.base import logcontext
from store import search
from store.models import Counter, Ticket, TicketEvent
from store.sql import insert_ignore, insert_row

STATUSES = (
    "new",
    "awaiting_approval",
    "open",
    "in_progress",
    "waiting_on_user",
    "resolved",
    "closed",
    "cancelled",
    "rejected",
    "reopened",
)
ACTIVE = ("new", "awaiting_approval", "open", "in_progress", "waiting_on_user", "reopened")
DONE = ("resolved", "closed", "cancelled", "rejected")
# No work happens on these any more (a resolved ticket can still be reopened).
FINAL = ("closed", "cancelled", "rejected")


_NEXT_NUMBER = (
    update(Counter)
    .where(col(Counter.name) == "ticket")
    .values(value=col(Counter.value) + 1)
    .returning(col(Counter.value))
)


def next_number(*, session: Session, prefix: str, start: int) -> str:
    """Allocate the next human ticket number (IT-1000, IT-1001...) atomically."""
    connection = session.connection()
    value = connection.execute(_NEXT_NUMBER).scalar_one_or_none()
    if value is None:  # the very first ticket: create the counter, then count
        insert_ignore(session, Counter, {"name": "ticket", "value": start - 1})
        value = connection.execute(_NEXT_NUMBER).scalar_one()
    return f"{prefix}-{value}"


def create_ticket(*, session: Session, number: str, now: datetime, **fields: Any) -> Ticket:
    ticket = Ticket(number=number, created_at=now, updated_at=now, **fields)
    session.add(ticket)
    session.flush()
    search.index_new(session, ticket)
    return ticket


def add_event(
    *,
    session: Session,
    ticket: Ticket | None,
    at: datetime,
    actor_id: str | None,
    kind: str,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append an audit event (never edited or deleted afterwards).

    Written with a Core INSERT (this runs for most messages); pending ORM changes are
    flushed first, so the trail follows them as it did when the event was an ORM add.
    The returned event is a detached record of what was written.
    """
    # From here the turn is about this ticket: its log lines and outbox rows say so.
    logcontext.set_ticket(ticket.number if ticket else None)
    values: dict[str, Any] = {
        "ticket_id": ticket.id if ticket else None,
        "at": at,
        "actor_id": actor_id,
        "kind": kind,
        "from_status": from_status,
        "to_status": to_status,
        "note": note,
        "data": data or {},
    }
    session.flush()
    event = TicketEvent(id=insert_row(session, TicketEvent, values), **values)
    if ticket is not None and ticket.id is not None:
        search.add_words(session, ticket.id, kind, note)  # people's words become searchable
    return event


def get_ticket(*, session: Session, number: str, for_update: bool = False) -> Ticket | None:
    stmt = select(Ticket).where(Ticket.number == number.upper())
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def list_tickets(
    *,
    session: Session,
    requester_id: str | None = None,
    queue: str | None = None,
    statuses: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[Ticket]:
    stmt = select(Ticket)
    if requester_id is not None:
        stmt = stmt.where(Ticket.requester_id == requester_id)
    if queue is not None:
        stmt = stmt.where(Ticket.queue == queue)
    if statuses is not None:
        stmt = stmt.where(col(Ticket.status).in_(list(statuses)))
    stmt = stmt.order_by(col(Ticket.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.exec(stmt).all())


def events_of(*, session: Session, ticket_id: int) -> list[TicketEvent]:
    stmt = (
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
    )
    return list(session.exec(stmt).all())
