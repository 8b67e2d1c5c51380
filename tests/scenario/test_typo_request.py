"""A request with typos starts the right journey and is not asked what it already said."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.base.messages import Outbound


def texts(replies: list[Outbound]) -> str:
    return "\n".join(to_plain(r.text) for r in replies)


def test_choice_named_with_typos_is_taken_from_the_request(chat: MemoryChat):
    replies = chat.say("alice", "my outlok keeps asking for my pasword")
    said = texts(replies)
    assert "Email or Outlook problem" in said
    assert "I've noted: Keeps asking for my password" in said
    assert "What's wrong with your email?" not in said


def test_without_typos_the_same_choice_is_taken_as_before(chat: MemoryChat):
    said = texts(chat.say("alice", "outlook keeps asking for my password"))
    assert "I've noted: Keeps asking for my password" in said
