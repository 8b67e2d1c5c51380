"""Approvers' buttons and replies: approve, reject with a reason, and the requester's journey
resumed after a decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from bot import changes as change_control
from bot import permissions, workflow
from bot.approvals import close_requests, may_decide, move, principal, vote
from bot.base.buttons import REJECT_REASON, awaiting
from bot.base.messages import Inbound
from bot.chat import files
from bot.chat.conversation import run
from bot.desk import Desk
from bot.directory import Person
from bot.turn import Turn, save_turn
from journeys.state import Decision, JourneyState
from store import conversations
from store import tickets as ticket_repo
from store.models import Approval, Ticket, TicketEvent
from store.sql import row_id


def on_button(turn: Turn, rest: str) -> None:
    """`ap:<id>:y` approves; `ap:<id>:n` asks for an optional reason, then rejects."""
    raw_id, _, verdict = rest.partition(":")
    approval_id = row_id(raw_id)
    if approval_id is None:
        turn.say("errors.unknown_button")
        return
    if verdict == "y":
        decide(turn, approval_id, approved=True, reason="")
    else:
        approval = turn.session.get(Approval, approval_id)
        if approval is None or not may_decide(turn.desk, approval, turn.person):
            refuse(turn, approval)
            return
        if approval.status != "pending":
            _already_decided(turn, approval)
            return
        turn.data["awaiting"] = awaiting(REJECT_REASON, raw_id)
        turn.say("approval.ask_reason")


def on_reason(turn: Turn, raw_id: str, text: str) -> None:
    """The text typed after pressing Reject is the reason ('skip' for none)."""
    approval_id = int(raw_id)
    skip = text.strip().lower() in turn.desk.texts.words(turn.language, "vocab.skip")
    decide(turn, approval_id, approved=False, reason="" if skip else text.strip())


def refuse(turn: Turn, approval: Approval | None) -> None:
    ticket = (
        turn.session.get(Ticket, approval.ticket_id) if approval and approval.ticket_id else None
    )
    permissions.refuse(turn, "approval decision", ticket, key="approval.not_yours")


def _already_decided(turn: Turn, approval: Approval) -> None:
    by = turn.desk.directory.get(approval.decided_by)
    turn.say(
        "approval.already_decided",
        id=approval.id,
        status=turn.plain(f"approval.status.{approval.status}"),
        name=by.name if by else "",
    )


def decide(turn: Turn, approval_id: int, *, approved: bool, reason: str) -> None:
    """Record one decision (the first one wins) and resume the requester's journey."""
    desk, session = turn.desk, turn.session
    approval = session.get(Approval, approval_id)
    if approval is None or not may_decide(desk, approval, turn.person):
        refuse(turn, approval)
        return
    names = turn.person.name
    if approval.quorum > 1:  # a CAB: N of M approve, any one member's rejection rejects
        if approval.status != "pending":
            _already_decided(turn, approval)
            return
        desk.store.lock(session, f"approval:{approval.id}")  # votes counted one at a time
        session.refresh(approval)
        if approval.status != "pending":  # decided while this vote waited for the lock
            _already_decided(turn, approval)
            return
        approvers = vote(
            desk, session, approval, turn.person, approved=approved, reason=reason, now=turn.now
        )
        if approvers is None:
            turn.say("approval.voted_already", id=approval.id)
            return
        if approved and len(approvers) < approval.quorum:
            _vote_recorded(turn, approval, len(approvers))
            return
        if approved:
            found = (desk.directory.get(pid) for pid in approvers)
            names = ", ".join(p.name for p in found if p is not None)
    verdict = "approved" if approved else "rejected"
    won = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval_id, col(Approval.status) == "pending")
        .values(status=verdict, decided_by=turn.person.id, reason=reason, decided_at=turn.now)
        .returning(col(Approval.id))
    ).first()
    session.refresh(approval)
    if won is None:
        _already_decided(turn, approval)
        return
    ticket = session.get(Ticket, approval.ticket_id) if approval.ticket_id else None
    data = {"approval": approval.id, "on_behalf_of": principal(desk, approval, turn.person)}
    event: TicketEvent | None = None
    if ticket is not None:
        to = "rejected"
        if approved:
            to = "in_progress" if ticket.assignee_id else "open"
        event = move(
            desk, session, ticket, turn.person.id, turn.now, verdict, to, note=reason, data=data
        )
    if event is None:  # no ticket (or it moved on): the decision is still on record
        event = ticket_repo.add_event(
            session=session,
            ticket=ticket,
            at=turn.now,
            actor_id=turn.person.id,
            kind=verdict,
            note=reason,
            data=data,
        )
    turn.say("approval.recorded", id=approval.id, status=turn.plain(f"approval.status.{verdict}"))
    close_requests(desk, session, approval, turn.now)
    if ticket is not None and ticket.type == "change":
        change_control.on_decision(desk, session, ticket, approved, turn.person.id, turn.now)
    decision = Decision(approval.step, approved, names, reason)
    if not resume(desk, session, approval, decision, turn.now) and ticket is not None:
        _tell_outcome(desk, session, ticket, event, approval, turn.person, turn.now)


def _vote_recorded(turn: Turn, approval: Approval, count: int) -> None:
    """An approval short of its quorum: on record (audited), and the voter told how many
    more it needs."""
    ticket = turn.session.get(Ticket, approval.ticket_id) if approval.ticket_id else None
    ticket_repo.add_event(
        session=turn.session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="approval_vote",
        note=f"{count}/{approval.quorum}",
        data={"approval": approval.id, "approvals": count, "quorum": approval.quorum},
    )
    turn.say("approval.vote_recorded", id=approval.id, count=count, quorum=approval.quorum)


def _tell_outcome(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    event: TicketEvent,
    approval: Approval,
    by: Person,
    now: datetime,
) -> None:
    """No journey to resume (a re-approval): tell the requester and the assignee directly."""
    key = "approval.told_approved" if approval.status == "approved" else "approval.told_rejected"
    workflow.tell_requester(
        desk, session, ticket, event, key, now=now, name=by.name, reason=approval.reason
    )
    assignee = desk.directory.get(ticket.assignee_id)
    if assignee is not None:
        workflow.tell_person(
            desk,
            session,
            assignee,
            ticket,
            event,
            "approval.told_assignee",
            now=now,
            name=by.name,
            status=desk.texts.plain(assignee.language, f"approval.status.{approval.status}"),
            reason=approval.reason,
        )


def resume(
    desk: Desk, session: Session, approval: Approval, decision: Decision, now: datetime
) -> bool:
    """Continue the parked journey in the requester's conversation; replies go via the outbox.
    False when there is no journey to continue."""
    requester = desk.directory.get(approval.requester_id)
    journey = desk.catalog.get(approval.service_id)
    if requester is None or journey is None or not approval.journey_state:
        return False
    desk.store.lock(session, f"conv:{approval.channel}:{requester.id}:{approval.conversation}")
    session.refresh(approval)  # files the requester sent up to the lock are in its state
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
    # Another journey under way here is set aside meanwhile (its files are not this ticket's).
    other = turn.data.pop("journey", None)
    run(turn, journey, JourneyState.from_dict(approval.journey_state), decision)
    if other is not None:  # the resumed journey never asks questions, so restore the active one
        turn.data["journey"] = other
    if turn.tickets:  # approved and raised: the files sent while it waited go with it
        files.attach_parked(turn, turn.tickets[-1], approval)
    for i, out in enumerate(turn.replies):
        turn.send(out.to, out.message, idem=f"approval:{approval.id}:resume:{i}", key=out.key)
    save_turn(turn)
    return True
