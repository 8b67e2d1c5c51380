"""What approvers and requesters are told when an approval's timer fires.

A pending approval is first re-sent to its approvers as a reminder (with its Approve / Reject
buttons); later it is escalated: a fallback approver is added and asked, and the requester is
told. Each notice is queued in the outbox and recorded in the ticket's audit trail, inside
the transaction that marks its timer done (notifications/firing.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from bot.addresses import home_address
from bot.approvals import request_for
from bot.base.messages import Address, Message
from bot.base.texts import trusted
from bot.base.timefmt import describe_duration
from bot.desk import Desk
from bot.directory import Person
from notifications.outcome import Fired
from store import changes as changes_repo
from store import tickets as ticket_repo
from store.models import Approval, Ticket, Timer
from store.outbox import notify

log = logging.getLogger(__name__)


def _approval_request(
    desk: Desk,
    session: Session,
    approval: Approval,
    person: Person,
    ticket: Ticket | None,
    key: str,
    **params: Any,
) -> Message:
    """The approval request with its Approve / Reject buttons, under a reminder line."""

    original = request_for(desk, session, approval, person, ticket)
    text = desk.texts.render(person.language, key, request=trusted(original.text), **params)
    return Message(text=text, choices=original.choices)


def approval_remind(
    desk: Desk,
    session: Session,
    approval: Approval,
    ticket: Ticket | None,
    timer: Timer,
    now: datetime,
) -> Fired:
    requester = desk.directory.get(approval.requester_id)
    assert approval.id is not None
    voted = {v.person_id for v in changes_repo.votes_of(session, approval.id)}  # a CAB's quorum
    for pid in approval.approvers:
        person = desk.directory.get(pid)
        if person is None or not person.active or pid in voted:
            continue
        waited = describe_duration(
            desk.texts, person.language, desk.settings.notifications.approvals.remind_after
        )
        notify(
            session=session,
            to=home_address(desk, session, person),
            message=_approval_request(
                desk,
                session,
                approval,
                person,
                ticket,
                "notices.approval.reminder",
                requester=requester.name if requester else approval.requester_id,
                waited=waited,
            ),
            idem_key=f"timer:{timer.key}:{pid}",
            now=now,
        )
    ticket_repo.add_event(
        session=session,
        ticket=ticket,
        at=now,
        actor_id=None,
        kind="approval_reminded",
        note=timer.key,
        data={"approval": approval.id},
    )
    return Fired("sent")


def fallback_approver(desk: Desk, approval: Approval) -> Person | None:
    """Who else may decide: the configured person, or the first approver's manager (the
    next one up when that manager has left); never someone who left."""
    setting = desk.settings.notifications.approvals.fallback
    if setting == "manager":
        first = approval.approvers[0] if approval.approvers else None
        candidate = desk.directory.active_manager(first)
    else:
        candidate = desk.directory.get(setting)
    if candidate is None or not candidate.active or candidate.id == approval.requester_id:
        return None
    if candidate.id in approval.approvers:
        return None
    return candidate


def approval_escalate(
    desk: Desk,
    session: Session,
    approval: Approval,
    ticket: Ticket | None,
    timer: Timer,
    now: datetime,
) -> Fired:
    fallback = fallback_approver(desk, approval)
    if fallback is None:
        log.warning("approval %s: no fallback approver to escalate to", approval.id)
        return Fired("skipped:no_fallback")
    before = list(approval.approvers)
    won = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval.id, col(Approval.status) == "pending")
        .values(approvers=[*before, fallback.id])
        .returning(col(Approval.id))
    ).first()
    if won is None:
        return Fired("skipped:decided")
    session.refresh(approval)
    names = ", ".join(p.name for p in map(desk.directory.get, before) if p is not None)
    rules = desk.settings.notifications.approvals
    notify(
        session=session,
        to=home_address(desk, session, fallback),
        message=_approval_request(
            desk,
            session,
            approval,
            fallback,
            ticket,
            "notices.approval.escalated",
            approvers=names,
            waited=describe_duration(desk.texts, fallback.language, rules.escalate_after),
        ),
        idem_key=f"timer:{timer.key}:{fallback.id}",
        now=now,
        key=f"approval:{approval.id}:{fallback.id}",
    )
    requester = desk.directory.get(approval.requester_id)
    if requester is not None and requester.active:
        notify(
            session=session,
            to=Address(approval.channel, approval.conversation, requester.id),
            message=Message(
                text=desk.texts.render(
                    approval.language,
                    "notices.approval.escalated_requester",
                    approvers=names,
                    count=len(before),
                    fallback=fallback.name,
                    number=ticket.number if ticket else "",
                )
            ),
            idem_key=f"timer:{timer.key}:requester",
            now=now,
        )
    ticket_repo.add_event(
        session=session,
        ticket=ticket,
        at=now,
        actor_id=None,
        kind="approval_escalated",
        note=timer.key,
        data={"approval": approval.id, "to": fallback.id},
    )
    return Fired("sent", {"to": fallback.id})
