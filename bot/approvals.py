"""Approvals: ask the right people, accept exactly one decision from someone allowed to make
it, record it, and resume the requester's journey where it waited.

Who may decide (`bot.permissions.decision_makers`): the named approvers (the requester's
manager, or the members of the approver group when the group was asked) and the delegates
they named. Never the requester. Every decision and every refusal is audited; the
requester is told the outcome in plain words. When a technician changes an answer an
approval covered, the ticket goes back for approval (`rescope`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot import changes as change_control
from bot import permissions, workflow
from bot.addresses import home_address
from bot.base.buttons import APPROVAL, button
from bot.base.messages import Choice, Message
from bot.base.texts import trusted
from bot.desk import Desk
from bot.directory import Person
from bot.turn import Turn
from journeys.state import JourneyState, RequestApproval
from store import changes as changes_repo
from store import lifecycle
from store.models import Approval, Ticket, TicketEvent
from store.outbox import notify


def approvers_for(
    desk: Desk, requester: Person, rule: str, group: str | None
) -> tuple[list[Person], str]:
    """The people to ask and the rule that found them: the manager (the next one up when
    the manager has left), or the group when there is none (or the rule says group). Never
    the requester themself, nor anyone who left."""
    people: list[Person] = []
    effective = rule
    if rule == "manager":
        manager = desk.directory.active_manager(requester.id)
        if manager is not None and manager.id != requester.id:
            people = [manager]
    if not people and group:
        people = desk.directory.group(group)
        effective = "group"
    return [p for p in people if p.id != requester.id], effective


def may_decide(desk: Desk, approval: Approval, person: Person) -> bool:
    return permissions.may_decide(desk, approval, person)


def request(
    turn: Turn, effect: RequestApproval, state: JourneyState, ticket: Ticket | None
) -> Approval | None:
    """Park the journey on a new approval and ask the approvers. None if nobody can approve."""
    desk = turn.desk
    people, rule = approvers_for(desk, turn.person, effect.approver, effect.group)
    if not people:
        return None
    approval = Approval(
        ticket_id=ticket.id if ticket else None,
        service_id=effect.service_id,
        step=effect.step,
        requester_id=turn.person.id,
        rule=rule,
        group=effect.group,
        approvers=[p.id for p in people],
        summary=effect.summary,
        channel=turn.inbound.channel,
        conversation=turn.inbound.conversation,
        language=turn.language,
        journey_state=state.to_dict(),
        scope=dict(effect.answers),
        created_at=turn.now,
    )
    # A change's CAB decides by quorum (bot/changes.py); anything else by one decision.
    approval.quorum = change_control.quorum_for(
        desk, turn.session, ticket, effect.group, len(people)
    )
    turn.session.add(approval)
    turn.session.flush()
    if ticket is not None:
        event = move(
            desk,
            turn.session,
            ticket,
            turn.person.id,
            turn.now,
            "approval_requested",
            "awaiting_approval",
            note=", ".join(approval.approvers),
            data={"approval": approval.id},
        )
        if event is None:  # the ticket could not wait for approval: nobody is asked
            turn.session.delete(approval)
            return None
    for person in people:
        notify_approver(desk, turn.session, approval, person, ticket, turn.now)
    names = ", ".join(p.name for p in people)
    turn.say("approval.waiting", names=names, number=ticket.number if ticket else "")
    return approval


def parked_request(
    session: Session, person_id: str, channel: str, conversation: str
) -> Approval | None:
    """The newest request of this person, in this conversation, that waits for an approval
    before its ticket exists (its journey parked on the approval)."""
    return session.exec(
        select(Approval)
        .where(
            col(Approval.requester_id) == person_id,
            col(Approval.channel) == channel,
            col(Approval.conversation) == conversation,
            col(Approval.status) == "pending",
            col(Approval.ticket_id).is_(None),
        )
        .order_by(col(Approval.id).desc())
    ).first()


def keep_with_parked(session: Session, approval: Approval, key: str, items: list[Any]) -> bool:
    """Add `items` to the list `key` of a parked journey's state, unless the approval was
    decided meanwhile (conditional UPDATE: a decision and a file never both miss)."""
    state = dict(approval.journey_state or {})
    state[key] = [*(state.get(key) or []), *items]
    done = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval.id, col(Approval.status) == "pending")
        .values(journey_state=state)
        .returning(col(Approval.id))
    ).first()
    if done is not None:
        session.refresh(approval)
    return done is not None


def move(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    actor_id: str | None,
    now: datetime,
    kind: str,
    to: str | None,
    *,
    note: str = "",
    data: Mapping[str, Any] | None = None,
) -> TicketEvent | None:
    """A lifecycle change made for an approval; None when the ticket cannot make it."""
    try:
        event = lifecycle.transition(
            session=session,
            ticket=ticket,
            actor_id=actor_id,
            now=now,
            kind=kind,
            to=to,
            note=note,
            data=data,
        )
    except (lifecycle.InvalidTransition, lifecycle.Conflict):
        return None
    workflow.refresh_triage(desk, session, ticket, now, event)
    return event


def approval_message(
    desk: Desk,
    approval: Approval,
    approver: Person,
    ticket: Ticket | None,
    note: str = "",
) -> Message:
    """An approver's request; `note` is a rendered block about the ticket (a change's risk,
    window and conflicts, from `bot.changes.approval_note`)."""
    lang = approver.language
    requester = desk.directory.get(approval.requester_id)
    journey = desk.catalog.get(approval.service_id)
    changes = approval.scope.get(CHANGES_KEY, [])
    return Message(
        text=desk.texts.render(
            lang,
            "approval.request",
            requester=requester.name if requester else approval.requester_id,
            service=journey.title.get(lang) if journey else approval.service_id,
            summary=approval.summary,
            number=ticket.number if ticket else "",
            id=approval.id,
            changes=changes,
            note=trusted(note) if note else "",
        ),
        choices=(
            Choice(
                desk.texts.plain(lang, "button.approve"),
                button(APPROVAL, approval.id, "y"),
                "primary",
            ),
            Choice(
                desk.texts.plain(lang, "button.reject"),
                button(APPROVAL, approval.id, "n"),
                "danger",
            ),
        ),
    )


def request_for(
    desk: Desk, session: Session, approval: Approval, approver: Person, ticket: Ticket | None
) -> Message:
    """`approval_message` with what the approver must see of the ticket (a change's risk,
    window, conflicts and the CAB's quorum)."""
    note = change_control.approval_note(
        desk, session, ticket, approver.language, approver.timezone, approval.quorum
    )
    return approval_message(desk, approval, approver, ticket, note)


def notify_approver(
    desk: Desk,
    session: Session,
    approval: Approval,
    approver: Person,
    ticket: Ticket | None,
    now: datetime,
) -> None:
    if not approver.active:
        return
    notify(
        session=session,
        to=home_address(desk, session, approver),
        message=request_for(desk, session, approval, approver, ticket),
        idem_key=f"approval:{approval.id}:ask:{approver.id}",
        now=now,
        key=f"approval:{approval.id}:{approver.id}",
    )


def close_requests(desk: Desk, session: Session, approval: Approval, now: datetime) -> None:
    """Replace each approver's request (edited in place, buttons gone) with the outcome."""
    by = desk.directory.get(approval.decided_by)
    for pid in approval.approvers:
        approver = desk.directory.get(pid)
        if approver is None or not approver.active:
            continue
        lang = approver.language
        notify(
            session=session,
            to=home_address(desk, session, approver),
            message=Message(
                text=desk.texts.render(
                    lang,
                    "approval.closed",
                    id=approval.id,
                    summary=approval.summary,
                    status=desk.texts.plain(lang, f"approval.status.{approval.status}"),
                    name=by.name if by else "",
                )
            ),
            idem_key=f"approval:{approval.id}:closed:{pid}",
            now=now,
            key=f"approval:{approval.id}:{pid}",
        )


def principal(desk: Desk, approval: Approval, person: Person) -> str | None:
    """For a delegate's decision: the approver they stood in for."""
    if person.id in approval.approvers:
        return None
    for pid in approval.approvers:
        approver = desk.directory.get(pid)
        if approver is not None and approver.delegate == person.id:
            return pid
    return None


def vote(
    desk: Desk,
    session: Session,
    approval: Approval,
    person: Person,
    *,
    approved: bool,
    reason: str,
    now: datetime,
) -> list[str] | None:
    """One member's vote on an approval that needs a quorum (a delegate votes for the
    approver they stand in for). Returns the ids of everyone who approved so far, or None
    when this person (or the approver they stand in for) voted already."""
    assert approval.id is not None
    stands_for = principal(desk, approval, person)
    if not changes_repo.add_vote(
        session,
        approval_id=approval.id,
        person_id=stands_for or person.id,
        verdict="approved" if approved else "rejected",
        reason=reason,
        on_behalf_of=person.id if stands_for else None,
        at=now,
    ):
        return None
    return [
        v.on_behalf_of or v.person_id
        for v in changes_repo.votes_of(session, approval.id)
        if v.verdict == "approved"
    ]


def pending_for(desk: Desk, session: Session, person: Person) -> list[Approval]:
    rows = session.exec(select(Approval).where(Approval.status == "pending")).all()
    return [a for a in rows if may_decide(desk, a, person)]


def _end_pending(
    desk: Desk, session: Session, approval: Approval, status: str, now: datetime
) -> bool:
    """Move a pending approval to `status` (cancelled, superseded); False if already decided."""
    won = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval.id, col(Approval.status) == "pending")
        .values(status=status, decided_at=now)
        .returning(col(Approval.id))
    ).first()
    session.refresh(approval)
    if won is not None:
        close_requests(desk, session, approval, now)
    return won is not None


def withdraw(desk: Desk, session: Session, ticket: Ticket, now: datetime) -> int:
    """The ticket was cancelled: its pending approvals are cancelled and the approvers'
    requests say so. Returns how many were withdrawn."""
    pending = session.exec(
        select(Approval).where(Approval.ticket_id == ticket.id, Approval.status == "pending")
    ).all()
    return sum(_end_pending(desk, session, a, "cancelled", now) for a in pending)


# ---- re-approval when the scope changes ---------------------------------------------------

CHANGES_KEY = "_changed"  # inside Approval.scope: what changed since the previous approval


def rescope(turn: Turn, ticket: Ticket, changed: Mapping[str, tuple[Any, Any]]) -> bool:
    """Ask again when a change touches what an approval covered (pending or approved).

    A pending approval is superseded (its journey waits on the new one); an approved one
    stays on record. The ticket waits for approval again, the approvers see what changed,
    and the requester is told why in plain words. Returns True when re-approval started.
    """
    desk, session = turn.desk, turn.session
    rows = session.exec(
        select(Approval)
        .where(Approval.ticket_id == ticket.id, col(Approval.status).in_(["pending", "approved"]))
        .order_by(col(Approval.id))
    ).all()
    covered = [a for a in rows if any(field in a.scope for field in changed)]
    if not covered:
        return False
    latest = covered[-1]
    requester = desk.directory.get(ticket.requester_id)
    if requester is None:
        return False
    people, rule = approvers_for(desk, requester, latest.rule, latest.group)
    if not people:
        turn.say("approval.no_approver", number=ticket.number)
        return False
    parked: dict[str, Any] = {}
    for old in covered:
        if old.status == "pending" and _end_pending(desk, session, old, "superseded", turn.now):
            parked = old.journey_state or parked
    changes = [
        {"field": field, "from": str(before), "to": str(after)}
        for field, (before, after) in changed.items()
    ]
    scope = {k: ticket.answers.get(k, v) for k, v in latest.scope.items() if k != CHANGES_KEY}
    approval = Approval(
        ticket_id=ticket.id,
        service_id=latest.service_id,
        step=latest.step,
        requester_id=requester.id,
        rule=rule,
        group=latest.group,
        approvers=[p.id for p in people],
        summary=latest.summary,
        channel=latest.channel,
        conversation=latest.conversation,
        language=latest.language,
        journey_state=parked,
        scope={**scope, CHANGES_KEY: changes},
        created_at=turn.now,
        quorum=latest.quorum,
    )
    session.add(approval)
    session.flush()
    to = None if ticket.status == "awaiting_approval" else "awaiting_approval"
    event = workflow.change(
        turn,
        ticket,
        "reapproval_requested",
        to=to,
        note=", ".join(f"{c['field']}: {c['from']} -> {c['to']}" for c in changes),
        data={"approval": approval.id, "previous": latest.id},
    )
    if event is None:
        session.delete(approval)
        return False
    if to is None:  # the status did not change, so the card was not refreshed
        workflow.refresh_triage(desk, session, ticket, turn.now, event)
    for person in people:
        notify_approver(desk, session, approval, person, ticket, turn.now)
    names = ", ".join(p.name for p in people)
    workflow.tell_requester(
        desk,
        session,
        ticket,
        event,
        "approval.told_reapproval",
        now=turn.now,
        names=names,
        changes=changes,
    )
    turn.say("approval.reapproval_started", number=ticket.number, names=names)
    return True
