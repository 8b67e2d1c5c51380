"""A person's view of the desk, read in one transaction: their open requests with what happens
next and when; for technicians, what is assigned to them and what waits in their queues.
Channels show it (the Slack Home tab); nothing here knows how.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.desk import Desk
from bot.directory import Person
from store import tickets as repo
from store.models import Approval, Ticket


@dataclass(frozen=True)
class NextStep:
    """What happens next for a ticket: `kind` is its status (or "new"), `who` the approvers,
    the technician, or the queue that has it."""

    kind: str
    who: str


@dataclass(frozen=True)
class TicketLine:
    number: str
    title: str
    status: str
    priority: str
    queue: str
    expected: datetime | None  # when it should be done (expected date, else the SLA's)
    next: NextStep


@dataclass(frozen=True)
class Overview:
    mine: list[TicketLine]  # at most `limit` of them
    mine_total: int
    staff: bool  # a technician or an admin: the lists below are theirs
    assigned: list[TicketLine]
    assigned_total: int
    waiting: list[TicketLine]  # unassigned, in their queues (every queue for an admin)
    waiting_total: int


def overview(desk: Desk, person: Person, lang: str, *, limit: int) -> Overview:
    with desk.store.read() as session:
        mine = repo.list_tickets(session=session, requester_id=person.id, statuses=repo.ACTIVE)
        assigned: list[Ticket] = []
        waiting: list[Ticket] = []
        staff = person.has_role("technician")
        if staff:
            assigned = list(
                session.exec(
                    select(Ticket)
                    .where(Ticket.assignee_id == person.id, col(Ticket.status).in_(repo.ACTIVE))
                    .order_by(col(Ticket.priority), col(Ticket.id))
                ).all()
            )
            queues = (
                sorted(person.queues)
                if "admin" not in person.roles
                else sorted(desk.settings.queues)
            )
            waiting = [
                t
                for q in queues
                for t in repo.list_tickets(session=session, queue=q, statuses=repo.ACTIVE)
                if t.assignee_id is None
            ]
            waiting.sort(key=lambda t: (t.priority, t.resolution_due or t.created_at))

        def lines(tickets: list[Ticket]) -> list[TicketLine]:
            return [_line(desk, session, t, lang) for t in tickets[:limit]]

        return Overview(
            mine=lines(mine),
            mine_total=len(mine),
            staff=staff,
            assigned=lines(assigned),
            assigned_total=len(assigned),
            waiting=lines(waiting),
            waiting_total=len(waiting),
        )


def _line(desk: Desk, session: Session, ticket: Ticket, lang: str) -> TicketLine:
    return TicketLine(
        number=ticket.number,
        title=ticket.title,
        status=ticket.status,
        priority=ticket.priority,
        queue=ticket.queue,
        expected=ticket.expected_at or ticket.resolution_due,
        next=next_step(desk, session, ticket, lang),
    )


def next_step(desk: Desk, session: Session, ticket: Ticket, lang: str) -> NextStep:
    queue = desk.queue_name(ticket.queue, lang)
    if ticket.status == "awaiting_approval":
        stmt = select(Approval).where(Approval.ticket_id == ticket.id, Approval.status == "pending")
        names = [
            p.name
            for a in session.exec(stmt).all()
            for pid in a.approvers
            if (p := desk.directory.get(pid)) is not None
        ]
        return NextStep("awaiting_approval", ", ".join(names))
    if ticket.status == "in_progress":
        assignee = desk.directory.get(ticket.assignee_id)
        return NextStep("in_progress", assignee.name if assignee else queue)
    if ticket.status in ("waiting_on_user", "reopened"):
        return NextStep(ticket.status, queue)
    return NextStep("new", queue)
