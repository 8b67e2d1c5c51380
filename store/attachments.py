"""Attachment rows: the files kept for a ticket, the ticket a thread is about, and which
stored files something still refers to (the prune)."""

from __future__ import annotations

import json
import re
from datetime import datetime

from sqlalchemy import String, cast
from sqlmodel import Session, col, select

from store.models import Approval, Attachment, ConversationState, MessageRef, Ticket

_STORED = re.compile(r"\b[0-9a-f]{2}/[0-9a-f]{64}\b")  # a path in the attachment store


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


def referenced_paths(*, session: Session) -> set[str]:
    """Every stored file something refers to: an attachment row, or a file held in a
    conversation for a request whose ticket does not exist yet (a journey under way, or one
    parked on an approval)."""
    paths = set(session.exec(select(Attachment.path).distinct()).all())
    held = session.exec(
        select(ConversationState.data).where(
            cast(ConversationState.data, String).contains('"path"')
        )
    ).all()
    for data in held:
        paths.update(_STORED.findall(json.dumps(data)))
    waiting = session.exec(
        select(Approval.journey_state).where(
            col(Approval.status) == "pending",
            cast(Approval.journey_state, String).contains('"path"'),
        )
    ).all()
    for state in waiting:
        paths.update(_STORED.findall(json.dumps(state)))
    return paths
