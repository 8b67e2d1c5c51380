"""Persisted conversation (journey) state, one row per channel + person + conversation.

Every inbound message loads and saves its conversation, so these two run as prebuilt Core
statements returning a plain snapshot: the ORM's statement building, identity map and
unit-of-work flush cost several times the SQL itself on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from store.models import ConversationState

_TABLE: Table = ConversationState.__table__  # type: ignore[attr-defined]
_C = _TABLE.c
_LOAD = _TABLE.select().where(
    _C.channel == bindparam("channel"),
    _C.person_id == bindparam("person_id"),
    _C.conversation == bindparam("conversation"),
)
_FIELDS = ("service_id", "language", "data", "updated_at", "expires_at")
# `version + 1` in SQL: two saves of one row in a transaction both count.
_UPDATE = (
    update(_TABLE)
    .where(_C.id == bindparam("row_id"))
    .values({**{name: bindparam(name) for name in _FIELDS}, "version": _C.version + 1})
    .returning(_C.version)
)
_KEY = ("channel", "person_id", "conversation")
# Insert-or-nothing: a row created meanwhile in this transaction (a nested turn in the same
# conversation) is then updated instead of failing the unique key.
_INSERT = {
    name: dialect.insert(_TABLE)
    .values({**{key: bindparam(key) for key in (*_KEY, *_FIELDS)}, "version": 1})
    .on_conflict_do_nothing()
    .returning(_C.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


@dataclass
class Conversation:
    """A snapshot of one conversation row as this transaction read or wrote it."""

    id: int
    channel: str
    person_id: str
    conversation: str
    service_id: str | None
    language: str
    data: dict[str, Any]
    version: int
    updated_at: datetime
    expires_at: datetime | None


def load_conversation(
    *, session: Session, channel: str, person_id: str, conversation: str
) -> Conversation | None:
    found = (
        session.connection()
        .execute(_LOAD, {"channel": channel, "person_id": person_id, "conversation": conversation})
        .first()
    )
    return Conversation(**found._mapping) if found is not None else None


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
    row: Conversation | None = None,
    loaded: bool = False,
) -> Conversation:
    """Create or update the row; the caller holds the conversation lock.

    `row` is the row the caller loaded in this transaction, if any (saves a query);
    `loaded=True` says the caller looked and found none, so it is inserted straight away.
    """
    if row is None and not loaded:
        row = load_conversation(
            session=session, channel=channel, person_id=person_id, conversation=conversation
        )
    values: dict[str, Any] = {
        "service_id": service_id,
        "language": language,
        "data": data,
        "updated_at": now,
        "expires_at": expires_at,
    }
    connection = session.connection()
    if row is None:
        key: dict[str, Any] = {
            "channel": channel,
            "person_id": person_id,
            "conversation": conversation,
        }
        insert = _INSERT[connection.dialect.name]
        row_id = connection.execute(insert, {**key, **values}).scalar_one_or_none()
        if row_id is not None:
            return Conversation(
                id=row_id,
                channel=channel,
                person_id=person_id,
                conversation=conversation,
                version=1,
                **values,
            )
        # It exists after all (written earlier in this transaction): update it.
        row = load_conversation(
            session=session, channel=channel, person_id=person_id, conversation=conversation
        )
        assert row is not None
    version = connection.execute(_UPDATE, {"row_id": row.id, **values}).scalar_one()
    return Conversation(
        id=row.id,
        channel=row.channel,
        person_id=row.person_id,
        conversation=row.conversation,
        version=version,
        **values,
    )


def clear_expiry(*, session: Session, row_id: int) -> None:
    """Stop a conversation's idle clock, leaving everything else as it is."""
    session.connection().execute(update(_TABLE).where(_C.id == row_id).values(expires_at=None))


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
