"""Satisfaction surveys and people's notice preferences (mute)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.models import NoticePreference, Survey
from store.sql import insert_ignore


def create_survey(
    *, session: Session, ticket_id: int, person_id: str, now: datetime
) -> Survey | None:
    """Record a survey for a ticket; None if that ticket already had one."""
    if not insert_ignore(
        session,
        Survey,
        {"ticket_id": ticket_id, "person_id": person_id, "sent_at": now, "comment": ""},
    ):
        return None
    return session.exec(select(Survey).where(Survey.ticket_id == ticket_id)).one()


def surveyed_since(*, session: Session, person_id: str, since: datetime) -> bool:
    """Whether the person was sent a survey at or after `since` (the cooldown)."""
    stmt = select(Survey.id).where(Survey.person_id == person_id, Survey.sent_at >= since)
    return session.exec(stmt.limit(1)).first() is not None


def record_score(*, session: Session, survey_id: int, score: int, now: datetime) -> None:
    session.execute(
        update(Survey).where(col(Survey.id) == survey_id).values(score=score, answered_at=now)
    )


def record_comment(*, session: Session, survey_id: int, comment: str, now: datetime) -> None:
    session.execute(
        update(Survey)
        .where(col(Survey.id) == survey_id)
        .values(comment=comment[:4000], answered_at=now)
    )


def preference(*, session: Session, person_id: str) -> NoticePreference | None:
    return session.get(NoticePreference, person_id)


def set_muted(
    *, session: Session, person_id: str, muted: bool, until: datetime | None, now: datetime
) -> None:
    row = session.get(NoticePreference, person_id) or NoticePreference(
        person_id=person_id, updated_at=now
    )
    row.muted, row.muted_until, row.updated_at = muted, until if muted else None, now
    session.add(row)
    session.flush()


def is_muted(*, session: Session, person_id: str, now: datetime) -> bool:
    row = session.get(NoticePreference, person_id)
    if row is None or not row.muted:
        return False
    return row.muted_until is None or row.muted_until > now
