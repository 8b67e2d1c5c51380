"""Updates received but not handled yet (see `InboundUpdate`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from store.models import DeadMessage, InboundUpdate
from store.sql import insert_ignore


def keep(
    session: Session, channel: str, updates: Iterable[tuple[str, dict[str, Any]]], now: datetime
) -> None:
    """Keep a batch of (event_id, payload); one already kept stays as it was."""
    for event_id, payload in updates:
        insert_ignore(
            session,
            InboundUpdate,
            {"channel": channel, "event_id": event_id, "payload": payload, "received_at": now},
        )


def waiting(session: Session, channel: str) -> list[dict[str, Any]]:
    """Payloads kept and not yet handled, in the order they arrived."""
    rows = session.exec(select(InboundUpdate).where(InboundUpdate.channel == channel)).all()
    # A batch shares its received_at; within it the platform's own sequence number counts
    # (event ids are strings, so "10" would sort before "9").
    rows = sorted(rows, key=lambda r: (r.received_at, int(r.payload.get("update_id", 0))))
    return [row.payload for row in rows]


def handled(session: Session, channel: str, event_ids: Sequence[str]) -> None:
    """Forget updates that have been handled."""
    if event_ids:
        session.execute(
            delete(InboundUpdate).where(
                col(InboundUpdate.channel) == channel, col(InboundUpdate.event_id).in_(event_ids)
            )
        )


def set_aside(session: Session, message: DeadMessage) -> DeadMessage:
    """Keep a message that could not be handled; returns it with its id."""
    session.add(message)
    session.flush()
    return message


def dead_messages(session: Session, limit: int = 200) -> list[DeadMessage]:
    """The messages set aside, newest first."""
    stmt = select(DeadMessage).order_by(col(DeadMessage.at).desc(), col(DeadMessage.id).desc())
    return list(session.exec(stmt.limit(limit)).all())
