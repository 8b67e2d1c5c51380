"""Which timers a ticket or an approval should have now, derived from its rows.

Everything is computed from the ticket row, its audit trail and the timers that already
fired, so planning is idempotent: run it after any change (the sweep follows the audit
trail), or again when a timer fires, and the same timers come out. Timer keys name one
occurrence (`waiting:t42:e977:warn` is the warning for the waiting spell that began with
event 977), so a timer that fired is never armed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.base.calendar import BusinessCalendar
from bot.base.config import SlaTarget
from bot.desk import Desk
from notifications.sla import SlaClock, status_spans, stops
from store import tickets as ticket_repo
from store.models import Approval, Ticket, TicketEvent, Timer
from store.timers import Plan, apply_plan, timers_of

# Audit events a requester does not see: they do not count as "something happened".
INTERNAL_EVENTS = frozenset(
    {
        "refused",
        "note",
        "internal_note",
        "sla_warning",
        "sla_breached",
        "approval_reminded",
        "survey_sent",
        "rated",
    }
)
NUDGE_STATUSES = ("new", "open", "in_progress", "reopened", "awaiting_approval")
SURVEY_WINDOW = timedelta(days=7)  # never survey about a ticket closed longer ago than this
MAX_REMINDERS = 50


def ticket_subject(ticket_id: int) -> str:
    return f"t{ticket_id}"


def approval_subject(approval_id: int) -> str:
    return f"a{approval_id}"


@dataclass(frozen=True)
class SlaState:
    """The ticket's SLA moments on its clock (None: not applicable, or the clock is stopped)."""

    response_due: datetime | None
    response_warn: datetime | None
    resolution_due: datetime | None
    resolution_warn: datetime | None
    expected_at: datetime | None
    paused: bool  # a pausing status ever stopped the clock


def sla_target(desk: Desk, ticket: Ticket) -> SlaTarget:
    """The ticket's targets: its service's SLA policy (else `standard`) and its priority."""
    journey = desk.catalog.get(ticket.service_id) if ticket.service_id else None
    policies = desk.settings.sla
    policy = policies.get(journey.sla if journey else "standard") or next(iter(policies.values()))
    return policy.get(ticket.priority) or policy["P3"]  # type: ignore[call-overload]


def sla_state(desk: Desk, ticket: Ticket, events: Sequence[TicketEvent]) -> SlaState:
    """Due and warning moments on the queue's business clock, minus the paused spells."""
    calendar = desk.calendar_for(ticket.queue)
    share = desk.settings.notifications.sla.warn_at
    target = sla_target(desk, ticket)
    spans = status_spans(events)
    pause_on = set(desk.settings.notifications.sla.pause_on)
    halted = stops(spans, pause_on | set(ticket_repo.DONE))
    paused = bool(halted)  # the clock stood still at some point: due times moved
    response = SlaClock(calendar, ticket.created_at, stops(spans, pause_on))
    resolution = SlaClock(calendar, ticket.created_at, halted)
    response_due = resolution_due = expected = None
    if ticket.first_response_at is None and ticket.status in ticket_repo.ACTIVE:
        # Without a pause the due time people were told stands; a pause moves it.
        response_due = response.due(target.first_response)
        if not paused and ticket.first_response_due is not None:
            response_due = ticket.first_response_due
    if ticket.status in ticket_repo.ACTIVE:
        resolution_due = resolution.due(target.resolution)
        if not paused and ticket.resolution_due is not None:
            resolution_due = ticket.resolution_due
        journey = desk.catalog.get(ticket.service_id) if ticket.service_id else None
        if ticket.expected_at is not None:
            expected = ticket.expected_at
            if paused and journey is not None:
                expected = resolution.due(journey.expected)
    return SlaState(
        response_due=response_due,
        response_warn=response.due(target.first_response, share) if response_due else None,
        resolution_due=resolution_due,
        resolution_warn=resolution.due(target.resolution, share) if resolution_due else None,
        expected_at=expected,
        paused=paused,
    )


def _since(events: Sequence[TicketEvent], status: str) -> TicketEvent | None:
    """The event that last moved the ticket into `status`."""
    for event in reversed(events):
        if event.to_status == status:
            return event
    return None


def _done(timers: Sequence[Timer], prefix: str) -> dict[str, Timer]:
    return {
        t.key[len(prefix) :]: t for t in timers if t.key.startswith(prefix) and t.status == "done"
    }


def delivered(timer: Timer) -> datetime:
    """When a fired notice reached (or will reach) the person: quiet hours may delay it."""
    raw = timer.data.get("delivered_at")
    when = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    return when or timer.fired_at or timer.due_at


def _sla_plans(
    ticket: Ticket, state: SlaState, timers: Sequence[Timer], now: datetime
) -> list[Plan]:
    plans: list[Plan] = []
    done = _done(timers, "sla:")
    for target, due, warn in (
        ("response", state.response_due, state.response_warn),
        ("resolution", state.resolution_due, state.resolution_warn),
    ):
        if due is None:
            continue
        data = {"target": target}
        # A warning after the deadline has passed tells nobody anything.
        if warn is not None and warn < due and (due > now or f"{target}:warn:t{ticket.id}" in done):
            plans.append(Plan(f"sla:{target}:warn:t{ticket.id}", "sla_warn", warn, data))
        plans.append(Plan(f"sla:{target}:breach:t{ticket.id}", "sla_breach", due, data))
    return plans


def _waiting_plans(
    desk: Desk,
    ticket: Ticket,
    events: Sequence[TicketEvent],
    timers: Sequence[Timer],
    calendar: BusinessCalendar,
    now: datetime,
) -> list[Plan]:
    since = _since(events, "waiting_on_user")
    if since is None:
        return []
    rules = desk.settings.notifications.waiting
    prefix = f"waiting:t{ticket.id}:e{since.id}:"
    done = _done(timers, prefix)
    data = {"since": since.id}
    warn_at = calendar.add(since.at, rules.warn_after)
    if "warn" in done:
        close_at = max(
            calendar.add(since.at, rules.close_after),
            calendar.add(delivered(done["warn"]), rules.close_after - rules.warn_after),
        )
        return [] if "close" in done else [Plan(prefix + "close", "waiting_close", close_at, data)]
    if warn_at > now:
        # The next reminder, or the latest one already due (never a burst of overdue ones).
        last = max((int(k[1:]) for k in done if k.startswith("r")), default=0)
        chosen: tuple[int, datetime] | None = None
        for k in range(last + 1, MAX_REMINDERS + 1):
            at = calendar.add(since.at, rules.remind_every * k)
            if at >= warn_at:
                break
            chosen = (k, at)
            if at > now:
                break
        if chosen is not None:
            k, at = chosen
            return [Plan(f"{prefix}r{k}", "waiting_remind", at, {**data, "n": k})]
    return [Plan(prefix + "warn", "waiting_warn", warn_at, data)]


def _resolved_plans(
    desk: Desk,
    ticket: Ticket,
    events: Sequence[TicketEvent],
    timers: Sequence[Timer],
    calendar: BusinessCalendar,
    *,
    warn: bool = True,
) -> list[Plan]:
    """Warn the requester before a resolved ticket closes, then close it (`warn` False:
    nobody to warn, close when the time is up)."""
    since = _since(events, "resolved")
    if since is None:
        return []
    rules = desk.settings.notifications.resolved
    prefix = f"resolved:t{ticket.id}:e{since.id}:"
    done = _done(timers, prefix)
    data = {"since": since.id}
    if "close" in done:
        return []
    close_at = calendar.add(since.at, rules.close_after)
    if warn:
        if "warn" not in done:
            at = calendar.add(since.at, rules.close_after - rules.warn_before)
            return [Plan(prefix + "warn", "resolved_warn", at, data)]
        close_at = max(close_at, calendar.add(delivered(done["warn"]), rules.warn_before))
    return [Plan(prefix + "close", "resolved_close", close_at, data)]


def ticket_plans(
    desk: Desk,
    ticket: Ticket,
    events: Sequence[TicketEvent],
    timers: Sequence[Timer],
    now: datetime,
    state: SlaState | None = None,
) -> list[Plan]:
    """Every timer the ticket should have now."""
    assert ticket.id is not None
    notices = desk.settings.notifications
    calendar = desk.calendar_for(ticket.queue)
    state = state or sla_state(desk, ticket, events)
    plans = _sla_plans(ticket, state, timers, now)
    # A major incident's problem record has no requester waiting on it: its "requester" is
    # the technician who declared it, and the people affected hear through their own
    # tickets. So no confirmation warning, nudge or survey goes to the declarer.
    someone_waits = ticket.type != "problem"
    if ticket.status == "waiting_on_user":
        plans += _waiting_plans(desk, ticket, events, timers, calendar, now)
    elif ticket.status == "resolved":
        plans += _resolved_plans(desk, ticket, events, timers, calendar, warn=someone_waits)
    if not someone_waits:
        return plans
    if notices.nudge.enabled and ticket.status in NUDGE_STATUSES:
        visible = [e for e in events if e.kind not in INTERNAL_EVENTS]
        if visible:
            last = visible[-1]
            plans.append(
                Plan(
                    f"nudge:t{ticket.id}:e{last.id}",
                    "nudge",
                    calendar.add(last.at, notices.nudge.after),
                    {"after": last.id},
                )
            )
    if notices.survey.enabled and ticket.status == "closed":
        closed = _since(events, "closed")
        at = ticket.closed_at or (closed.at if closed else None)
        if at is not None and now - at <= SURVEY_WINDOW:
            plans.append(Plan(f"survey:t{ticket.id}", "survey", at + notices.survey.delay, {}))
    return plans


def _write_back(session: Session, ticket: Ticket, state: SlaState) -> None:
    """Show people the moved ETA: a pause moves the due times on the ticket's card too."""
    if not state.paused:
        return
    changed = False
    for name, value in (
        ("first_response_due", state.response_due),
        ("resolution_due", state.resolution_due),
        ("expected_at", state.expected_at),
    ):
        if value is not None and getattr(ticket, name) != value:
            setattr(ticket, name, value)
            changed = True
    if changed:
        session.flush()  # the UPDATE names only the changed due columns


def replan_ticket(desk: Desk, session: Session, ticket_id: int, now: datetime) -> list[Plan]:
    """Bring one ticket's timers (and its SLA due times) up to date, in the caller's
    transaction. Ticket code may call this right after a change; the sweep calls it anyway
    for every ticket with new audit events, so calling it is optional.
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return []
    events = ticket_repo.events_of(session=session, ticket_id=ticket_id)
    subject = ticket_subject(ticket_id)
    timers = timers_of(session=session, subject=subject)
    state = sla_state(desk, ticket, events)
    _write_back(session, ticket, state)
    plans = ticket_plans(desk, ticket, events, timers, now, state)
    apply_plan(session=session, subject=subject, plans=plans, now=now, current=timers)
    return plans


def approval_calendar(desk: Desk, session: Session, approval: Approval) -> BusinessCalendar:
    ticket = session.get(Ticket, approval.ticket_id) if approval.ticket_id else None
    return desk.calendar_for(ticket.queue if ticket else "")


def approval_plans(desk: Desk, session: Session, approval: Approval) -> list[Plan]:
    if approval.status != "pending" or approval.id is None:
        return []
    rules = desk.settings.notifications.approvals
    calendar = approval_calendar(desk, session, approval)
    prefix = f"approval:a{approval.id}:"
    return [
        Plan(
            prefix + "remind",
            "approval_remind",
            calendar.add(approval.created_at, rules.remind_after),
            {},
        ),
        Plan(
            prefix + "escalate",
            "approval_escalate",
            calendar.add(approval.created_at, rules.escalate_after),
            {},
        ),
    ]


def replan_approval(desk: Desk, session: Session, approval_id: int, now: datetime) -> list[Plan]:
    """Bring one approval's reminder and escalation timers up to date."""
    approval = session.get(Approval, approval_id)
    if approval is None:
        return []
    plans = approval_plans(desk, session, approval)
    apply_plan(session=session, subject=approval_subject(approval_id), plans=plans, now=now)
    return plans
