"""The transactional outbox: messages written with the change that caused them, sent later."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from store.models import MessageRef, OutboxMessage
from store.sql import insert_ignore


def enqueue(
    *,
    session: Session,
    idem_key: str,
    channel: str,
    conversation: str,
    person_id: str | None,
    payload: dict[str, Any],
    now: datetime,
    ref_key: str | None = None,
    available_at: datetime | None = None,
) -> bool:
    """Queue a message; a repeated idem_key is ignored. True when a row was added."""
    return insert_ignore(
        session,
        OutboxMessage,
        {
            "idem_key": idem_key,
            "channel": channel,
            "conversation": conversation,
            "person_id": person_id,
            "ref_key": ref_key,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "available_at": available_at or now,
            "created_at": now,
        },
    )


def claim_due(
    *,
    session: Session,
    worker: str,
    now: datetime,
    lease: timedelta,
    channels: Iterable[str],
    conversation: str | None = None,
    limit: int = 50,
) -> list[OutboxMessage]:
    """Lease up to `limit` due messages for `worker`, oldest first.

    PostgreSQL uses FOR UPDATE SKIP LOCKED so several replicas never take the same row;
    SQLite's single writer (BEGIN IMMEDIATE) serialises the claim.
    """
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            col(OutboxMessage.channel).in_(list(channels)),
            OutboxMessage.available_at <= now,
            or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now),
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    if conversation is not None:
        due = due.where(OutboxMessage.conversation == conversation)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.exec(due).all())
    if not ids:
        return []
    session.execute(
        update(OutboxMessage)
        .where(and_(col(OutboxMessage.id).in_(ids)))
        .values(locked_by=worker, locked_until=now + lease, attempts=OutboxMessage.attempts + 1)
    )
    rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))).all()
    return sorted(rows, key=lambda r: r.id or 0)


def mark_sent(*, session: Session, message_id: int, now: datetime) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(status="sent", sent_at=now, locked_until=None, locked_by=None)
    )


def mark_failed(
    *, session: Session, message_id: int, error: str, retry_at: datetime | None
) -> None:
    """Release a message for another attempt at `retry_at`, or dead-letter it (None)."""
    values: dict[str, Any] = {"last_error": error[:2000], "locked_until": None, "locked_by": None}
    if retry_at is None:
        values["status"] = "dead"
    else:
        values["available_at"] = retry_at
    session.execute(
        update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(**values)
    )


def release(*, session: Session, message_id: int) -> None:
    """Give a claimed message back untouched (its attempt did not happen)."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(locked_until=None, locked_by=None, attempts=OutboxMessage.attempts - 1)
    )


def pending_count(*, session: Session) -> int:
    return len(
        session.exec(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).all()
    )


def remember_ref(
    *, session: Session, channel: str, key: str, conversation: str, ref: str, now: datetime
) -> None:
    row = session.get(MessageRef, (channel, key))
    if row is None:
        row = MessageRef(
            channel=channel, key=key, conversation=conversation, ref=ref, updated_at=now
        )
    row.conversation, row.ref, row.updated_at = conversation, ref, now
    session.add(row)


def find_ref(*, session: Session, channel: str, key: str) -> MessageRef | None:
    return session.get(MessageRef, (channel, key))
