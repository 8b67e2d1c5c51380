"""Who may do what, from the people directory. Every privileged action asks here.

Roles: every person is an employee; technicians work the queues listed for them; admins
work every queue; approvers decide approvals they are named on (or as a delegate or
member of the approver group). Refusals are polite, and each one is audited.
"""

from __future__ import annotations

from typing import Any

from bot.desk import Desk
from bot.directory import Person
from bot.turn import Turn
from store import tickets as repo
from store.models import Approval, Ticket

ASKED_CHARS = 500  # of the refused command kept in the audit trail


def is_staff(person: Person) -> bool:
    """Technicians (of any queue) and admins."""
    return person.has_role("technician")


def may_work_queue(person: Person, queue: str) -> bool:
    """Technicians of `queue`, and admins."""
    return person.works_queue(queue)


def may_view(person: Person, ticket: Ticket) -> bool:
    """Employees see only their own tickets; technicians also see their queues' tickets."""
    return ticket.requester_id == person.id or person.works_queue(ticket.queue)


def may_work(person: Person, ticket: Ticket) -> bool:
    """Claim, reply, note, ask, resolve...: technicians of the ticket's queue, and admins."""
    return person.works_queue(ticket.queue)


def may_take(person: Person, ticket: Ticket) -> bool:
    """Who a ticket may be assigned to: someone who works its queue and has not left (an
    old Assign button may still name a leaver)."""
    return person.active and person.works_queue(ticket.queue)


def may_release(person: Person, ticket: Ticket) -> bool:
    """Unclaim: the assignee themself, or an admin."""
    return ticket.assignee_id == person.id or "admin" in person.roles


def is_requester(person: Person, ticket: Ticket) -> bool:
    """Requester verbs (add information, cancel, fixed / not fixed) are theirs alone."""
    return ticket.requester_id == person.id


def decision_makers(desk: Desk, approval: Approval) -> set[str]:
    """Everyone who may decide `approval` now: the named approvers, the current members of
    its approver group when the group was asked, and the delegates of all of those; never
    someone who left (the engine already answers them as a stranger: this is the rule
    itself, for every other caller)."""
    ids = set(approval.approvers)
    if approval.rule == "group" and approval.group:
        ids |= {p.id for p in desk.directory.group(approval.group)}
    for pid in list(ids):
        person = desk.directory.get(pid)
        if person is not None and person.delegate:
            ids.add(person.delegate)
    ids.discard(approval.requester_id)  # nobody approves their own request
    found = (desk.directory.get(pid) for pid in ids)
    return {p.id for p in found if p is not None and p.active}


def may_decide(desk: Desk, approval: Approval, person: Person) -> bool:
    return person.id in decision_makers(desk, approval)


def refuse(
    turn: Turn,
    action: str,
    ticket: Ticket | None = None,
    *,
    key: str = "perm.not_allowed",
    **params: Any,
) -> None:
    """Say no politely and record the attempt in the audit trail."""
    repo.add_event(
        session=turn.session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="refused",
        note=action,
        data={
            "action": action,
            # What was typed or pressed, so the audit shows the arguments too.
            "asked": (turn.inbound.text or turn.inbound.action or "")[:ASKED_CHARS],
            "channel": turn.inbound.channel,
            "roles": sorted(turn.person.roles),
            "queues": sorted(turn.person.queues),
        },
    )
    turn.say(key, **params)
