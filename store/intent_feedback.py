"""Requests the matcher could not settle alone, for admins to review (`deskbot intents review`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.models import IntentFeedback

KINDS = ("resolved", "not_understood", "out_of_scope", "none_of_these")


def record_feedback(
    *,
    session: Session,
    kind: str,
    text: str,
    language: str,
    person_id: str,
    channel: str,
    now: datetime,
    intent_id: str | None = None,
    candidates: list[Any] | None = None,
) -> IntentFeedback:
    if kind not in KINDS:
        raise ValueError(f"unknown feedback kind {kind!r}")
    row = IntentFeedback(
        kind=kind,
        text=text[:2000],
        language=language,
        intent_id=intent_id,
        candidates=candidates or [],
        person_id=person_id,
        channel=channel,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def list_feedback(*, session: Session, statuses: list[str] | None = None) -> list[IntentFeedback]:
    stmt = select(IntentFeedback).order_by(col(IntentFeedback.id))
    if statuses:
        stmt = stmt.where(col(IntentFeedback.status).in_(statuses))
    return list(session.exec(stmt).all())


def get_feedback(*, session: Session, feedback_id: int) -> IntentFeedback | None:
    return session.get(IntentFeedback, feedback_id)


def review_feedback(
    *,
    session: Session,
    feedback_id: int,
    status: str,
    by: str,
    now: datetime,
    intent_id: str | None = None,
) -> bool:
    """Mark a new row accepted or dismissed; False if it was already reviewed (first wins)."""
    stmt = (
        update(IntentFeedback)
        .where(col(IntentFeedback.id) == feedback_id, col(IntentFeedback.status) == "new")
        .values(status=status, reviewed_by=by, reviewed_at=now, accepted_intent=intent_id)
        .returning(col(IntentFeedback.id))
    )
    return session.execute(stmt).first() is not None
