"""Leavers and movers: what the desk does when the directory says someone left or has a
new manager. Run after a directory sync, in one transaction, with the desk already holding
the new directory (`hand_over`); `changes_between` tells the changes from the directory
before and after.

Someone who left:
* can no longer act (the engine answers them as a stranger), decide an approval
  (`permissions.decision_makers`) or be given a ticket (`permissions.may_take`);
* hands their pending approvals to their delegate, or else to the next manager up their
  chain who is still here (for an approver group's request: to the group's other members);
  the new approver gets the request with a line saying why, the requester is told who
  decides now;
* gives the tickets they had claimed back to their queue, with a note on the ticket and
  the queue's triage card updated and told;
* keeps their own requests (open and listed), but hears nothing more: their pending outbox
  messages are withheld, and the dispatcher withholds any that come later.

Someone with a new manager: their pending approvals that followed the manager rule move to
the new manager, who is asked; the old manager's request is replaced by a line saying so.

Every change is an event in the ticket's audit trail (`deskbot audit IT-1042`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot import workflow
from bot.addresses import home_address
from bot.approvals import approval_message
from bot.base import logcontext
from bot.base.messages import Address, Message
from bot.base.texts import trusted
from bot.desk import Desk
from bot.directory import Directory, Person
from store import lifecycle, outbox
from store import tickets as repo
from store.models import Approval, Ticket
from store.outbox import notify

log = logging.getLogger(__name__)

WITHHELD_REASON = "not sent: the person has left"


@dataclass(frozen=True)
class PeopleChanges:
    """What changed in the directory that the desk must act on."""

    # Who left -> their manager before they left (a sync may have blanked it since).
    leavers: Mapping[str, str | None] = field(default_factory=dict)
    # Who has a new manager -> (the old manager, the new one).
    movers: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.leavers and not self.movers


def changes_between(before: Directory, after: Directory) -> PeopleChanges:
    """Leavers (active before, inactive or gone after) and movers (active in both, with
    another manager) between two loads of the directory."""
    leavers: dict[str, str | None] = {}
    movers: dict[str, tuple[str | None, str | None]] = {}
    for old in before:
        if not old.active:
            continue
        new = after.get(old.id)
        if new is None or not new.active:
            leavers[old.id] = old.manager
        elif new.manager != old.manager:
            movers[old.id] = (old.manager, new.manager)
    return PeopleChanges(leavers, movers)


@dataclass(frozen=True)
class HandedOver:
    """One approver of a pending approval replaced."""

    approval: int
    ticket: str | None
    requester: str
    previous: str
    to: str | None  # None: nobody new is asked (see `why`)
    # delegate | manager (the next manager up) | manager_changed | group (its other members
    # decide) | nobody (no delegate and nobody up the chain is still here)
    why: str

    def as_dict(self) -> dict[str, object]:
        return {
            "approval": self.approval,
            "ticket": self.ticket,
            "requester": self.requester,
            "from": self.previous,
            "to": self.to,
            "why": self.why,
        }


@dataclass(frozen=True)
class Released:
    """A ticket someone who left had claimed, back in its queue."""

    ticket: str
    person: str
    queue: str

    def as_dict(self) -> dict[str, object]:
        return {"ticket": self.ticket, "from": self.person, "queue": self.queue}


@dataclass
class Handover:
    """What `hand_over` did."""

    leavers: list[str] = field(default_factory=list)
    movers: list[dict[str, str | None]] = field(default_factory=list)
    approvals: list[HandedOver] = field(default_factory=list)
    released: list[Released] = field(default_factory=list)
    withheld: int = 0  # outbox messages to leavers that will not be sent

    def as_dict(self) -> dict[str, object]:
        return {
            "leavers": self.leavers,
            "movers": self.movers,
            "approvals": [h.as_dict() for h in self.approvals],
            "released": [r.as_dict() for r in self.released],
            "withheld": self.withheld,
        }


def hand_over(desk: Desk, session: Session, changes: PeopleChanges, now: datetime) -> Handover:
    """Act on leavers and movers in the caller's transaction. `desk.directory` must already
    be the directory after the change (it decides who is still here and who is told)."""
    report = Handover(
        leavers=sorted(changes.leavers),
        movers=[
            {"id": pid, "from": old, "to": new}
            for pid, (old, new) in sorted(changes.movers.items())
        ],
    )
    if changes.empty:
        return report
    # One correlation id for the whole handover in the log lines and outbox rows; each
    # approval and ticket in its own scope, so the ticket it names ends with it.
    with logcontext.turn() as cid:
        pending = session.exec(
            select(Approval).where(Approval.status == "pending").order_by(col(Approval.id))
        ).all()
        for approval in pending:
            with logcontext.turn(cid):
                report.approvals += _reassign(desk, session, changes, approval, now)
        if changes.leavers:
            claimed = session.exec(
                select(Ticket)
                .where(
                    col(Ticket.assignee_id).in_(list(changes.leavers)),
                    col(Ticket.status).in_(repo.ACTIVE),
                )
                .order_by(col(Ticket.id))
            ).all()
            for ticket in claimed:
                with logcontext.turn(cid):
                    released = _release(desk, session, ticket, now)
                if released is not None:
                    report.released.append(released)
            report.withheld = outbox.withhold(
                session=session, person_ids=list(changes.leavers), reason=WITHHELD_REASON
            )
    log.info(
        "people changes handed over: %d leavers, %d movers, %d approvals, %d tickets, "
        "%d messages withheld",
        len(report.leavers),
        len(report.movers),
        len(report.approvals),
        len(report.released),
        report.withheld,
    )
    return report


# ---- approvals ----------------------------------------------------------------------------


def _reassign(
    desk: Desk, session: Session, changes: PeopleChanges, approval: Approval, now: datetime
) -> list[HandedOver]:
    """Replace the approval's approvers who left, and the requester's old manager under the
    manager rule; ask the new ones and tell the requester."""
    assert approval.id is not None
    directory = desk.directory
    requester = approval.requester_id
    moved = changes.movers.get(requester)
    steps: list[tuple[str, str | None, str]] = []  # (previous, new approver, why)
    for pid in approval.approvers:
        if approval.rule == "manager" and moved is not None and pid == moved[0]:
            manager = directory.active_manager(requester)
            if manager is not None and manager.id != requester:
                steps.append((pid, manager.id, "manager_changed"))
                continue
        if pid in changes.leavers:
            steps.append((pid, *_successor(directory, changes, approval, pid)))
    if not steps:
        return []
    approvers = list(approval.approvers)
    for previous, to, why in steps:
        if why == "nobody":
            continue  # kept on the list: the record shows who was asked; they cannot decide
        approvers.remove(previous)
        if to is not None and to not in approvers:
            approvers.append(to)
    won = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval.id, col(Approval.status) == "pending")
        .values(approvers=approvers)
        .returning(col(Approval.id))
    ).first()
    session.refresh(approval)
    if won is None:
        return []  # decided meanwhile
    ticket = session.get(Ticket, approval.ticket_id) if approval.ticket_id else None
    done = []
    for previous, to, why in steps:
        repo.add_event(
            session=session,
            ticket=ticket,
            at=now,
            actor_id=None,
            kind="approval_handed_over",
            note=f"{previous} -> {to or '-'} ({why})",
            data={"approval": approval.id, "from": previous, "to": to, "why": why},
        )
        new = directory.get(to)
        if new is not None:
            _tell(desk, session, approval, ticket, directory.get(previous), new, why, now)
        done.append(
            HandedOver(approval.id, ticket.number if ticket else None, requester, previous, to, why)
        )
    return done


def _successor(
    directory: Directory, changes: PeopleChanges, approval: Approval, leaver: str
) -> tuple[str | None, str]:
    """Who decides in the leaver's place, and why: their delegate if still here; for a
    group's request the group's other members; else the next manager up who is still here."""
    requester = approval.requester_id

    def here(person: Person | None) -> bool:
        return person is not None and person.active and person.id != requester

    person = directory.get(leaver)
    delegate = directory.get(person.delegate) if person else None
    if delegate is not None and here(delegate):
        return delegate.id, "delegate"
    if approval.rule == "group" and approval.group:
        if any(here(p) for p in directory.group(approval.group)):
            return None, "group"
    up, seen = changes.leavers.get(leaver), {leaver}
    while up and up not in seen:
        seen.add(up)
        manager = directory.get(up)
        if manager is not None and here(manager):
            return manager.id, "manager"
        if up in changes.leavers:
            up = changes.leavers[up]
        else:
            up = manager.manager if manager else None
    return None, "nobody"


def _tell(
    desk: Desk,
    session: Session,
    approval: Approval,
    ticket: Ticket | None,
    previous: Person | None,
    new: Person,
    why: str,
    now: datetime,
) -> None:
    """Ask the new approver (the request under the reason), tell the requester who decides
    now, and for a change of manager replace the old manager's request."""
    directory = desk.directory
    requester = directory.get(approval.requester_id)
    requester_name = requester.name if requester else approval.requester_id
    previous_name = previous.name if previous else ""
    previous_id = previous.id if previous else ""
    original = approval_message(desk, approval, new, ticket)
    text = desk.texts.render(
        new.language,
        f"leavers.handed_over.{why}",
        leaver=previous_name,
        previous=previous_name,
        requester=requester_name,
        request=trusted(original.text),
    )
    notify(
        session=session,
        to=home_address(desk, session, new),
        message=Message(text=text, choices=original.choices),
        idem_key=f"approval:{approval.id}:handover:{previous_id}:{new.id}",
        now=now,
        key=f"approval:{approval.id}:{new.id}",  # edited with the outcome once decided
    )
    if requester is not None and requester.active:
        notify(
            session=session,
            to=Address(approval.channel, approval.conversation, requester.id),
            message=Message(
                text=desk.texts.render(
                    approval.language,
                    f"leavers.told_requester.{why}",
                    leaver=previous_name,
                    previous=previous_name,
                    name=new.name,
                    number=ticket.number if ticket else "",
                )
            ),
            idem_key=f"approval:{approval.id}:handover:{previous_id}:{new.id}:requester",
            now=now,
        )
    if why == "manager_changed" and previous is not None and previous.active:
        notify(
            session=session,
            to=home_address(desk, session, previous),
            message=Message(
                text=desk.texts.render(
                    previous.language,
                    "leavers.handed_away",
                    id=approval.id,
                    requester=requester_name,
                    name=new.name,
                    summary=approval.summary,
                )
            ),
            idem_key=f"approval:{approval.id}:handed_away:{previous.id}",
            now=now,
            key=f"approval:{approval.id}:{previous.id}",  # their request, buttons gone
        )


# ---- claimed tickets ----------------------------------------------------------------------


def _release(desk: Desk, session: Session, ticket: Ticket, now: datetime) -> Released | None:
    """Give a ticket its technician left behind back to its queue, noted and told."""
    assert ticket.assignee_id is not None
    leaver = ticket.assignee_id
    person = desk.directory.get(leaver)
    name = person.name if person else leaver
    try:
        event = lifecycle.transition(
            session=session,
            ticket=ticket,
            actor_id=None,
            now=now,
            kind="leaver_released",
            to="open" if ticket.status == "in_progress" else None,
            note=desk.texts.plain(desk.settings.language, "leavers.released_note", name=name),
            values={"assignee_id": None},
            data={"left": leaver},
        )
    except (lifecycle.InvalidTransition, lifecycle.Conflict):
        return None  # changed meanwhile: whoever changed it holds it now
    workflow.refresh_triage(desk, session, ticket, now, event)
    workflow.tell_team(desk, session, ticket, event, "leavers.told_queue", now=now, name=name)
    return Released(ticket.number, leaver, ticket.queue)
