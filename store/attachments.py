"""Attachment rows: the files kept for a ticket, and the ticket a thread is about."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from store.models import Attachment, MessageRef, Ticket


def add_attachment(
    *,
    session: Session,
    ticket: Ticket,
    name: str,
    mime: str,
    size: int,
    path: str,
    sha256: str,
    channel: str,
    added_by: str,
    now: datetime,
) -> Attachment:
    assert ticket.id is not None
    row = Attachment(
        ticket_id=ticket.id,
        name=name,
        mime=mime,
        size=size,
        path=path,
        sha256=sha256,
        channel=channel,
        added_by=added_by,
        added_at=now,
    )
    session.add(row)
    session.flush()
    return row


def attachments_of(*, session: Session, ticket_id: int) -> list[Attachment]:
    """A ticket's files, oldest first (their 1-based place is how `/file` names them)."""
    query = (
        select(Attachment)
        .where(Attachment.ticket_id == ticket_id)
        .order_by(col(Attachment.added_at), col(Attachment.id))
    )
    return list(session.exec(query).all())


def ticket_of_thread(*, session: Session, channel: str, conversation: str) -> Ticket | None:
    """The ticket a shared thread is about: raised in it, or its triage card heads it."""
    raised = session.exec(
        select(Ticket)
        .where(Ticket.channel == channel, Ticket.conversation == conversation)
        .order_by(col(Ticket.id).desc())
    ).first()
    if raised is not None:
        return raised
    card = session.exec(
        select(MessageRef).where(
            MessageRef.channel == channel,
            MessageRef.ref == conversation,
            col(MessageRef.key).startswith("card:"),
        )
    ).first()
    if card is None:
        return None
    number = card.key.removeprefix("card:")
    return session.exec(select(Ticket).where(Ticket.number == number)).first()
