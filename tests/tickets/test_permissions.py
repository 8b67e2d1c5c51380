"""The authorisation matrix: every privileged verb tried by people who may not use it (an
employee, the requester, technicians of other queues). Each attempt is refused politely,
changes nothing, tells nobody, and leaves one "refused" event in the audit trail."""

from __future__ import annotations

import pytest
from sqlmodel import col, func, select

from bot.adapters.memory import MemoryChat
from bot.desk import Desk
from store.models import Approval, OutboxMessage, TicketEvent
from tests.tickets.helpers import get, kinds, plain

NUMBER = "IT-1000"
STAFF_ONLY = "is for IT technicians"
OTHER_QUEUE = "belongs to the Workplace & Devices team"
NOT_QUEUE = "not a technician of the Workplace & Devices team"
HIDDEN = f"can't find a ticket {NUMBER} that you can see"
NOT_APPROVER = "can't decide on this approval"
NOT_REQUESTER = "only the person who raised"

TICKET_VERBS = [
    f"/claim {NUMBER}",
    f"/unclaim {NUMBER}",
    f"/assign {NUMBER} dana",
    f"/assign {NUMBER}",
    f"/reply {NUMBER} hello from someone who shouldn't",
    f"/note {NUMBER} sneaky note",
    f"/ask {NUMBER} what is your password?",
    f"/priority {NUMBER} P1",
    f"/set {NUMBER} size 32",
    f"/resolve {NUMBER} closing it for you",
    f"/reopen {NUMBER}",
]
REQUESTER_VERBS = [
    f"/add {NUMBER} extra details",
    f"/cancel {NUMBER}",
    f"/fixed {NUMBER}",
    f"/notfixed {NUMBER}",
]
APPROVER_VERBS = ["/approve 1", "/reject 1 no", "ap:1:y", "ap:1:n"]


def matrix(actor: str) -> list[tuple[str, str]]:
    """(command, expected refusal) for each privileged thing `actor` tries."""
    if actor in ("bob", "alice"):  # employees (alice raised the ticket)
        rows = [(v, STAFF_ONLY) for v in TICKET_VERBS]
        rows += [("/queue", STAFF_ONLY), ("/queue workplace", STAFF_ONLY), ("/mine", STAFF_ONLY)]
        rows += [("/log bob printer broken", STAFF_ONLY)]
        if actor == "bob":
            rows += [
                (v, HIDDEN) for v in [*REQUESTER_VERBS, f"/status {NUMBER}", f"/show {NUMBER}"]
            ]
    else:  # technicians of other queues: Sam (security), Alex (service desk, network)
        rows = [(v, OTHER_QUEUE) for v in TICKET_VERBS]
        rows += [("/queue workplace", NOT_QUEUE), ("/log bob workplace P2 broken dock", NOT_QUEUE)]
        rows += [(v, HIDDEN) for v in [*REQUESTER_VERBS, f"/status {NUMBER}", f"/show {NUMBER}"]]
    rows += [(v, NOT_APPROVER) for v in APPROVER_VERBS]
    return rows


def snapshot(desk: Desk) -> tuple[tuple[object, ...], int]:
    """(everything a refused attempt must leave alone, how many audit events exist)."""
    ticket = get(desk, NUMBER)
    with desk.store.read() as session:
        outbox = session.exec(select(func.count()).select_from(OutboxMessage)).one()
        approvals = [(a.id, a.status) for a in session.exec(select(Approval)).all()]
        events = session.exec(select(func.count()).select_from(TicketEvent)).one()
    state = (
        ticket.status,
        ticket.assignee_id,
        ticket.priority,
        dict(ticket.answers),
        ticket.updated_at,
        [k for k in kinds(desk, NUMBER) if k != "refused"],
        outbox,
        approvals,
    )
    return state, events


def refusals(desk: Desk, actor: str) -> list[TicketEvent]:
    with desk.store.read() as session:
        return list(
            session.exec(
                select(TicketEvent)
                .where(TicketEvent.kind == "refused", TicketEvent.actor_id == actor)
                .order_by(col(TicketEvent.id))
            ).all()
        )


@pytest.fixture
def waiting_monitor(achat: MemoryChat, adesk: Desk) -> MemoryChat:
    """Alice's monitor request: workplace queue, claimed by Dana, waiting for Mark (#1)."""
    achat.say("alice", "I need another monitor")
    achat.press("alice", "j:size:27")
    achat.say("dana", f"/claim {NUMBER}")
    ticket = get(adesk, NUMBER)
    assert (ticket.queue, ticket.assignee_id, ticket.status) == (
        "workplace",
        "dana",
        "awaiting_approval",
    )
    return achat


@pytest.mark.parametrize("actor", ["bob", "alice", "sam", "alex"])
def test_every_privileged_verb_is_refused(
    waiting_monitor: MemoryChat, adesk: Desk, actor: str
) -> None:
    chat = waiting_monitor
    for command, expected in matrix(actor):
        before = snapshot(adesk)
        seen = len(refusals(adesk, actor))
        if command.startswith("ap:"):
            said = plain(chat.press(actor, command))
        else:
            said = plain(chat.say(actor, command))
        assert expected in said, f"{actor} {command!r}: {said!r}"
        after = snapshot(adesk)
        # Nothing changed and nobody was told, apart from the refusal itself on record.
        assert after[0] == before[0], f"{actor} {command!r} changed something"
        assert after[1] == before[1] + 1
        new = refusals(adesk, actor)[seen:]
        assert len(new) == 1, f"{actor} {command!r}: {len(new)} refusals recorded"
        assert new[0].data["channel"] == "memory"
    assert get(adesk, NUMBER).status == "awaiting_approval"


def test_the_right_people_can_do_it(waiting_monitor: MemoryChat, adesk: Desk) -> None:
    """The same ticket, worked by those allowed: the matrix above is not refusing everyone."""
    chat = waiting_monitor
    assert "Noted" in plain(chat.say("dana", f"/note {NUMBER} ordered from stock"))
    assert "now P2" in plain(chat.say("priya", f"/priority {NUMBER} P2"))  # admin: any queue
    assert NUMBER in plain(chat.say("alice", f"/status {NUMBER}"))  # her own ticket
    assert NUMBER not in plain(chat.say("bob", "/status"))  # never someone else's
    assert "recorded" in plain(chat.say("mark", "/approve 1"))  # the named approver
    assert get(adesk, NUMBER).status == "in_progress"
    assert refusals(adesk, "dana") == refusals(adesk, "priya") == []


def test_unclaim_is_for_the_assignee_or_an_admin(tchat: MemoryChat, tdesk: Desk) -> None:
    tchat.say("bob", "/human keyboard is dead")
    tchat.say("dana", "/claim IT-1000")
    said = plain(tchat.say("alex", "/unclaim IT-1000"))  # same queue, but not his
    assert "assigned to Dana Whitfield, so only they (or an admin)" in said
    assert get(tdesk, "IT-1000").assignee_id == "dana"
    assert [e.note for e in refusals(tdesk, "alex")] == ["unclaim"]
    assert "back in the queue" in plain(tchat.say("priya", "/unclaim IT-1000"))


def test_requester_verbs_are_the_requesters_own(tchat: MemoryChat, tdesk: Desk) -> None:
    tchat.say("bob", "/human keyboard is dead")
    # Dana can see the ticket (her queue) but may not speak for Bob.
    said = plain(tchat.say("dana", "/cancel IT-1000"))
    assert NOT_REQUESTER in said
    assert get(tdesk, "IT-1000").status == "new"
    assert "cancelled" in plain(tchat.say("bob", "/cancel IT-1000 found a spare one"))
    assert get(tdesk, "IT-1000").status == "cancelled"
