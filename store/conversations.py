"""Persisted conversation (journey) state, one row per channel + person + conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from store.models import ConversationState


def load_conversation(
    *, session: Session, channel: str, person_id: str, conversation: str
) -> ConversationState | None:
    stmt = select(ConversationState).where(
        ConversationState.channel == channel,
        ConversationState.person_id == person_id,
        ConversationState.conversation == conversation,
    )
    return session.exec(stmt).first()


def save_conversation(
    *,
    session: Session,
    channel: str,
    person_id: str,
    conversation: str,
    service_id: str | None,
    language: str,
    data: dict[str, Any],
    now: datetime,
    expires_at: datetime | None,
    row: ConversationState | None = None,
) -> ConversationState:
    """Create or update the row; the caller holds the conversation lock.

    `row` is the row the caller loaded in this transaction, if any (saves a query).
    """
    if row is None:
        row = load_conversation(
            session=session, channel=channel, person_id=person_id, conversation=conversation
        )
    if row is None:
        row = ConversationState(
            channel=channel, person_id=person_id, conversation=conversation, updated_at=now
        )
    row.service_id = service_id
    row.language = language
    row.data = data
    row.updated_at = now
    row.expires_at = expires_at
    row.version = (row.version or 0) + 1
    session.add(row)
    session.flush()
    return row


def conversations_of(*, session: Session, person_id: str) -> list[ConversationState]:
    stmt = select(ConversationState).where(ConversationState.person_id == person_id)
    return list(session.exec(stmt).all())


def idle_conversations(
    *, session: Session, now: datetime, limit: int = 500
) -> list[ConversationState]:
    """Conversations whose journey (or awaited answer) expired at or before `now`."""
    stmt = (
        select(ConversationState)
        .where(col(ConversationState.expires_at).is_not(None))
        .where(col(ConversationState.expires_at) <= now)
        .order_by(col(ConversationState.expires_at))
        .limit(limit)
    )
    return list(session.exec(stmt).all())
