"""Durable timers, follow cursors over append-only tables, and single-replica job slots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from store.models import FollowCursor, JobRun, Timer
from store.sql import insert_ignore


@dataclass(frozen=True)
class Plan:
    """A timer that should exist: its occurrence key, kind, due time and data."""

    key: str
    kind: str
    due_at: datetime
    data: dict[str, Any]


def timers_of(*, session: Session, subject: str) -> list[Timer]:
    stmt = select(Timer).where(Timer.subject == subject).order_by(col(Timer.id))
    return list(session.exec(stmt).all())


def apply_plan(
    *,
    session: Session,
    subject: str,
    plans: Sequence[Plan],
    now: datetime,
    current: Sequence[Timer] | None = None,
) -> tuple[int, int]:
    """Make the subject's pending timers match `plans`. Returns (armed or moved, cancelled).

    A timer that already fired (done) or failed is never armed again; a cancelled one is
    re-armed when it is wanted again (e.g. an SLA clock that stopped and runs again).
    `current` are the subject's timers when the caller has just read them.
    """
    if current is None:
        current = timers_of(session=session, subject=subject)
    existing = {t.key: t for t in current}
    wanted = {p.key for p in plans}
    armed = cancelled = 0
    for plan in plans:
        timer = existing.get(plan.key)
        if timer is None:
            armed += insert_ignore(
                session,
                Timer,
                {
                    "key": plan.key,
                    "kind": plan.kind,
                    "subject": subject,
                    "due_at": plan.due_at,
                    "status": "pending",
                    "data": plan.data,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        elif timer.status == "cancelled" or (
            timer.status == "pending" and (timer.due_at != plan.due_at or timer.data != plan.data)
        ):
            session.execute(
                update(Timer)
                .where(col(Timer.id) == timer.id, col(Timer.status).in_(("pending", "cancelled")))
                .values(status="pending", due_at=plan.due_at, data=plan.data, updated_at=now)
            )
            armed += 1
    stale = [t.id for t in existing.values() if t.status == "pending" and t.key not in wanted]
    if stale:
        session.execute(
            update(Timer)
            .where(col(Timer.id).in_(stale), col(Timer.status) == "pending")
            .values(status="cancelled", updated_at=now)
        )
        cancelled = len(stale)
    return armed, cancelled


def due_ids(*, session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of pending timers whose time has come, earliest first (partial index on due_at)."""
    stmt = (
        select(Timer.id)
        .where(Timer.status == "pending", Timer.due_at <= now)
        .order_by(col(Timer.due_at), col(Timer.id))
        .limit(limit)
    )
    return [i for i in session.exec(stmt).all() if i is not None]


def lock_due(*, session: Session, timer_id: int, now: datetime) -> Timer | None:
    """Take one due timer for this transaction; None if another replica has it or it is gone."""
    stmt = select(Timer).where(Timer.id == timer_id, Timer.status == "pending", Timer.due_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return session.exec(stmt).first()


def finish(
    *, session: Session, timer: Timer, now: datetime, status: str = "done", **data: Any
) -> None:
    timer.status = status
    timer.fired_at = now if status == "done" else timer.fired_at
    timer.updated_at = now
    if data:
        timer.data = {**timer.data, **data}
    session.add(timer)
    session.flush()


def reschedule(*, session: Session, timer: Timer, due_at: datetime, now: datetime) -> None:
    timer.due_at = due_at
    timer.updated_at = now
    session.add(timer)
    session.flush()


def record_failure(
    *, session: Session, timer_id: int, error: str, now: datetime, retry_at: datetime | None
) -> int:
    """Count a failed firing: retry at `retry_at`, or mark the timer failed (None)."""
    values: dict[str, Any] = {
        "attempts": Timer.attempts + 1,
        "last_error": error[:2000],
        "updated_at": now,
    }
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["due_at"] = retry_at
    row = session.execute(
        update(Timer)
        .where(col(Timer.id) == timer_id)
        .values(**values)
        .returning(col(Timer.attempts))
    ).first()
    return int(row[0]) if row else 0


def pending_count(*, session: Session) -> int:
    stmt = select(func.count()).select_from(Timer).where(Timer.status == "pending")
    return int(session.exec(stmt).one())


# Follow cursors -----------------------------------------------------------------------------


def load_cursor(*, session: Session, name: str, now: datetime) -> FollowCursor:
    """The cursor row, locked for this transaction (created at 0 the first time)."""
    insert_ignore(
        session, FollowCursor, {"name": name, "position": 0, "holes": {}, "updated_at": now}
    )
    stmt = select(FollowCursor).where(FollowCursor.name == name)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.exec(stmt).one()


def save_cursor(
    *, session: Session, cursor: FollowCursor, position: int, holes: dict[str, Any], now: datetime
) -> None:
    cursor.position = position
    cursor.holes = holes
    cursor.updated_at = now
    session.add(cursor)
    session.flush()


# Job slots ----------------------------------------------------------------------------------


def claim_slot(*, session: Session, name: str, slot: int, worker: str, now: datetime) -> bool:
    """True for exactly one caller per (name, slot): that replica runs the job this time."""
    return insert_ignore(
        session,
        JobRun,
        {"name": name, "slot": slot, "worker": worker, "started_at": now, "items": 0},
    )


def finish_slot(
    *, session: Session, name: str, slot: int, now: datetime, items: int, error: str | None
) -> None:
    session.execute(
        update(JobRun)
        .where(col(JobRun.name) == name, col(JobRun.slot) == slot)
        .values(finished_at=now, items=items, error=error)
    )


def forget_slots(*, session: Session, before: datetime) -> None:
    session.execute(delete(JobRun).where(col(JobRun.started_at) < before))


def last_runs(*, session: Session, limit: int = 10) -> list[JobRun]:
    stmt = select(JobRun).order_by(col(JobRun.started_at).desc()).limit(limit)
    return list(session.exec(stmt).all())


SLOT_RETENTION = timedelta(days=2)
