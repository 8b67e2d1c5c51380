"""Approvals: the journey waits, only the right person decides, exactly once, audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Paths, Settings
from bot.base.markup import to_plain
from bot.desk import Desk
from store import tickets as repo
from store.models import Approval
from tests.desks import build_desk

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def approval_desk(settings: Settings, clock: FixedClock):
    paths = settings.paths.model_copy(update={"services": str(DATA / "services")})
    desk = build_desk(
        settings.model_copy(update={"paths": Paths(**paths.model_dump())}),
        clock=clock,
        migrate=False,
    )
    yield desk
    desk.store.dispose()


def request_monitor(chat: MemoryChat) -> str:
    chat.say("alice", "I need another monitor")
    chat.press("alice", "j:size:27")
    with chat.desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    return ticket.number


def plain(outs) -> str:
    return "\n".join(to_plain(o.text) for o in outs)


def test_manager_approves_and_requester_is_told(approval_desk: Desk):
    chat = MemoryChat(approval_desk)
    number = request_monitor(chat)
    seen = plain(chat.seen_by("alice"))
    assert number in seen and "waiting for approval from Mark Jensen" in seen
    # Mark (alice's manager) has never talked to the bot: his request arrives on the console.
    [ask] = chat.seen_by("mark", channel="console")
    assert "Alice Morgan" in to_plain(ask.text) and "27-inch monitor" in to_plain(ask.text)
    approve = next(c.value for c in ask.choices if c.value.endswith(":y"))

    # The conversation is free while waiting: Alice can ask something else meanwhile.
    assert "Hi Alice" in plain(chat.say("alice", "hello"))

    chat.press("mark", approve, channel="console")
    assert "Mark Jensen approved it: IT will deliver" in plain(chat.seen_by("alice"))
    with approval_desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.status == "open"
        kinds = [e.kind for e in repo.events_of(session=session, ticket_id=ticket.id or 0)]
    assert kinds == ["created", "approval_requested", "approved"]


def test_reject_with_reason_ends_journey_and_ticket(approval_desk: Desk):
    chat = MemoryChat(approval_desk)
    number = request_monitor(chat)
    ask = chat.seen_by("mark", channel="console")[0]
    reject = next(c.value for c in ask.choices if c.value.endswith(":n"))
    chat.press("mark", reject, channel="console")
    assert "Why are you rejecting" in plain(chat.seen_by("mark", channel="console"))
    chat.say("mark", "No budget <!channel> this quarter", channel="console")
    told = chat.seen_by("alice")[-1]
    assert "did not approve" in to_plain(told.text)
    assert "No budget <!channel> this quarter" in to_plain(told.text)
    assert "&lt;!channel&gt;" in told.text  # escaped in the markup every adapter receives
    with approval_desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.status == "rejected"


def test_only_named_approver_or_delegate_may_decide_and_only_once(approval_desk: Desk):
    chat = MemoryChat(approval_desk)
    request_monitor(chat)
    with approval_desk.store.read() as session:
        approval = session.exec(__import__("sqlmodel").select(Approval)).one()
    # Bob is a colleague, not an approver; Alice may not approve her own request.
    for intruder in ("bob", "alice"):
        assert "can't decide" in plain(chat.say(intruder, f"/approve {approval.id}"))
    # Olivia is Mark's delegate (people.csv), so she may decide for him.
    assert "recorded" in plain(chat.say("olivia", f"/approve {approval.id}"))
    again = plain(chat.say("mark", f"/reject {approval.id} too late"))
    assert "already decided: approved by Olivia Brandt" in again
    with approval_desk.store.read() as session:
        refused = [
            e
            for e in session.exec(
                __import__("sqlmodel").select(
                    __import__("store.models", fromlist=["TicketEvent"]).TicketEvent
                )
            ).all()
            if e.kind == "refused"
        ]
    assert len(refused) == 2
