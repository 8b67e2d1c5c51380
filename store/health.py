"""What the database says about the service right now, for /readyz and /metrics.

Read at scrape time rather than counted as work happens, so the numbers are right whatever
process (or replica) did the work and whatever restarted since: the outbox's depth and
oldest due message, dead letters, approvals waiting and open tickets by queue. One write
transaction (`Store.begin`): on SQLite it takes the write lock for a moment, so a database
that cannot be written (locked by a long job, a full disk) is not called ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlmodel import col

from store.db import Store
from store.models import Approval, DeadMessage, OutboxMessage, Ticket
from store.tickets import ACTIVE


@dataclass(frozen=True)
class Reading:
    """One look at the database."""

    revision: str | None  # the schema's Alembic revision
    outbox_pending: dict[str, int] = field(default_factory=dict)  # by channel
    outbox_due: dict[str, int] = field(default_factory=dict)  # pending and due now
    # By channel: how long the oldest message due and not sent has been due (absent: none).
    oldest_due_seconds: dict[str, float] = field(default_factory=dict)
    outbox_dead: dict[str, int] = field(default_factory=dict)  # dead letters kept, by channel
    inbox_dead: int = 0  # messages set aside (`deskbot inbox`)
    approvals_waiting: int = 0
    oldest_approval_seconds: float = 0.0
    open_tickets: dict[str, int] = field(default_factory=dict)  # by queue


def read(store: Store, now: datetime) -> Reading:
    """Everything in one transaction; raises what the driver raises when the database is
    out of reach (the caller reports it)."""
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    with store.begin() as session:
        conn = session.connection()
        revision = MigrationContext.configure(conn).get_current_revision()
        pending: dict[str, int] = {}
        due: dict[str, int] = {}
        dead: dict[str, int] = {}
        rows = session.execute(
            select(outbox.c.channel, outbox.c.status, func.count())
            .where(outbox.c.status.in_(("pending", "dead")))
            .group_by(outbox.c.channel, outbox.c.status)
        )
        for channel, status, count in rows:
            (dead if status == "dead" else pending)[channel] = int(count)
        rows = session.execute(
            select(outbox.c.channel, func.count(), func.min(outbox.c.available_at))
            .where(outbox.c.status == "pending", outbox.c.available_at <= now)
            .group_by(outbox.c.channel)
        )
        oldest_due: dict[str, float] = {}
        for channel, count, oldest in rows:
            due[channel] = int(count)
            oldest_due[channel] = _age(now, oldest)
        approvals = session.execute(
            select(func.count(), func.min(col(Approval.created_at))).where(
                col(Approval.status) == "pending"
            )
        ).one()
        tickets = session.execute(
            select(col(Ticket.queue), func.count())
            .where(col(Ticket.status).in_(ACTIVE))
            .group_by(col(Ticket.queue))
        )
        inbox_dead = session.execute(select(func.count()).select_from(DeadMessage)).scalar()
        return Reading(
            revision=revision,
            outbox_pending=pending,
            outbox_due=due,
            oldest_due_seconds=oldest_due,
            outbox_dead=dead,
            inbox_dead=int(inbox_dead or 0),
            approvals_waiting=int(approvals[0] or 0),
            oldest_approval_seconds=_age(now, approvals[1]),
            open_tickets={str(queue): int(count) for queue, count in tickets},
        )


def _age(now: datetime, since: datetime | None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite hands back what UTCDateTime stored; it is UTC
        since = since.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - since).total_seconds())
