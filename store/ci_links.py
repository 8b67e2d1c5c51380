"""Which configuration items a ticket concerns (`ticket_ci`). The items themselves are
content (`bot/cis.py`); the store keeps only their ids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from store.models import Ticket, TicketCi
from store.sql import insert_ignore

# How a link came about.
HOWS = ("requester_device", "journey_answer", "change", "technician", "problem")


def link_ci(session: Session, ticket_id: int, ci_id: str, how: str, at: datetime) -> bool:
    """Link `ci_id` to the ticket; False when the two were linked already (the first
    link's `how` is kept)."""
    if how not in HOWS:
        raise ValueError(f"unknown way of linking an item: {how!r}")
    return insert_ignore(
        session, TicketCi, {"ticket_id": ticket_id, "ci_id": ci_id, "how": how, "created_at": at}
    )


def unlink_ci(session: Session, ticket_id: int, ci_id: str) -> bool:
    """Remove the link; False when there was none."""
    result = session.execute(
        delete(TicketCi)
        .where(col(TicketCi.ticket_id) == ticket_id, col(TicketCi.ci_id) == ci_id)
        .returning(col(TicketCi.ci_id))
    )
    return len(result.all()) > 0


def links_of(session: Session, ticket_id: int) -> list[TicketCi]:
    """The ticket's links, oldest first."""
    return list(
        session.exec(
            select(TicketCi)
            .where(col(TicketCi.ticket_id) == ticket_id)
            .order_by(col(TicketCi.created_at), col(TicketCi.ci_id))
        ).all()
    )


def cis_of(session: Session, ticket_id: int) -> list[str]:
    """The ids of the items the ticket concerns, oldest link first."""
    return [link.ci_id for link in links_of(session, ticket_id)]


def tickets_of(session: Session, ci_id: str) -> list[int]:
    """The ids of the tickets linked to `ci_id`, oldest ticket first."""
    return list(
        session.exec(
            select(TicketCi.ticket_id)
            .where(col(TicketCi.ci_id) == ci_id)
            .order_by(col(TicketCi.ticket_id))
        ).all()
    )


def linked_tickets(session: Session, ci_id: str) -> list[tuple[Ticket, str]]:
    """The tickets linked to `ci_id` with how each was linked, newest ticket first."""
    rows = session.exec(
        select(Ticket, TicketCi.how)
        .join(TicketCi, col(TicketCi.ticket_id) == col(Ticket.id))
        .where(col(TicketCi.ci_id) == ci_id)
        .order_by(col(Ticket.id).desc())
    ).all()
    return [(ticket, how) for ticket, how in rows]


def cis_of_tickets(session: Session, ticket_ids: list[int]) -> list[TicketCi]:
    """The links of several tickets at once."""
    if not ticket_ids:
        return []
    return list(
        session.exec(
            select(TicketCi)
            .where(col(TicketCi.ticket_id).in_(ticket_ids))
            .order_by(col(TicketCi.ticket_id), col(TicketCi.ci_id))
        ).all()
    )
