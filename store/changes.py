"""Change records and CAB votes (bot/changes.py decides what they mean)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.models import ApprovalVote, ChangeRecord, Ticket, TicketLink
from store.sql import insert_ignore

# Stages a change no longer holds its window in (nothing will happen in it).
DROPPED = ("rejected", "cancelled")
OUTCOMES = ("succeeded", "failed", "rolled_back")
FAILED = ("failed", "rolled_back")


def add_change(session: Session, record: ChangeRecord) -> ChangeRecord:
    session.add(record)
    session.flush()
    return record


def change_of(session: Session, ticket_id: int | None) -> ChangeRecord | None:
    return session.get(ChangeRecord, ticket_id) if ticket_id is not None else None


def move_stage(
    session: Session,
    record: ChangeRecord,
    before: Sequence[str],
    to: str,
    now: datetime,
    **values: Any,
) -> bool:
    """Move `record` to stage `to` if it is still in one of `before` (two people pressing
    at once: one wins). False when it was not; the record is fresh either way."""
    won = session.execute(
        update(ChangeRecord)
        .where(col(ChangeRecord.ticket_id) == record.ticket_id, col(ChangeRecord.stage).in_(before))
        .values(stage=to, updated_at=now, **values)
        .returning(col(ChangeRecord.ticket_id))
    ).first()
    session.refresh(record)
    return won is not None


def overlapping(
    session: Session, start: datetime, end: datetime, *, exclude: int | None = None
) -> list[tuple[ChangeRecord, Ticket]]:
    """Changes whose window overlaps [start, end), earliest first (dropped ones left out)."""
    rows = session.exec(
        select(ChangeRecord, Ticket)
        .join(Ticket, col(Ticket.id) == col(ChangeRecord.ticket_id))
        .where(
            col(ChangeRecord.window_start) < end,
            col(ChangeRecord.window_end) > start,
            col(ChangeRecord.stage).not_in(DROPPED),
            col(Ticket.status).not_in(DROPPED),  # a change ticket cancelled before its stage
        )
        .order_by(col(ChangeRecord.window_start), col(ChangeRecord.ticket_id))
    ).all()
    return [(r, t) for r, t in rows if r.ticket_id != exclude]


def failed_since(session: Session, since: datetime) -> list[ChangeRecord]:
    """Failed or rolled back changes whose window began at or after `since`."""
    return list(
        session.exec(
            select(ChangeRecord).where(
                col(ChangeRecord.stage).in_(FAILED), col(ChangeRecord.window_start) >= since
            )
        ).all()
    )


def finished_between(
    session: Session, since: datetime, until: datetime
) -> list[tuple[ChangeRecord, Ticket]]:
    """Changes with an outcome reported in [since, until)."""
    rows = session.exec(
        select(ChangeRecord, Ticket)
        .join(Ticket, col(Ticket.id) == col(ChangeRecord.ticket_id))
        .where(
            col(ChangeRecord.stage).in_(OUTCOMES),
            col(ChangeRecord.outcome_at) >= since,
            col(ChangeRecord.outcome_at) < until,
        )
    ).all()
    return [(r, t) for r, t in rows]


def incidents_between(session: Session, since: datetime, until: datetime) -> list[Ticket]:
    """Incident tickets opened in [since, until], oldest first."""
    return list(
        session.exec(
            select(Ticket)
            .where(
                col(Ticket.type) == "incident",
                col(Ticket.created_at) >= since,
                col(Ticket.created_at) <= until,
            )
            .order_by(col(Ticket.id))
        ).all()
    )


def incidents_linked(session: Session, ticket_id: int) -> list[Ticket]:
    """Incident tickets tied to `ticket_id` (either way round)."""
    rows = session.exec(
        select(Ticket)
        .join(
            TicketLink,
            ((col(TicketLink.ticket_id) == ticket_id) & (col(TicketLink.other_id) == Ticket.id))
            | ((col(TicketLink.other_id) == ticket_id) & (col(TicketLink.ticket_id) == Ticket.id)),
        )
        .where(col(Ticket.type) == "incident")
        .order_by(col(Ticket.id))
    ).all()
    return list(rows)


def add_vote(
    session: Session,
    *,
    approval_id: int,
    person_id: str,
    verdict: str,
    reason: str,
    on_behalf_of: str | None,
    at: datetime,
) -> bool:
    """Record one vote; False when this person (or the approver they stand in for) voted."""
    return insert_ignore(
        session,
        ApprovalVote,
        {
            "approval_id": approval_id,
            "person_id": person_id,
            "verdict": verdict,
            "reason": reason,
            "on_behalf_of": on_behalf_of,
            "at": at,
        },
    )


def votes_of(session: Session, approval_id: int) -> list[ApprovalVote]:
    return list(
        session.exec(
            select(ApprovalVote)
            .where(col(ApprovalVote.approval_id) == approval_id)
            .order_by(col(ApprovalVote.at), col(ApprovalVote.person_id))
        ).all()
    )
