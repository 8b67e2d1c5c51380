"""What requesters and technicians are told when a ticket's timer fires.

Requesters get waiting reminders, auto-close warnings and the auto-close itself, nudges and
surveys; technicians (assignee, triage channels, queue lead) get SLA warnings and breaches.

Followers (the requesters of tickets merged into this one with `/merge`) get what tells them
where the problem stands: the progress nudges and the auto-close. What asks the requester to
act (answer the question, say whether the fix worked, rate the help) stays the requester's:
a follower could not answer for them, and their own ticket was the duplicate.
Each notice is rendered, queued in the outbox and recorded in the ticket's audit trail, inside
the transaction that marks its timer done (notifications/firing.py), so a notice, the status
change it announces (auto-close) and the timer's completion commit together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from bot.addresses import home_address, requester_address
from bot.base.buttons import SURVEY, button
from bot.base.messages import Choice, Message
from bot.base.metrics import SLA_BREACHES, SLA_WARNINGS, TALLY
from bot.base.texts import trusted
from bot.base.timefmt import describe_time
from bot.desk import Desk
from bot.directory import Person
from bot.tickets import post_triage, triage_addresses
from bot.workflow import fixed_buttons
from notifications.outcome import Fired
from notifications.plan import sla_state
from notifications.quiet import deliver_at, muted
from store import lifecycle, ticket_links
from store import notices as notice_repo
from store import tickets as ticket_repo
from store.models import Approval, Ticket, TicketEvent, Timer
from store.outbox import notify
from store.timers import Plan


@dataclass
class TicketJob:
    desk: Desk
    session: Session
    now: datetime
    timer: Timer
    plan: Plan
    ticket: Ticket
    events: list[TicketEvent]

    @property
    def requester(self) -> Person | None:
        return self.desk.directory.get(self.ticket.requester_id)

    def event(self, kind: str, **data: Any) -> None:
        """Record a notice in the audit trail (actor None: the desk itself)."""
        ticket_repo.add_event(
            session=self.session,
            ticket=self.ticket,
            at=self.now,
            actor_id=None,
            kind=kind,
            note=self.timer.key,
            data=data,
        )

    def since(self) -> TicketEvent | None:
        since_id = self.plan.data.get("since")
        return next((e for e in self.events if e.id == since_id), None)

    def time_for(self, person: Person | None, when: datetime, lang: str) -> str:
        tz = person.timezone if person else self.desk.calendar_for(self.ticket.queue).tz.key
        return describe_time(self.desk.texts, lang, when, tz)

    def tell_requester(
        self,
        key: str,
        *,
        essential: bool,
        choices: Sequence[Choice] = (),
        urgent: bool = False,
        **params: Any,
    ) -> Fired:
        """Queue a notice to the requester where they asked, respecting mute and quiet hours."""
        person, ticket = self.requester, self.ticket
        if person is None:
            return Fired("skipped:unknown_requester")
        if not person.active:
            return Fired("skipped:left")  # their tickets stay; notices to them stop
        if not essential and muted(self.session, person, self.now):
            return Fired("skipped:muted")
        lang = ticket.language
        text = self.desk.texts.render(lang, key, number=ticket.number, title=ticket.title, **params)
        when = deliver_at(
            self.desk, self.session, person, self.now, urgent=urgent or ticket.priority == "P1"
        )
        notify(
            session=self.session,
            to=requester_address(self.desk, self.session, ticket, person),
            message=Message(text=text, choices=tuple(choices)),
            idem_key=f"timer:{self.timer.key}",
            now=self.now,
            available_at=when,
        )
        return Fired("sent", {"delivered_at": when.isoformat()})

    def tell_followers(
        self,
        key: str,
        *,
        essential: bool,
        params: Callable[[Person, str], dict[str, Any]] | None = None,
    ) -> int:
        """Queue a notice to each follower (requester of a ticket merged into this one) in
        their own language and time zone (`params(person, lang)`), where they asked for the
        duplicate, without buttons, respecting their mute and quiet hours. Returns how many."""
        ticket = self.ticket
        assert ticket.id is not None
        seen = {ticket.requester_id}
        sent = 0
        for merged in ticket_links.merged_into(session=self.session, ticket_id=ticket.id):
            person = self.desk.directory.get(merged.requester_id)
            if person is None or person.id in seen:
                continue
            seen.add(person.id)
            if not essential and muted(self.session, person, self.now):
                continue
            lang = merged.language
            extra = params(person, lang) if params else {}
            text = self.desk.texts.render(
                lang, key, number=ticket.number, title=ticket.title, own=merged.number, **extra
            )
            notify(
                session=self.session,
                to=requester_address(self.desk, self.session, merged, person),
                message=Message(text=text),
                idem_key=f"timer:{self.timer.key}:{person.id}",
                now=self.now,
                available_at=deliver_at(
                    self.desk, self.session, person, self.now, urgent=ticket.priority == "P1"
                ),
            )
            sent += 1
        return sent


# Requester notices ------------------------------------------------------------------------


def _question(job: TicketJob) -> str:
    """The latest question asked in this waiting spell (the event that began it, or a
    later one asked while it was already waiting)."""
    since = job.since()
    if since is None:
        return ""
    asked = [e for e in job.events if (e.id or 0) >= (since.id or 0) and e.kind == "asked"]
    if asked:
        return asked[-1].note
    return since.note if since.kind != "created" else ""


def waiting_remind(job: TicketJob) -> Fired:
    question = _question(job)
    fired = job.tell_requester("notices.waiting.reminder", essential=False, question=question)
    if fired.outcome == "sent":
        job.event("reminded", n=job.plan.data.get("n"))
    return fired


def _close_time(job: TicketJob, warned: datetime, close: timedelta, gap: timedelta) -> datetime:
    """When the ticket will close: `close` after the spell began, and never sooner than
    `gap` after the warning reaches the person (quiet hours may delay it). The same rule
    as the planner's (notifications/plan.py)."""
    calendar = job.desk.calendar_for(job.ticket.queue)
    since = job.since()
    start = since.at if since else job.now
    return max(calendar.add(start, close), calendar.add(warned, gap))


def waiting_warn(job: TicketJob) -> Fired:
    rules = job.desk.settings.notifications.waiting
    person = job.requester
    when = deliver_at(job.desk, job.session, person, job.now, urgent=job.ticket.priority == "P1")
    close = _close_time(job, when, rules.close_after, rules.close_after - rules.warn_after)
    fired = job.tell_requester(
        "notices.waiting.warning",
        essential=True,
        close=job.time_for(person, close, job.ticket.language),
    )
    job.event("autoclose_warned", close_at=close.isoformat())
    return fired


def resolved_warn(job: TicketJob) -> Fired:
    rules = job.desk.settings.notifications.resolved
    person = job.requester
    when = deliver_at(job.desk, job.session, person, job.now, urgent=job.ticket.priority == "P1")
    close = _close_time(job, when, rules.close_after, rules.warn_before)

    fired = job.tell_requester(
        "notices.resolved.warning",
        essential=True,
        choices=fixed_buttons(job.desk, job.ticket),
        close=job.time_for(person, close, job.ticket.language),
    )
    job.event("autoclose_warned", close_at=close.isoformat())
    return fired


def _auto_close(job: TicketJob, from_status: str, notice: str) -> Fired:
    """Close the ticket unless it changed meanwhile, through the ticket lifecycle.

    The lifecycle only closes resolved tickets, so a ticket waiting on its requester is
    first resolved ("no answer"), then closed, in this one transaction; each step is a
    lifecycle transition (conditional UPDATE plus audit event, actor: the desk).
    """

    ticket = job.ticket
    if ticket.status != from_status:
        return Fired("skipped:changed")
    steps = [("resolved", "auto_resolved")] if from_status != "resolved" else []
    steps.append(("closed", "auto_closed"))
    for to, kind in steps:
        stamp = {"resolved_at": job.now} if to == "resolved" else {"closed_at": job.now}
        try:
            lifecycle.transition(
                session=job.session,
                ticket=ticket,
                actor_id=None,
                now=job.now,
                kind=kind,
                to=to,
                note=job.timer.key,
                values=stamp,
            )
        except (lifecycle.InvalidTransition, lifecycle.Conflict):
            return Fired("skipped:changed")
    post_triage(job.desk, job.session, ticket, job.now, "auto_closed")
    job.tell_followers("notices.follower_closed", essential=True)
    if ticket.type == "problem":  # closed; its declarer is not a requester to thank
        return Fired("skipped:problem_record")
    return job.tell_requester(notice, essential=True)


def waiting_close(job: TicketJob) -> Fired:
    return _auto_close(job, "waiting_on_user", "notices.waiting.closed")


def resolved_close(job: TicketJob) -> Fired:
    return _auto_close(job, "resolved", "notices.resolved.closed")


def next_step(job: TicketJob, lang: str) -> str:
    """What happens next, as the requester should read it."""
    desk, ticket = job.desk, job.ticket
    texts = desk.texts
    if ticket.status == "awaiting_approval":
        pending = job.session.exec(
            select(Approval).where(Approval.ticket_id == ticket.id, Approval.status == "pending")
        ).all()
        names = [
            p.name for a in pending for p in map(desk.directory.get, a.approvers) if p is not None
        ]
        if names:
            return texts.render(lang, "notices.next.approval", names=", ".join(names))
    assignee = desk.directory.get(ticket.assignee_id)
    if assignee is not None:
        return texts.render(lang, "notices.next.working", name=assignee.first_name)
    return texts.render(lang, "notices.next.queued", queue=desk.queue_name(ticket.queue, lang))


def nudge(job: TicketJob) -> Fired:
    ticket = job.ticket
    state = sla_state(job.desk, ticket, job.events)
    eta = state.expected_at or state.resolution_due or ticket.expected_at or ticket.resolution_due

    def said(person: Person | None, lang: str) -> dict[str, Any]:
        return {
            "next": trusted(next_step(job, lang)),
            "expected": job.time_for(person, eta, lang) if eta else "",
            "late": bool(eta and eta <= job.now),
        }

    fired = job.tell_requester(
        "notices.nudge", essential=False, **said(job.requester, ticket.language)
    )
    followers = job.tell_followers("notices.nudge", essential=False, params=said)
    if fired.outcome == "sent" or followers:
        job.event("nudged", followers=followers)
    return fired


def sampled(ticket_id: int, ratio: float) -> bool:
    """A stable coin toss per ticket, so a re-run makes the same choice."""
    digest = hashlib.blake2b(f"survey:{ticket_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < ratio


def survey(job: TicketJob) -> Fired:
    rules = job.desk.settings.notifications.survey
    ticket, person = job.ticket, job.requester
    assert ticket.id is not None
    if person is None:
        return Fired("skipped:unknown_requester")
    if not sampled(ticket.id, rules.ratio):
        return Fired("skipped:not_sampled")
    if notice_repo.surveyed_since(
        session=job.session, person_id=person.id, since=job.now - rules.cooldown
    ):
        return Fired("skipped:cooldown")
    if muted(job.session, person, job.now):
        return Fired("skipped:muted")
    row = notice_repo.create_survey(
        session=job.session, ticket_id=ticket.id, person_id=person.id, now=job.now
    )
    if row is None:
        return Fired("skipped:exists")
    labels = job.desk.texts.list(ticket.language, "notices.survey.scores")
    choices = [Choice(label, button(SURVEY, row.id, n)) for n, label in enumerate(labels[:5], 1)]
    fired = job.tell_requester("notices.survey.ask", essential=False, choices=choices)
    job.event("survey_sent", survey=row.id)
    return fired


# Staff notices ------------------------------------------------------------------------------


def _staff_message(
    job: TicketJob, person: Person | None, key: str, target: str, due: datetime
) -> Message:
    desk, ticket = job.desk, job.ticket
    lang = person.language if person else desk.settings.language
    assignee = desk.directory.get(ticket.assignee_id)
    return Message(
        text=desk.texts.render(
            lang,
            key,
            number=ticket.number,
            title=ticket.title,
            priority=ticket.priority,
            target=desk.texts.plain(lang, f"notices.sla.target.{target}"),
            due=job.time_for(person, due, lang),
            assignee=assignee.name if assignee else "",
            queue=desk.queue_name(ticket.queue, lang),
        )
    )


def _tell_staff(job: TicketJob, person: Person, key: str, target: str, due: datetime) -> None:
    notify(
        session=job.session,
        to=home_address(job.desk, job.session, person),
        message=_staff_message(job, person, key, target, due),
        idem_key=f"timer:{job.timer.key}:{person.id}",
        now=job.now,
    )


def _tell_triage(job: TicketJob, key: str, target: str, due: datetime) -> int:
    addresses = triage_addresses(job.desk, job.ticket.queue)
    for address in addresses:
        notify(
            session=job.session,
            to=address,
            message=_staff_message(job, None, key, target, due),
            idem_key=f"timer:{job.timer.key}:{address.channel}",
            now=job.now,
        )
    return len(addresses)


def _lead(job: TicketJob) -> Person | None:
    queue = job.desk.settings.queues.get(job.ticket.queue)
    return job.desk.directory.present(queue.lead) if queue else None


def sla_warn(job: TicketJob) -> Fired:
    """Warn whoever can still act: the assignee, else the queue (triage), else its lead."""
    target = str(job.plan.data["target"])
    state = sla_state(job.desk, job.ticket, job.events)
    breach = (state.response_due if target == "response" else state.resolution_due) or job.now
    assignee = job.desk.directory.present(job.ticket.assignee_id)
    if assignee is not None:
        _tell_staff(job, assignee, "notices.sla.warning", target, breach)
    elif not _tell_triage(job, "notices.sla.warning", target, breach):
        lead = _lead(job)
        if lead is not None:
            _tell_staff(job, lead, "notices.sla.warning", target, breach)
    job.event("sla_warning", target=target, due=breach.isoformat())
    TALLY.count(SLA_WARNINGS, job.ticket.queue, target)
    return Fired("sent")


def sla_breach(job: TicketJob) -> Fired:
    """Alert the queue and the assignee, and escalate to the queue's lead."""
    target = str(job.plan.data["target"])
    due = job.plan.due_at
    _tell_triage(job, "notices.sla.breach", target, due)
    assignee = job.desk.directory.present(job.ticket.assignee_id)
    lead = _lead(job)
    if assignee is not None and (lead is None or assignee.id != lead.id):
        _tell_staff(job, assignee, "notices.sla.breach", target, due)
    if lead is not None:
        _tell_staff(job, lead, "notices.sla.escalated", target, due)
    job.event("sla_breached", target=target, escalated_to=lead.id if lead else None)
    TALLY.count(SLA_BREACHES, job.ticket.queue, target)
    return Fired("sent")
