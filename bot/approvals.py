"""Approvals: ask the right people, accept exactly one decision from someone allowed to make
it, record it, and resume the requester's journey where it waited.

Who may decide: the named approvers (the requester's manager, or the members of the
approver group) and anyone those approvers named as their delegate. Never the requester.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.addresses import home_address
from bot.desk import Desk
from bot.directory import Person
from bot.engine import Turn, save_turn
from bot.messages import Choice, Inbound, Message
from journeys.state import Decision, JourneyState, RequestApproval
from store import conversations
from store import tickets as ticket_repo
from store.models import Approval, Ticket


def approvers_for(desk: Desk, requester: Person, rule: str, group: str | None) -> list[Person]:
    """The people who may approve: the manager (or the group when there is none), minus the
    requester themself (nobody approves their own request)."""
    people: list[Person] = []
    if rule == "manager":
        manager = desk.directory.get(requester.manager)
        if manager is not None:
            people = [manager]
    if not people and group:
        people = desk.directory.group(group)
    return [p for p in people if p.id != requester.id]


def may_decide(desk: Desk, approval: Approval, person: Person) -> bool:
    if person.id == approval.requester_id:
        return False
    if person.id in approval.approvers:
        return True
    return any(
        (approver := desk.directory.get(pid)) is not None and approver.delegate == person.id
        for pid in approval.approvers
    )


def request(
    turn: Turn, effect: RequestApproval, state: JourneyState, ticket: Ticket | None
) -> bool:
    """Park the journey on a new approval and ask the approvers. False if nobody can approve."""
    desk = turn.desk
    people = approvers_for(desk, turn.person, effect.approver, effect.group)
    if not people:
        return False
    approval = Approval(
        ticket_id=ticket.id if ticket else None,
        service_id=effect.service_id,
        step=effect.step,
        requester_id=turn.person.id,
        rule=effect.approver,
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
    turn.session.add(approval)
    turn.session.flush()
    if ticket is not None:
        before = ticket.status
        ticket.status = "awaiting_approval"
        ticket.updated_at = turn.now
        turn.session.add(ticket)
        ticket_repo.add_event(
            session=turn.session,
            ticket=ticket,
            at=turn.now,
            actor_id=turn.person.id,
            kind="approval_requested",
            from_status=before,
            to_status="awaiting_approval",
            note=", ".join(approval.approvers),
            data={"approval": approval.id},
        )
    for person in people:
        notify_approver(desk, turn.session, approval, person, ticket, turn.now)
    names = ", ".join(p.name for p in people)
    turn.say("approval.waiting", names=names, number=ticket.number if ticket else "")
    return True


def approval_message(
    desk: Desk, approval: Approval, approver: Person, ticket: Ticket | None
) -> Message:
    lang = approver.language
    requester = desk.directory.get(approval.requester_id)
    journey = desk.catalog.get(approval.service_id)
    return Message(
        text=desk.texts.render(
            lang,
            "approval.request",
            requester=requester.name if requester else approval.requester_id,
            service=journey.title.get(lang) if journey else approval.service_id,
            summary=approval.summary,
            number=ticket.number if ticket else "",
            id=approval.id,
        ),
        choices=(
            Choice(desk.texts.plain(lang, "button.approve"), f"ap:{approval.id}:y", "primary"),
            Choice(desk.texts.plain(lang, "button.reject"), f"ap:{approval.id}:n", "danger"),
        ),
    )


def notify_approver(
    desk: Desk,
    session: Session,
    approval: Approval,
    approver: Person,
    ticket: Ticket | None,
    now: datetime,
) -> None:
    from notifications.outbox import notify

    notify(
        session=session,
        to=home_address(desk, session, approver),
        message=approval_message(desk, approval, approver, ticket),
        idem_key=f"approval:{approval.id}:ask:{approver.id}",
        now=now,
        key=f"approval:{approval.id}:{approver.id}",
    )


def on_button(turn: Turn, rest: str) -> None:
    """`ap:<id>:y` approves; `ap:<id>:n` asks for an optional reason, then rejects."""
    raw_id, _, verdict = rest.partition(":")
    if not raw_id.isdigit():
        turn.say("errors.unknown_button")
        return
    if verdict == "y":
        decide(turn, int(raw_id), approved=True, reason="")
    else:
        approval = turn.session.get(Approval, int(raw_id))
        if approval is None or not may_decide(turn.desk, approval, turn.person):
            refuse(turn, approval)
            return
        turn.data["awaiting"] = f"reject_reason:{raw_id}"
        turn.say("approval.ask_reason")


def on_reason(turn: Turn, approval_id: int, text: str) -> None:
    """The text typed after pressing Reject is the reason ('skip' for none)."""
    skip = text.strip().lower() in turn.desk.texts.words(turn.language, "vocab.skip")
    decide(turn, approval_id, approved=False, reason="" if skip else text.strip())


def refuse(turn: Turn, approval: Approval | None) -> None:
    ticket = (
        turn.session.get(Ticket, approval.ticket_id) if approval and approval.ticket_id else None
    )
    ticket_repo.add_event(
        session=turn.session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="refused",
        note="approval decision",
        data={"approval": approval.id if approval else None},
    )
    turn.say("approval.not_yours")


def decide(turn: Turn, approval_id: int, *, approved: bool, reason: str) -> None:
    """Record one decision (the first one wins) and resume the requester's journey."""
    desk, session = turn.desk, turn.session
    approval = session.get(Approval, approval_id)
    if approval is None or not may_decide(desk, approval, turn.person):
        refuse(turn, approval)
        return
    verdict = "approved" if approved else "rejected"
    won = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval_id, col(Approval.status) == "pending")
        .values(status=verdict, decided_by=turn.person.id, reason=reason, decided_at=turn.now)
        .returning(col(Approval.id))
    ).first()
    session.refresh(approval)
    if won is None:
        by = desk.directory.get(approval.decided_by)
        turn.say(
            "approval.already_decided",
            id=approval.id,
            status=turn.plain(f"approval.status.{approval.status}"),
            name=by.name if by else "",
        )
        return
    ticket = session.get(Ticket, approval.ticket_id) if approval.ticket_id else None
    if ticket is not None:
        before = ticket.status
        ticket.status = "open" if approved else "rejected"
        ticket.updated_at = turn.now
        session.add(ticket)
        ticket_repo.add_event(
            session=session,
            ticket=ticket,
            at=turn.now,
            actor_id=turn.person.id,
            kind=verdict,
            from_status=before,
            to_status=ticket.status,
            note=reason,
            data={"approval": approval.id},
        )
    else:
        ticket_repo.add_event(
            session=session,
            ticket=None,
            at=turn.now,
            actor_id=turn.person.id,
            kind=verdict,
            note=reason,
            data={"approval": approval.id},
        )
    turn.say("approval.recorded", id=approval.id, status=turn.plain(f"approval.status.{verdict}"))
    resume(
        desk,
        session,
        approval,
        Decision(approval.step, approved, turn.person.name, reason),
        turn.now,
    )


def resume(
    desk: Desk, session: Session, approval: Approval, decision: Decision, now: datetime
) -> None:
    """Continue the parked journey in the requester's conversation; replies go via the outbox."""
    from bot.conversation import run

    requester = desk.directory.get(approval.requester_id)
    journey = desk.catalog.get(approval.service_id)
    if requester is None or journey is None:
        return
    desk.store.lock(session, f"conv:{approval.channel}:{requester.id}:{approval.conversation}")
    row = conversations.load_conversation(
        session=session,
        channel=approval.channel,
        person_id=requester.id,
        conversation=approval.conversation,
    )
    inbound = Inbound(approval.channel, approval.conversation, requester.id)
    turn = Turn(
        desk,
        session,
        inbound,
        requester,
        now,
        approval.language,
        row,
        dict(row.data) if row else {},
    )
    other = turn.data.get("journey")
    run(turn, journey, JourneyState.from_dict(approval.journey_state), decision)
    if other is not None:  # the resumed journey never asks questions, so restore the active one
        turn.data["journey"] = other
    for i, out in enumerate(turn.replies):
        turn.send(out.to, out.message, idem=f"approval:{approval.id}:resume:{i}", key=out.key)
    save_turn(turn)


def pending_for(desk: Desk, session: Session, person: Person) -> list[Approval]:
    rows = session.exec(select(Approval).where(Approval.status == "pending")).all()
    return [a for a in rows if may_decide(desk, a, person)]
