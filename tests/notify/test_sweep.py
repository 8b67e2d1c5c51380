"""The sweep: one replica per slot, following the audit trail, indexed queries, broken timers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.desk import Desk
from notifications.firing import TICKET_ACTIONS
from notifications.outcome import Fired
from notifications.plan import replan_ticket, ticket_subject
from notifications.sweep import MAX_TIMER_ATTEMPTS, Sweeper
from notifications.ticket_notices import TicketJob
from store import outbox
from store import timers as timer_repo
from store.models import JobRun, OutboxMessage, TicketEvent, Timer

from .conftest import new_ticket, plain, sweep_at


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def timers(desk: Desk, subject: str | None = None) -> list[Timer]:
    with desk.store.read() as session:
        stmt = select(Timer).order_by(col(Timer.id))
        if subject:
            stmt = stmt.where(Timer.subject == subject)
        return list(session.exec(stmt).all())


def test_one_replica_runs_each_slot(desk: Desk, clock: FixedClock):
    one, two = Sweeper(desk, worker="one"), Sweeper(desk, worker="two")
    assert one.run_once() is not None
    assert two.run_once() is None  # same 30-second slot: already taken
    clock.advance(timedelta(seconds=30))
    assert two.run_once() is not None
    with desk.store.read() as session:
        runs = session.exec(select(JobRun).order_by(col(JobRun.name), col(JobRun.slot))).all()
    # The attachment prune runs with the sweep, once per `attachments.prune_every` (6h).
    assert [(r.name, r.worker) for r in runs] == [
        ("prune", "one"),
        ("sweep", "one"),
        ("sweep", "two"),
    ]
    assert all(r.finished_at is not None and r.error is None for r in runs)


def test_new_audit_events_are_planned_and_a_late_commit_is_not_missed(
    desk: Desk, clock: FixedClock
):
    first = new_ticket(desk)
    sweeper = Sweeper(desk)
    assert sweeper.sweep().tickets == 1
    kinds = {t.kind for t in timers(desk, ticket_subject(first.id or 0))}
    assert kinds == {"sla_warn", "sla_breach", "nudge"}
    assert sweeper.sweep().tickets == 0  # nothing new: nothing re-planned

    # A transaction that took a lower id commits after a higher one (PostgreSQL sequences):
    # the sweep remembers the gap and picks the event up when it appears.
    second = new_ticket(desk)
    assert sweeper.sweep().tickets == 1
    with desk.store.begin() as session:
        top = session.exec(select(TicketEvent.id).order_by(col(TicketEvent.id).desc())).first()
    assert top is not None
    with desk.store.begin() as session:
        session.add(TicketEvent(id=top + 2, ticket_id=first.id, at=clock.now(), kind="note"))
    assert sweeper.sweep().tickets == 1
    with desk.store.begin() as session:
        session.add(
            TicketEvent(
                id=top + 1,
                ticket_id=second.id,
                at=clock.now(),
                kind="claimed",
                from_status="new",
                to_status="in_progress",
            )
        )
    assert sweeper.sweep().tickets == 1
    nudge = [t for t in timers(desk, ticket_subject(second.id or 0)) if t.kind == "nudge"]
    assert [t.key for t in nudge if t.status == "pending"] == [f"nudge:t{second.id}:e{top + 1}"]


def test_ticket_code_may_plan_in_its_own_transaction(desk: Desk, clock: FixedClock):
    ticket = new_ticket(desk)
    with desk.store.begin() as session:
        plans = replan_ticket(desk, session, ticket.id or 0, clock.now())
    assert {p.kind for p in plans} == {"sla_warn", "sla_breach", "nudge"}
    assert len(timers(desk)) == 5  # response and resolution: a warning and a breach each


def _capture_sql(desk: Desk, run: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(desk.store.engine, "before_cursor_execute", grab)
    try:
        run()
    finally:
        event.remove(desk.store.engine, "before_cursor_execute", grab)
    return seen


def _plan_of(desk: Desk, statement: str, params: Any) -> str:
    with desk.store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        if desk.store.is_sqlite:
            cur.execute("EXPLAIN QUERY PLAN " + statement, params)
            plan = " / ".join(str(row[-1]) for row in cur.fetchall())
        else:
            cur.execute("SET enable_seqscan = off")  # tiny test tables: ask what it *can* use
            cur.execute("EXPLAIN " + statement, params)
            plan = " / ".join(str(row[0]) for row in cur.fetchall())
        raw.rollback()
        return plan


def test_due_timers_and_due_messages_are_found_through_indexes(desk: Desk, clock: FixedClock):
    now = clock.now()

    def due() -> None:
        with desk.store.read() as session:
            timer_repo.due_ids(session=session, now=now, limit=10)

    def claim() -> None:
        with desk.store.begin() as session:
            outbox.claim_due(
                session=session, worker="w", now=now, lease=timedelta(seconds=9), channels=["m"]
            )

    [(timer_sql, timer_params)] = [s for s in _capture_sql(desk, due) if "FROM timer" in s[0]]
    timer_plan = _plan_of(desk, timer_sql, timer_params)
    assert "ix_timer_due" in timer_plan and "Seq Scan" not in timer_plan, timer_plan
    [(claim_sql, claim_params)] = [
        s for s in _capture_sql(desk, claim) if s[0].lstrip().startswith("SELECT outbox.id")
    ]
    plan = _plan_of(desk, claim_sql, claim_params)
    # Both the due rows and "an earlier pending one?" come from indexes over pending rows.
    assert "ix_outbox_pending_conversation" in plan, plan
    assert "Seq Scan" not in plan and "SCAN outbox " not in f"{plan} ", plan


def test_a_broken_timer_is_retried_then_stopped_and_the_admins_told(
    desk: Desk, chat: MemoryChat, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
):
    def broken(job: TicketJob) -> Fired:
        raise RuntimeError("template bug")

    # Fault injection: the nudge action fails every time.
    monkeypatch.setitem(TICKET_ACTIONS, "nudge", broken)
    new_ticket(desk)
    sweep_at(desk, clock, utc(23, 10))
    when = utc(26, 10)
    for attempt in range(1, MAX_TIMER_ATTEMPTS + 1):
        report = sweep_at(desk, clock, when, chat)
        assert report.outcomes["error"] == 1
        [nudge] = [t for t in timers(desk) if t.kind == "nudge"]
        assert nudge.attempts == attempt and "template bug" in (nudge.last_error or "")
        when = nudge.due_at
    assert nudge.status == "failed"
    assert "failed 5 times and was stopped" in plain(chat.seen_by("priya", channel="console"))[-1]


def test_two_sweeps_at_once_fire_each_timer_once(desk: Desk, clock: FixedClock):
    for _ in range(12):
        new_ticket(desk)
    Sweeper(desk).sweep()
    clock.set(utc(26, 10))  # every ticket's nudge (and SLA timers) are due
    due = len([t for t in timers(desk) if t.status == "pending" and t.due_at <= clock.now()])
    reports = []

    def run() -> None:
        reports.append(Sweeper(desk, batch=500).sweep())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert due == 12 * 5
    left = [t for t in timers(desk) if t.status == "pending" and t.due_at <= clock.now()]
    assert left == []
    # Per ticket: the nudge and two breaches, each sent by exactly one of the sweeps; the
    # warnings whose deadline already passed are dropped rather than sent late.
    assert sum(r.outcomes["sent"] for r in reports) == 12 * 3
    done = [t for t in timers(desk) if t.status == "done"]
    assert len(done) == 12 * 3
    with desk.store.read() as session:
        keys = session.exec(select(OutboxMessage.idem_key)).all()
    assert len(keys) == len(set(keys))
    assert sum(k.startswith("timer:nudge:") for k in keys) == 12
