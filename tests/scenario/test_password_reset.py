"""The first journey end to end through the in-memory channel, on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from bot.desk import Desk
from store import tickets as repo


def texts(replies: list[Outbound]) -> str:
    return "\n".join(to_plain(r.text) for r in replies)


def test_forgot_password_creates_ticket_with_number_next_step_and_eta(chat: MemoryChat, desk: Desk):
    first = chat.say("alice", "I forgot my password")
    assert "Password reset" in texts(first)
    prompt = first[-1]
    assert [c.label for c in prompt.choices][:2] == ["Windows / network login", "Email (Outlook)"]
    assert prompt.message.progress and prompt.message.progress.startswith("Step 1 of")

    chat.press("alice", prompt.choices[1].value)  # Email
    chat.say("alice", "yep")  # locked out: typed instead of pressed
    done = chat.say("alice", "+44 20 7946 0000")

    with desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.number == "IT-1000"
    assert ticket.service_id == "password_reset"
    assert ticket.requester_id == "alice"
    assert ticket.answers == {"account": "email", "locked_out": True, "phone": "+44 20 7946 0000"}
    # Locked out raises urgency: low impact x high urgency -> P3 in the default matrix.
    assert ticket.priority == "P3"
    assert ticket.expected_at is not None and ticket.expected_at > ticket.created_at
    said = texts(done)
    assert "IT-1000" in said
    assert "call you on +44 20 7946 0000" in said
    assert done[-1].message.card is not None and done[-1].message.card.number == "IT-1000"


def test_invalid_answer_is_re_asked_with_a_hint(chat: MemoryChat):
    chat.say("alice", "reset my password")
    chat.say("alice", "1")
    chat.say("alice", "no")
    again = chat.say("alice", "call me maybe")
    said = texts(again)
    assert "format" in said and "+44 20 7946 0000" in said  # the step's own hint
    assert "which phone number" in said


def test_same_event_twice_creates_one_ticket(chat: MemoryChat, desk: Desk):
    chat.say("alice", "I forgot my password", event_id="e1")
    chat.say("alice", "1", event_id="e2")
    chat.say("alice", "no", event_id="e3")
    chat.say("alice", "+44 1234 567890", event_id="e4")
    assert chat.say("alice", "+44 1234 567890", event_id="e4") == []
    with desk.store.read() as session:
        assert len(repo.list_tickets(session=session)) == 1


def test_a_lone_yes_with_nothing_asked_is_acknowledged_not_matched(chat: MemoryChat):
    for word in ("yes", "ok", "好的"):
        said = texts(chat.say("alice", word))
        assert "OK." in said or "好的。" in said
        assert "doesn't sound like" not in said and "not sure" not in said
