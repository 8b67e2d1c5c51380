"""Flood control: one person sending hundreds of messages gets one polite notice, opens no
more than their hourly share of tickets, posts no card and pages nobody past it; each limit
is audited and lifts by itself. Major incidents count people, not tickets."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Inbound, Outbound
from bot.desk import Desk
from store import tickets as repo
from store.models import OutboxMessage, TicketEvent
from tests.insight.test_major_incident import VPN

SLOW_DOWN = "You're sending messages faster than I can take them in"
TOO_MANY = "requests in the last hour"


def plain(replies: list[Outbound]) -> str:
    return "\n".join(to_plain(r.text) for r in replies)


def refusals(desk: Desk, person: str) -> list[TicketEvent]:
    with desk.store.read() as session:
        stmt = select(TicketEvent).where(
            col(TicketEvent.kind) == "rate_limited", col(TicketEvent.actor_id) == person
        )
        return list(session.exec(stmt).all())


def tickets_of(desk: Desk, person: str) -> int:
    with desk.store.read() as session:
        return len(repo.list_tickets(session=session, requester_id=person))


def test_a_burst_of_messages_is_told_once_and_the_limit_lifts_after_a_minute(
    chat: MemoryChat, desk: Desk, clock: FixedClock
):
    limit = desk.settings.limits.messages_per_minute
    burst = (Inbound("memory", "bob", "bob", f"/human printer {n}", f"ev-{n}") for n in range(200))
    answers = [chat.send(inbound, flush=False) for inbound in burst]
    told = [n for n, replies in enumerate(answers) if SLOW_DOWN in plain(replies)]
    assert told == [limit], "one notice, on the first message past the limit"
    assert all(replies == [] for replies in answers[limit + 1 :]), "the rest is ignored"
    assert [e.note for e in refusals(desk, "bob")] == ["messages"]
    assert tickets_of(desk, "bob") <= desk.settings.limits.requests_per_hour
    assert chat.say("alice", "/status"), "nobody else is held back"

    clock.advance(timedelta(minutes=1))
    assert SLOW_DOWN not in plain(chat.say("bob", "/status")) and chat.say("bob", "/help")


def test_new_requests_past_the_hourly_limit_open_no_ticket_card_or_page(
    chat: MemoryChat, desk: Desk, clock: FixedClock
):
    limit = desk.settings.limits.requests_per_hour
    for n in range(limit):
        chat.say("bob", f"/human printer {n} is broken")
        clock.advance(timedelta(minutes=3))  # slowly: the message limit is not the point here
    assert tickets_of(desk, "bob") == limit
    with desk.store.read() as session:
        queued = len(session.exec(select(OutboxMessage)).all())

    refused = plain(chat.say("bob", "/human printer 11 is broken"))
    assert TOO_MANY in refused and "/status" in refused
    assert tickets_of(desk, "bob") == limit
    with desk.store.read() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == queued, "no card, no page"
    assert [e.note for e in refusals(desk, "bob")] == ["requests"]

    # A journey that ends in a ticket is refused at that point too, and says so.
    replies = [plain(chat.say("bob", text)) for text in VPN]
    assert TOO_MANY in "\n".join(replies) and tickets_of(desk, "bob") == limit

    clock.advance(timedelta(hours=1))
    chat.say("bob", "/human printer 12 is broken")
    assert tickets_of(desk, "bob") == limit + 1, "the limit lifted by itself"
