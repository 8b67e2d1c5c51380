"""A restart mid-journey: a new desk and engine on the same database continue at the same step."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.desk import Desk
from tests.desks import build_desk

from .talk import outcomes, plain, talk, tickets


def test_journey_resumes_at_the_same_step_after_a_restart(
    chat: MemoryChat, desk: Desk, settings: Settings, clock: FixedClock
) -> None:
    talk(chat, "alice", ["!s:access_request", "sap", "read only"])
    desk.store.dispose()  # the old process is gone

    restarted = build_desk(settings, clock=clock, migrate=False)
    try:
        chat2 = MemoryChat(restarted)
        # Platform event ids keep counting across our restart; the new chat's start at 1.
        status = chat2.say("alice", "status", event_id="after-restart-1")
        assert "You're in Access request. Step 3 of" in plain(status)
        assert "Why do you need it?" in plain(status)  # the step it stopped at
        chat2.say("alice", "I reconcile invoices with Finance", event_id="after-restart-2")
        chat2.say("alice", "skip", event_id="after-restart-3")
        [ticket] = tickets(chat2)
        assert ticket.answers["system"] == "sap" and ticket.answers["level"] == "read"
        # The approval asked for after the restart resumes the journey.
        chat2.press("mark", "ap:1:y", channel="console")
        assert "Mark Jensen approved your request" in plain(chat2.seen_by("alice"))
        [ticket] = tickets(chat2)
        assert ticket.status == "open"
        assert outcomes(chat2) == ["ticket"]
    finally:
        restarted.store.dispose()
