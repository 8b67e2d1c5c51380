"""Idle journeys: closed by the sweep with a short note via the outbox, or on the next message."""

from __future__ import annotations

from datetime import timedelta

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.desk import Desk
from bot.expiry import expire_idle
from store import conversations

from .talk import outcomes, plain, talk


def test_sweep_ends_idle_journeys_and_tells_the_person(
    chat: MemoryChat, desk: Desk, clock: FixedClock
) -> None:
    talk(chat, "alice", ["!s:vpn_issue"])
    clock.advance(timedelta(minutes=30))
    talk(chat, "bob", ["!s:new_laptop"])
    timeout = desk.settings.conversation.idle_timeout

    clock.advance(timeout - timedelta(minutes=1))  # alice is idle past the timeout, bob not yet
    assert expire_idle(desk, clock.now()) == 1
    assert chat.flush() == 1
    note = chat.seen_by("alice")[-1]
    assert "Your earlier request (VPN problem) timed out" in plain([note])
    assert outcomes(chat) == ["expired"]
    with desk.store.read() as session:
        row = conversations.load_conversation(
            session=session, channel="memory", person_id="alice", conversation="alice"
        )
        assert row is not None and "journey" not in row.data and row.expires_at is None

    assert expire_idle(desk, clock.now()) == 0  # nothing left to do, nothing sent twice
    assert chat.flush() == 0
    clock.advance(timedelta(minutes=2))
    assert expire_idle(desk, clock.now()) == 1  # now bob's
    chat.flush()
    assert "timed out" in plain(chat.seen_by("bob")[-1:])


def test_next_message_after_the_sweep_is_a_new_request(
    chat: MemoryChat, desk: Desk, clock: FixedClock
) -> None:
    talk(chat, "alice", ["!s:vpn_issue"])
    clock.advance(desk.settings.conversation.idle_timeout + timedelta(seconds=1))
    expire_idle(desk, clock.now())
    chat.flush()
    replies = chat.say("alice", "hello")
    assert "Hi Alice" in plain(replies)
    assert "timed out" not in plain(replies)  # told once, by the sweep


def test_answering_in_time_keeps_the_journey(
    chat: MemoryChat, desk: Desk, clock: FixedClock
) -> None:
    talk(chat, "alice", ["!s:vpn_issue"])
    clock.advance(desk.settings.conversation.idle_timeout - timedelta(minutes=5))
    chat.say("alice", "won't connect")  # the answer resets the idle clock
    clock.advance(timedelta(minutes=10))
    assert expire_idle(desk, clock.now()) == 0
    assert chat.say("alice", "no")[-1].text == "Where are you connecting from?"


def test_the_scheduled_sweep_closes_idle_journeys(
    chat: MemoryChat, desk: Desk, clock: FixedClock
) -> None:
    """`deskbot serve` runs the notifications sweep; it closes idle journeys too."""
    from notifications.sweep import Sweeper

    talk(chat, "alice", ["!s:vpn_issue"])
    clock.advance(desk.settings.conversation.idle_timeout + timedelta(minutes=1))
    report = Sweeper(desk).run_once()
    assert report is not None and report.expired == 1
    chat.flush()
    assert "timed out" in plain([chat.seen_by("alice")[-1]])
