"""Tickets tied by technicians: related (`/link`) and merged (`/merge`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete
from sqlmodel import Session, col, or_, select

from store.models import Ticket, TicketLink
from store.sql import insert_ignore


def add_link(
    *, session: Session, ticket: Ticket, other: Ticket, kind: str, actor_id: str, now: datetime
) -> bool:
    """Tie `ticket` to `other`; False when the two were tied already (either way round)."""
    assert ticket.id is not None and other.id is not None
    if _tied(session, ticket.id, other.id):
        return False
    return insert_ignore(
        session,
        TicketLink,
        {
            "ticket_id": ticket.id,
            "other_id": other.id,
            "kind": kind,
            "actor_id": actor_id,
            "created_at": now,
        },
    )


def _between(a: int, b: int) -> ColumnElement[bool]:
    return or_(
        (col(TicketLink.ticket_id) == a) & (col(TicketLink.other_id) == b),
        (col(TicketLink.ticket_id) == b) & (col(TicketLink.other_id) == a),
    )


def _tied(session: Session, a: int, b: int) -> bool:
    return session.exec(select(TicketLink.id).where(_between(a, b))).first() is not None


def kind_between(*, session: Session, ticket: Ticket, other: Ticket) -> str | None:
    """How two tickets are tied (`related`, `merged`), either way round; None: not tied."""
    assert ticket.id is not None and other.id is not None
    return session.exec(select(TicketLink.kind).where(_between(ticket.id, other.id))).first()


def remove_related(*, session: Session, ticket: Ticket, other: Ticket) -> bool:
    """Untie two related tickets (either way round); False when they were not related."""
    assert ticket.id is not None and other.id is not None
    gone = session.execute(
        delete(TicketLink)
        .where(_between(ticket.id, other.id), col(TicketLink.kind) == "related")
        .returning(col(TicketLink.id))
    ).first()
    return gone is not None


def links_of(*, session: Session, ticket_id: int) -> list[tuple[str, Ticket]]:
    """What `ticket_id` is tied to, oldest first: (`related` | `merged_into` | `merged_here`,
    the other ticket)."""
    rows = session.exec(
        select(TicketLink)
        .where(or_(col(TicketLink.ticket_id) == ticket_id, col(TicketLink.other_id) == ticket_id))
        .order_by(col(TicketLink.id))
    ).all()
    out: list[tuple[str, Ticket]] = []
    for row in rows:
        mine = row.ticket_id == ticket_id
        other = session.get(Ticket, row.other_id if mine else row.ticket_id)
        if other is None:
            continue
        kind = row.kind if row.kind == "related" else ("merged_into" if mine else "merged_here")
        out.append((kind, other))
    return out


def merged_into(*, session: Session, ticket_id: int) -> list[Ticket]:
    """The tickets merged into `ticket_id` (their requesters follow its notices)."""
    return list(
        session.exec(
            select(Ticket)
            .join(TicketLink, col(TicketLink.ticket_id) == col(Ticket.id))
            .where(col(TicketLink.other_id) == ticket_id, col(TicketLink.kind) == "merged")
            .order_by(col(Ticket.id))
        ).all()
    )
