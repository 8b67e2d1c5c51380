"""The periodic sweep: follow the audit trail, plan timers, fire the due ones, tidy up.

Only one replica runs each time slot: the first to insert the `(sweep, slot)` row in
`job_run` wins, the others skip that slot. Even if two sweeps overlapped (a slow one), each
timer is taken under a row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and each follow
cursor is locked while it moves, so nothing is done twice.

The sweep's cost grows with what changed and what is due, not with the number of open
tickets: new audit events and approvals are read from a cursor (primary key), and due
timers from a partial index on pending timers' due time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.addresses import home_address
from bot.attachments import prune
from bot.base import logcontext
from bot.base.messages import Message
from bot.desk import Desk
from bot.expiry import expire_idle
from notifications.dispatch import DEAD_PREFIX
from notifications.firing import fire
from notifications.plan import replan_approval, replan_ticket
from store import timers as timer_repo
from store.events import RETENTION, forget_events
from store.models import Approval, TicketEvent, Timer
from store.outbox import notify
from store.timers import SLOT_RETENTION

log = logging.getLogger(__name__)

HOLE_TTL = timedelta(minutes=10)  # longer than any transaction that wrote an event
MAX_HOLES = 1000
MAX_TIMER_ATTEMPTS = 5
FOLLOW_ROUNDS = 20  # batches of new events per sweep; the rest wait for the next one


@dataclass
class SweepReport:
    tickets: int = 0  # tickets re-planned
    approvals: int = 0
    expired: int = 0  # idle journeys closed (with a note to the person)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def fired(self) -> int:
        return sum(self.outcomes.values())


class Sweeper:
    """Runs the sweep; `run_once` is the scheduler job (one replica per slot)."""

    def __init__(self, desk: Desk, *, worker: str | None = None, batch: int | None = None) -> None:
        self.desk = desk
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.batch = batch or desk.settings.notifications.sweep.batch

    def slot(self, now: datetime) -> int:
        every = self.desk.settings.notifications.sweep.every.total_seconds()
        return int(now.timestamp() // every)

    def run_once(self) -> SweepReport | None:
        """Sweep if this replica wins the current slot; None when another one has it."""
        now = self.desk.clock.now()
        slot = self.slot(now)
        with self.desk.store.begin() as session:
            if not timer_repo.claim_slot(
                session=session, name="sweep", slot=slot, worker=self.worker, now=now
            ):
                return None
        error: str | None = None
        report = SweepReport()
        try:
            report = self.sweep(now)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("sweep failed")
            raise
        finally:
            with self.desk.store.begin() as session:
                timer_repo.finish_slot(
                    session=session,
                    name="sweep",
                    slot=slot,
                    now=self.desk.clock.now(),
                    items=report.fired,
                    error=error,
                )
        self.prune_files(now)
        return report

    def prune_files(self, now: datetime) -> int | None:
        """Remove stored files nothing refers to (`bot.attachments.prune`), once per
        `attachments.prune_every` across replicas; None when it was not this one's turn.
        Not part of `sweep`, so `deskbot simulate`'s moved clock never removes a file. A
        store that fails is logged and recorded; the sweep goes on."""
        every = self.desk.settings.attachments.prune_every.total_seconds()
        slot = int(now.timestamp() // every)
        with self.desk.store.begin() as session:
            if not timer_repo.claim_slot(
                session=session, name="prune", slot=slot, worker=self.worker, now=now
            ):
                return None
        removed, error = 0, None
        try:
            removed = len(prune(self.desk, now).removed)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("attachment prune failed: %s", error)
        with self.desk.store.begin() as session:
            timer_repo.finish_slot(
                session=session,
                name="prune",
                slot=slot,
                now=self.desk.clock.now(),
                items=removed,
                error=error,
            )
        return removed

    async def run_async(self) -> None:
        """The scheduler job: the sweep's database work runs off the event loop."""
        await asyncio.to_thread(self.run_once)

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Plan from what changed, then fire what is due (no slot check: tests, tools)."""
        now = now or self.desk.clock.now()
        report = SweepReport()
        report.tickets = self.follow("ticket_event", now)
        report.approvals = self.follow("approval", now)
        self.fire_due(now, report)
        report.expired = expire_idle(self.desk, now)
        self.tidy(now)
        return report

    # Following the audit trail --------------------------------------------------------------

    def follow(self, name: str, now: datetime) -> int:
        """Re-plan every subject with rows newer than the cursor; returns how many."""
        total = 0
        for _ in range(FOLLOW_ROUNDS):
            with self.desk.store.begin() as session:
                count, more = self._follow_batch(session, name, now)
            total += count
            if not more:
                break
        return total

    def _follow_batch(self, session: Session, name: str, now: datetime) -> tuple[int, bool]:
        cursor = timer_repo.load_cursor(session=session, name=name, now=now)
        position = cursor.position
        holes: dict[str, Any] = dict(cursor.holes)
        rows = self._rows_after(session, name, position, self.batch)
        found = self._rows_in(session, name, [int(h) for h in holes]) if holes else []
        for row_id, _ in found:
            holes.pop(str(row_id), None)
        seen = {row_id for row_id, _ in rows}
        top = max(seen, default=position)
        for missing in range(position + 1, top):
            if missing not in seen:
                holes[str(missing)] = now.isoformat()
        cutoff = now - HOLE_TTL
        holes = {k: v for k, v in holes.items() if datetime.fromisoformat(str(v)) >= cutoff}
        if len(holes) > MAX_HOLES:
            holes = dict(sorted(holes.items(), key=lambda kv: int(kv[0]))[-MAX_HOLES:])
        subjects = {subject for _, subject in [*rows, *found] if subject is not None}
        for subject in sorted(subjects):
            if name == "ticket_event":
                replan_ticket(self.desk, session, subject, now)
            else:
                replan_approval(self.desk, session, subject, now)
        timer_repo.save_cursor(session=session, cursor=cursor, position=top, holes=holes, now=now)
        return len(subjects), len(rows) == self.batch

    @staticmethod
    def _rows_after(
        session: Session, name: str, position: int, limit: int
    ) -> list[tuple[int, int | None]]:
        if name == "ticket_event":
            stmt = (
                select(TicketEvent.id, TicketEvent.ticket_id)
                .where(col(TicketEvent.id) > position)
                .order_by(col(TicketEvent.id))
                .limit(limit)
            )
            return [(i, t) for i, t in session.exec(stmt).all() if i is not None]
        stmt2 = (
            select(Approval.id)
            .where(col(Approval.id) > position)
            .order_by(col(Approval.id))
            .limit(limit)
        )
        return [(i, i) for i in session.exec(stmt2).all() if i is not None]

    @staticmethod
    def _rows_in(session: Session, name: str, ids: list[int]) -> list[tuple[int, int | None]]:
        if name == "ticket_event":
            stmt = select(TicketEvent.id, TicketEvent.ticket_id).where(col(TicketEvent.id).in_(ids))
            return [(i, t) for i, t in session.exec(stmt).all() if i is not None]
        stmt2 = select(Approval.id).where(col(Approval.id).in_(ids))
        return [(i, i) for i in session.exec(stmt2).all() if i is not None]

    # Firing timers --------------------------------------------------------------------------

    def fire_due(self, now: datetime, report: SweepReport) -> None:
        """Fire up to `batch` due timers, each in its own transaction."""
        with self.desk.store.read() as session:
            ids = timer_repo.due_ids(session=session, now=now, limit=self.batch)
        for timer_id in ids:
            # A timer firing is a turn of its own: one correlation id for its log lines and
            # the notices it queues (with their ticket), as a person's message has.
            with logcontext.turn():
                try:
                    with self.desk.store.begin() as session:
                        timer = timer_repo.lock_due(session=session, timer_id=timer_id, now=now)
                        if timer is None:
                            continue  # another replica has it, or it was re-planned
                        outcome = fire(self.desk, session, timer, now)
                    report.outcomes[outcome.partition(":")[0]] += 1
                except Exception as exc:
                    log.exception("timer %s failed", timer_id)
                    report.outcomes["error"] += 1
                    self._failed(timer_id, exc, now)

    def _failed(self, timer_id: int, exc: Exception, now: datetime) -> None:
        """Retry a broken timer later; after a few tries stop it and tell the admins."""
        error = f"{type(exc).__name__}: {exc}"
        with self.desk.store.begin() as session:
            timer = session.get(Timer, timer_id)
            if timer is None:
                return
            last = timer.attempts + 1 >= MAX_TIMER_ATTEMPTS
            retry_at = None if last else now + timedelta(minutes=2 ** (timer.attempts + 1))
            attempts = timer_repo.record_failure(
                session=session, timer_id=timer_id, error=error, now=now, retry_at=retry_at
            )
            if last:
                for admin in self.desk.directory.admins():
                    notify(
                        session=session,
                        to=home_address(self.desk, session, admin),
                        message=Message(
                            text=self.desk.texts.render(
                                admin.language,
                                "notices.timer_failed",
                                kind=timer.kind,
                                subject=timer.subject,
                                attempts=attempts,
                                error=error[:300],
                            )
                        ),
                        # An alert, like a dead letter's, is never alerted about in turn.
                        idem_key=f"{DEAD_PREFIX}timer:{timer_id}:{admin.id}",
                        now=now,
                    )

    def tidy(self, now: datetime) -> None:
        with self.desk.store.begin() as session:
            timer_repo.forget_slots(session=session, before=now - SLOT_RETENTION)
            forget_events(session=session, before=now - RETENTION)
