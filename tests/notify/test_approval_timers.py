"""Approvers are reminded, then a fallback approver is asked too; a decision stops both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Paths, Settings
from bot.desk import Desk
from store import tickets as repo
from store.models import Approval, Timer
from tests.desks import build_desk

from .conftest import kinds, plain, sweep_at, with_notifications

DATA = Path(__file__).resolve().parent.parent / "data"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def approval_desk(settings: Settings, clock: FixedClock) -> Iterator[Desk]:
    paths = settings.paths.model_copy(update={"services": str(DATA / "services")})
    tuned = with_notifications(settings, nudge={"enabled": False})
    desk = build_desk(
        tuned.model_copy(update={"paths": Paths(**paths.model_dump())}), clock=clock, migrate=False
    )
    yield desk
    desk.store.dispose()


def request_monitor(chat: MemoryChat) -> str:
    chat.say("alice", "I need another monitor")
    chat.press("alice", "j:size:27")
    with chat.desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    return ticket.number


def test_reminder_then_escalation_to_the_fallback_who_may_then_decide(
    approval_desk: Desk, clock: FixedClock
):
    chat = MemoryChat(approval_desk)
    number = request_monitor(chat)
    sweep_at(approval_desk, clock, utc(23, 10), chat)
    [ask] = chat.seen_by("mark", channel="console")
    sweep_at(approval_desk, clock, utc(24, 9, 59), chat)
    assert len(chat.seen_by("mark", channel="console")) == 1
    sweep_at(approval_desk, clock, utc(24, 10), chat)  # one working day later
    reminder = chat.seen_by("mark", channel="console")[-1]
    assert (
        "Reminder: Alice Morgan has been waiting 1 business day for your decision"
        in plain([reminder])[0]
    )
    assert [c.value for c in reminder.choices] == [c.value for c in ask.choices]

    sweep_at(approval_desk, clock, utc(25, 10), chat)  # two working days: escalate
    # Mark's manager is Priya (people.csv): she is asked too, and Alice is told.
    [escalated] = chat.seen_by("priya", channel="console")
    assert "Mark Jensen didn't decide within 2 business days" in plain([escalated])[0]
    assert (
        "Mark Jensen hasn't decided on IT-1000 yet, so I've also asked Priya Raman"
        in plain(chat.seen_by("alice"))[-1]
    )
    with approval_desk.store.read() as session:
        approval = session.exec(select(Approval)).one()
    assert approval.approvers == ["mark", "priya"]

    approve = next(c.value for c in escalated.choices if c.value.endswith(":y"))
    chat.press("priya", approve, channel="console")
    assert "Priya Raman approved it" in "\n".join(plain(chat.seen_by("alice")))
    assert [k for k in kinds(approval_desk, number) if not k.startswith("sla_")] == [
        "created", "approval_requested", "approval_reminded", "approval_escalated", "approved",
    ]  # fmt: skip


def test_a_decision_cancels_the_pending_reminders(approval_desk: Desk, clock: FixedClock):
    chat = MemoryChat(approval_desk)
    request_monitor(chat)
    sweep_at(approval_desk, clock, utc(23, 10), chat)
    ask = chat.seen_by("mark", channel="console")[0]
    chat.press(
        "mark", next(c.value for c in ask.choices if c.value.endswith(":y")), channel="console"
    )
    sweep_at(approval_desk, clock, utc(24, 10), chat)
    sweep_at(approval_desk, clock, utc(25, 10), chat)
    assert len(chat.seen_by("mark", channel="console")) == 2  # the request and "recorded"
    assert chat.seen_by("priya", channel="console") == []
    with approval_desk.store.read() as session:
        timers = session.exec(select(Timer).where(col(Timer.subject).startswith("a"))).all()
    assert {t.status for t in timers} == {"cancelled"}
