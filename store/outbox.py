"""The transactional outbox: messages written with the change that caused them, sent later.

Delivery is at-least-once. A dispatcher claims due rows with a lease (`locked_until`), sends
them and marks each one sent straight away, so a crash can repeat at most the messages that
were in flight. Messages to one conversation leave in the order they were queued: a row is
not claimed while an earlier row of its conversation is leased or waiting for a retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.base import logcontext
from bot.base.messages import Address, Message
from store.models import MessageRef, OutboxMessage
from store.sql import insert_ignore, xact_lock

CLAIM_LOCK = "outbox:claim"


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
    failed_with: str | None = None,
) -> bool:
    """Queue a message; a repeated idem_key is ignored. True when a row was added.

    `available_at` later than `now` schedules the message (quiet hours); a scheduled message
    does not hold back later messages to the same conversation. `failed_with` records a
    send that was already tried and failed (a reply the adapter could not deliver): such a
    message is a retry, and later messages to its conversation wait for it.
    """
    tried = failed_with is not None
    return insert_ignore(
        session,
        OutboxMessage,
        {
            "idem_key": idem_key[:200],
            "channel": channel,
            "conversation": conversation,
            "person_id": person_id,
            "ref_key": ref_key,
            "payload": payload,
            "status": "pending",
            "attempts": 1 if tried else 0,
            "available_at": available_at or now,
            "created_at": now,
            "first_attempt_at": now if tried else None,
            "last_error": failed_with[:2000] if failed_with is not None else None,
            # Whichever turn (or job) is queueing it, for the log lines of its sending.
            "correlation_id": logcontext.correlation_id(),
            "ticket": logcontext.ticket(),
        },
    )


def notify(
    *,
    session: Session,
    to: Address,
    message: Message,
    idem_key: str,
    now: datetime,
    key: str | None = None,
    available_at: datetime | None = None,
    failed_with: str | None = None,
) -> bool:
    """Write `message` for `to` into the outbox in the caller's transaction; a repeated
    idem_key is a no-op.

    `failed_with`: it was tried once already (a reply whose send failed), and why."""
    return enqueue(
        session=session,
        idem_key=idem_key,
        channel=to.channel,
        conversation=to.conversation,
        person_id=to.person_id,
        payload=message.to_dict(),
        now=now,
        ref_key=key,
        available_at=available_at,
        failed_with=failed_with,
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

    A message is skipped while an earlier pending message of its conversation cannot be
    sent now (leased by a worker, or waiting for its retry), so nothing overtakes it.
    Claims are serialised by a transaction lock (PostgreSQL advisory lock; SQLite's single
    writer): two replicas claiming at once could otherwise each take a different message
    of the same conversation. `FOR UPDATE SKIP LOCKED` also skips rows another transaction
    is marking. The sends themselves run in parallel on every replica.
    """
    channels = list(channels)
    if not channels:
        return []
    xact_lock(session, CLAIM_LOCK)
    earlier = aliased(OutboxMessage)
    blocked = (
        select(col(earlier.id))
        .where(
            col(earlier.channel) == col(OutboxMessage.channel),
            col(earlier.conversation) == col(OutboxMessage.conversation),
            col(earlier.status) == "pending",
            col(earlier.id) < col(OutboxMessage.id),
            or_(
                col(earlier.locked_until) >= now,
                and_(col(earlier.attempts) > 0, col(earlier.available_at) > now),
            ),
        )
        .exists()
    )
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            col(OutboxMessage.channel).in_(channels),
            OutboxMessage.available_at <= now,
            or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now),
            ~blocked,
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    if conversation is not None:
        due = due.where(OutboxMessage.conversation == conversation)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=OutboxMessage)
    ids = [i for i in session.exec(due).all() if i is not None]
    if not ids:
        return []
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids))
        .values(
            locked_by=worker,
            locked_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
            first_attempt_at=func.coalesce(OutboxMessage.first_attempt_at, now),
        )
    )
    rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))).all()
    return sorted(rows, key=lambda r: r.id or 0)


def mark_sent(*, session: Session, message_id: int, now: datetime) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(status="sent", sent_at=now, locked_until=None, locked_by=None)
    )


def retry_later(
    *, session: Session, message_id: int, error: str, retry_at: datetime, counted: bool = True
) -> None:
    """Release a failed message until `retry_at`.

    `counted=False` (rate limited: the platform asked us to wait) gives the attempt back, so
    a long spell of 429s never turns into a dead letter by count.
    """
    values: dict[str, Any] = {
        "last_error": error[:2000],
        "locked_until": None,
        "locked_by": None,
        "available_at": retry_at,
    }
    if not counted:
        values["attempts"] = OutboxMessage.attempts - 1
    session.execute(
        update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(**values)
    )


def mark_dead(*, session: Session, message_id: int, error: str) -> None:
    """Give up on a message; it stays in the table for `deskbot outbox retry`."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(status="dead", last_error=error[:2000], locked_until=None, locked_by=None)
    )


WITHHELD = "withheld"  # for someone who left: kept on record, never sent (bot/leavers.py)


def withhold(
    *, session: Session, person_ids: Sequence[str], reason: str, message_id: int | None = None
) -> int:
    """Stop pending messages to people who left (or the one `message_id`): they stay in the
    table as `withheld` with the reason, and are never sent. Returns how many."""
    if not person_ids:
        return 0
    stmt = update(OutboxMessage).where(
        col(OutboxMessage.status) == "pending", col(OutboxMessage.person_id).in_(list(person_ids))
    )
    if message_id is not None:
        stmt = stmt.where(col(OutboxMessage.id) == message_id)
    stmt = stmt.values(
        status=WITHHELD, last_error=reason[:2000], locked_until=None, locked_by=None
    ).returning(col(OutboxMessage.id))
    return len(session.execute(stmt).all())


def mark_failed(
    *, session: Session, message_id: int, error: str, retry_at: datetime | None
) -> None:
    """Release a message for another attempt at `retry_at`, or dead-letter it (None)."""
    if retry_at is None:
        mark_dead(session=session, message_id=message_id, error=error)
    else:
        retry_later(session=session, message_id=message_id, error=error, retry_at=retry_at)


def release(*, session: Session, message_id: int) -> None:
    """Give a claimed message back untouched (its attempt did not happen)."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(locked_until=None, locked_by=None, attempts=OutboxMessage.attempts - 1)
    )


def pending_count(*, session: Session) -> int:
    stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
    return int(session.exec(stmt).one())


@dataclass(frozen=True)
class OutboxStats:
    counts: dict[str, int]
    oldest_pending: datetime | None


def stats(*, session: Session) -> OutboxStats:
    """Messages per status and the age of the oldest pending one (for `deskbot outbox`)."""
    rows = session.exec(
        select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
    ).all()
    oldest = session.exec(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
    ).one()
    return OutboxStats({status: int(n) for status, n in rows}, oldest)


def dead_letters(*, session: Session, limit: int = 100) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "dead")
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def requeue(*, session: Session, message_ids: Sequence[int] | None, now: datetime) -> int:
    """Send dead letters again (all of them when `message_ids` is None); returns how many.

    The age limit counts from the next attempt, so a message can be retried long after it died.
    """
    stmt = update(OutboxMessage).where(col(OutboxMessage.status) == "dead")
    if message_ids is not None:
        stmt = stmt.where(col(OutboxMessage.id).in_(list(message_ids)))
    stmt = stmt.values(
        status="pending", attempts=0, available_at=now, first_attempt_at=None, last_error=None
    ).returning(col(OutboxMessage.id))
    return len(session.execute(stmt).all())


def remember_ref(
    *, session: Session, channel: str, key: str, conversation: str, ref: str, now: datetime
) -> None:
    row = session.get(MessageRef, (channel, key, conversation))
    if row is None:
        row = MessageRef(
            channel=channel, key=key, conversation=conversation, ref=ref, updated_at=now
        )
    row.conversation, row.ref, row.updated_at = conversation, ref, now
    session.add(row)


def find_ref(*, session: Session, channel: str, key: str, conversation: str) -> MessageRef | None:
    return session.get(MessageRef, (channel, key, conversation))
