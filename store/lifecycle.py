"""The ticket lifecycle: one transition table and one function that applies every change.

Every change to a ticket (status, assignee, priority, answers...) goes through
`transition`. It refuses a status move the table does not allow, applies the change with
one conditional UPDATE (the row must still have the status and assignee the caller read,
so two people acting at once can never both win), and appends the audit event in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from bot.base.metrics import TALLY, TICKETS_RESOLVED
from store import search
from store.models import Ticket, TicketEvent
from store.tickets import STATUSES, add_event

# Where each status may go next. Anything else is refused with InvalidTransition.
# `cancelled`, `rejected` and `closed` are final: a new request starts a new ticket.
_WORKING = ("open", "in_progress", "waiting_on_user", "awaiting_approval", "resolved", "cancelled")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset(
        {"awaiting_approval", "in_progress", "waiting_on_user", "resolved", "cancelled"}
    ),
    "awaiting_approval": frozenset({"open", "in_progress", "rejected", "cancelled"}),
    "open": frozenset(_WORKING) - {"open"},
    "in_progress": frozenset(_WORKING) - {"in_progress"},
    "waiting_on_user": frozenset(_WORKING) - {"waiting_on_user"},
    "reopened": frozenset(_WORKING),
    "resolved": frozenset({"closed", "reopened"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
    "rejected": frozenset(),
}
assert set(TRANSITIONS) == set(STATUSES)
assert all(targets <= set(STATUSES) for targets in TRANSITIONS.values())

# Ticket columns whose words are in its search document.
SEARCHED_COLUMNS = {"title", "description", "answers"}

# Statuses in which a technician picking the ticket up moves it to in_progress.
PICK_UP = ("new", "open", "reopened")


class InvalidTransition(Exception):
    """The lifecycle does not allow moving from `from_status` to `to_status`."""

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(f"a ticket cannot go from {from_status} to {to_status}")
        self.from_status = from_status
        self.to_status = to_status


class Conflict(Exception):
    """Someone else changed the ticket after it was read; `ticket` is now fresh."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"{ticket.number} changed meanwhile (now {ticket.status})")
        self.ticket = ticket


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def transition(
    *,
    session: Session,
    ticket: Ticket,
    actor_id: str | None,
    now: datetime,
    kind: str,
    to: str | None = None,
    note: str = "",
    values: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> TicketEvent:
    """Apply one change to `ticket` and append its audit event.

    Args:
        session: the open write transaction.
        ticket: the ticket as the caller read it; it is refreshed after the change.
        actor_id: who did it (None for the desk itself, e.g. a timer).
        now: when (aware UTC).
        kind: what happened, e.g. "claimed", "resolved", "priority" (the event's kind).
        to: the new status, or None to keep the status (assignee, priority, notes...).
        note: free text kept with the event (resolution note, question, reason...).
        values: other ticket columns to set (assignee_id, priority, resolved_at...).
        data: extra facts for the audit event.

    Returns:
        The appended audit event.

    Raises:
        InvalidTransition: the table does not allow `ticket.status` -> `to`.
        Conflict: the ticket's status or assignee changed since it was read.
    """
    before = ticket.status
    if to is not None and not allowed(before, to):
        raise InvalidTransition(before, to)
    changes: dict[str, Any] = {**(values or {}), "updated_at": now}
    if to is not None:
        changes["status"] = to
    assignee = col(Ticket.assignee_id)
    won = session.execute(
        update(Ticket)
        .where(
            col(Ticket.id) == ticket.id,
            col(Ticket.status) == before,
            assignee.is_(None) if ticket.assignee_id is None else assignee == ticket.assignee_id,
        )
        .values(**changes)
        .returning(col(Ticket.id))
    ).first()
    session.refresh(ticket)
    if won is None:
        raise Conflict(ticket)
    if ticket.id is not None and changes.keys() & SEARCHED_COLUMNS:
        search.reindex(session, ticket.id)

    if to == "resolved" and before != "resolved":
        TALLY.count(TICKETS_RESOLVED, ticket.queue)
    facts = dict(data or {})
    if "assignee_id" in changes:
        facts.setdefault("assignee", changes["assignee_id"])
    return add_event(
        session=session,
        ticket=ticket,
        at=now,
        actor_id=actor_id,
        kind=kind,
        from_status=before if to is not None else None,
        to_status=to,
        note=note,
        data=facts,
    )
