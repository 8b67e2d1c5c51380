"""Inbound idempotency: each platform event id is handled once, whatever the process."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session

from store.models import ProcessedEvent
from store.sql import insert_ignore


def claim_event(*, session: Session, channel: str, event_id: str, now: datetime) -> bool:
    """Record `event_id`; False when it was already recorded (a redelivery)."""
    return insert_ignore(
        session, ProcessedEvent, {"channel": channel, "event_id": event_id, "received_at": now}
    )


def was_claimed(*, session: Session, channel: str, event_id: str) -> bool:
    """Whether `event_id` was recorded (handled, or being handled in another transaction
    that has committed)."""
    return session.get(ProcessedEvent, (channel, event_id)) is not None


def forget_events(*, session: Session, before: datetime) -> int:
    """Drop ids older than `before` (platforms stop redelivering after minutes)."""
    result = session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < before))  # type: ignore[arg-type]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


RETENTION = timedelta(days=14)
