"""Firing a due timer: re-check it against its subject's current plan, then hand it to its notice.

Before acting, the subject's timers (a ticket's or an approval's) are planned again from its
current rows: a timer whose reason went away (the requester answered, the ticket was claimed)
is cancelled instead, one that moved is rescheduled. A timer still due goes to the handler its
kind names (ticket notices, approval notices); the handler runs inside the transaction that
marks the timer done, so the notice and the timer's completion commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session

from bot.desk import Desk
from notifications.approval_notices import approval_escalate, approval_remind
from notifications.outcome import Fired
from notifications.plan import (
    approval_plans,
    replan_approval,
    replan_ticket,
    ticket_plans,
    ticket_subject,
)
from notifications.ticket_notices import (
    TicketJob,
    nudge,
    resolved_close,
    resolved_warn,
    sla_breach,
    sla_warn,
    survey,
    waiting_close,
    waiting_remind,
    waiting_warn,
)
from store import tickets as ticket_repo
from store.models import Approval, Ticket, Timer
from store.timers import Plan, finish, reschedule, timers_of

# The handler of each timer kind, as the planner names them (notifications/plan.py).
TICKET_ACTIONS: dict[str, Callable[[TicketJob], Fired]] = {
    "waiting_remind": waiting_remind,
    "waiting_warn": waiting_warn,
    "waiting_close": waiting_close,
    "resolved_warn": resolved_warn,
    "resolved_close": resolved_close,
    "nudge": nudge,
    "survey": survey,
    "sla_warn": sla_warn,
    "sla_breach": sla_breach,
}


ApprovalAction = Callable[[Desk, Session, Approval, Ticket | None, Timer, datetime], Fired]
APPROVAL_ACTIONS: dict[str, ApprovalAction] = {
    "approval_remind": approval_remind,
    "approval_escalate": approval_escalate,
}


def fire(desk: Desk, session: Session, timer: Timer, now: datetime) -> str:
    """Act on one due timer (locked by the caller) and plan its subject's next timers.

    Returns the outcome: `sent`, `skipped:<why>`, `moved` (not due after all) or
    `cancelled` (no longer wanted).
    """
    kind, ident = timer.subject[:1], int(timer.subject[1:])
    if kind == "t":
        return _fire_ticket(desk, session, timer, ident, now)
    return _fire_approval(desk, session, timer, ident, now)


def _settle(
    session: Session, timer: Timer, plans: Sequence[Plan], now: datetime
) -> tuple[str, Plan | None]:
    plan = next((p for p in plans if p.key == timer.key), None)
    if plan is None:
        finish(session=session, timer=timer, now=now, status="cancelled")
        return "cancelled", None
    if plan.due_at > now:
        reschedule(session=session, timer=timer, due_at=plan.due_at, now=now)
        return "moved", None
    return "due", plan


def _fire_ticket(desk: Desk, session: Session, timer: Timer, ticket_id: int, now: datetime) -> str:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        finish(session=session, timer=timer, now=now, status="cancelled")
        return "cancelled"
    events = ticket_repo.events_of(session=session, ticket_id=ticket_id)
    timers = timers_of(session=session, subject=ticket_subject(ticket_id))
    verdict, plan = _settle(session, timer, ticket_plans(desk, ticket, events, timers, now), now)
    if plan is not None:
        job = TicketJob(desk, session, now, timer, plan, ticket, events)
        fired = TICKET_ACTIONS[timer.kind](job)
        finish(session=session, timer=timer, now=now, outcome=fired.outcome, **fired.data)
        verdict = fired.outcome
    replan_ticket(desk, session, ticket_id, now)
    return verdict


def _fire_approval(
    desk: Desk, session: Session, timer: Timer, approval_id: int, now: datetime
) -> str:
    approval = session.get(Approval, approval_id)
    if approval is None:
        finish(session=session, timer=timer, now=now, status="cancelled")
        return "cancelled"
    verdict, plan = _settle(session, timer, approval_plans(desk, session, approval), now)
    if plan is not None:
        ticket = session.get(Ticket, approval.ticket_id) if approval.ticket_id else None
        fired = APPROVAL_ACTIONS[timer.kind](desk, session, approval, ticket, timer, now)
        finish(session=session, timer=timer, now=now, outcome=fired.outcome, **fired.data)
        verdict = fired.outcome
    replan_approval(desk, session, approval_id, now)
    return verdict
