"""The SLA clock (business hours, pauses from the audit trail) and the alerts it drives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.adapters.memory import MemoryChat
from bot.base.calendar import BusinessCalendar
from bot.base.clock import FixedClock
from bot.base.config import BusinessHours
from bot.desk import Desk
from notifications.sla import SlaClock, status_spans, stops
from store.models import TicketEvent
from tests.journeys.talk import tickets

from .conftest import kinds, move, new_ticket, plain, sweep_at, ticket

LONDON = BusinessCalendar(BusinessHours(timezone="Europe/London", holidays="GB"))


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_clock_counts_business_hours_only():
    clock = SlaClock(LONDON, utc(23, 10))  # Monday 10:00
    assert clock.due(timedelta(hours=4)) == utc(23, 14)
    assert clock.due(timedelta(hours=4), 0.75) == utc(23, 13)
    # Past closing time (17:30) the rest of the target runs on Tuesday morning.
    assert clock.due(timedelta(hours=8)) == utc(24, 9, 30)
    assert clock.elapsed(utc(24, 12)) == timedelta(hours=10, minutes=30)


def test_whole_days_are_working_days_so_three_quarters_is_a_real_point():
    clock = SlaClock(LONDON, utc(23, 10))
    assert clock.due(timedelta(days=3)) == utc(26, 10)  # Thursday, same time
    # 75% of three 8.5 h days = 19 h 7.5 min of working time: Wednesday 12:07:30.
    assert clock.due(timedelta(days=3), 0.75) == datetime(2026, 11, 25, 12, 7, 30, tzinfo=UTC)


def test_public_holidays_and_weekends_do_not_count():
    clock = SlaClock(LONDON, utc(24, 16, month=12))  # Thursday 24 Dec, 16:00
    # 25 and 26 Dec (and the weekend, and the 28th as the Boxing Day substitute) are off.
    assert clock.due(timedelta(hours=4)) == utc(29, 11, 30, month=12)


def test_pauses_stop_the_clock_and_an_open_pause_has_no_due_time():
    pauses = [(utc(23, 11), utc(24, 10))]
    clock = SlaClock(LONDON, utc(23, 10), pauses)
    assert clock.due(timedelta(hours=4)) == utc(24, 13)
    assert clock.elapsed(utc(24, 11)) == timedelta(hours=2)
    still = SlaClock(LONDON, utc(23, 10), [(utc(23, 11), None)])
    assert still.due(timedelta(hours=4)) is None
    assert still.due(timedelta(minutes=30)) == utc(23, 10, 30)  # reached before the pause


def test_pauses_come_from_status_changes_in_the_audit_trail():
    events = [
        TicketEvent(id=1, at=utc(23, 10), kind="created", to_status="new"),
        TicketEvent(id=2, at=utc(23, 10, 5), kind="claimed", to_status="in_progress"),
        TicketEvent(id=3, at=utc(23, 11), kind="asked", to_status="waiting_on_user"),
        TicketEvent(id=4, at=utc(23, 12), kind="note"),  # no status change
        TicketEvent(id=5, at=utc(24, 10), kind="replied", to_status="in_progress"),
        TicketEvent(id=6, at=utc(24, 15), kind="asked", to_status="waiting_on_user"),
    ]
    spans = status_spans(events)
    assert [s.status for s in spans] == [
        "new",
        "in_progress",
        "waiting_on_user",
        "in_progress",
        "waiting_on_user",
    ]
    assert stops(spans, {"waiting_on_user"}) == [(utc(23, 11), utc(24, 10)), (utc(24, 15), None)]


def test_warning_at_75_percent_then_breach_escalates_to_the_queue_lead(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    t = new_ticket(desk, priority="P3")  # standard P3: first response 4h, resolution 3d
    sweep_at(desk, clock, clock.now(), chat)
    # Nobody has it and service_desk has no triage channel: its lead (Dana) hears about it.
    sweep_at(desk, clock, utc(23, 12, 59), chat)
    assert chat.seen_by("dana", channel="console") == []
    sweep_at(desk, clock, utc(23, 13), chat)
    [warning] = plain(chat.seen_by("dana", channel="console"))
    assert f"{t.number} [P3] reaches its first response target at Mon 23 Nov, 14:00" in warning
    assert "Nobody has claimed it yet" in warning
    sweep_at(desk, clock, utc(23, 14), chat)
    breach = plain(chat.seen_by("dana", channel="console"))[-1]
    assert "Escalated to you as lead of Service Desk" in breach
    assert "missed its first response target" in breach
    assert kinds(desk, t.number) == ["created", "sla_warning", "sla_breached"]
    # Each alert fires once, however often the sweep runs.
    sweep_at(desk, clock, utc(23, 15), chat)
    assert len(chat.seen_by("dana", channel="console")) == 2


def test_claim_stops_response_alerts_and_the_assignee_gets_the_resolution_warning(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    t = new_ticket(desk, priority="P2")  # standard P2: response 1h, resolution 8h
    chat.say("alex", f"/claim {t.number}", channel="console")
    sweep_at(desk, clock, utc(23, 10, 30), chat)
    assert not any("first response" in m for m in plain(chat.seen_by("dana", channel="console")))
    # 75% of 8 working hours from Mon 10:00 is 6 h: Monday 16:00.
    sweep_at(desk, clock, utc(23, 16), chat)
    warning = plain(chat.seen_by("alex", channel="console"))[-1]
    assert f"{t.number} [P2] reaches its resolution target at Tue 24 Nov, 09:30" in warning
    assert "Assigned to Alex Rivera" in warning
    sweep_at(desk, clock, utc(24, 9, 30), chat)
    assert "Escalated to you" in plain(chat.seen_by("dana", channel="console"))[-1]
    assert "missed its resolution target" in plain(chat.seen_by("alex", channel="console"))[-1]


def test_waiting_on_the_requester_pauses_the_clock_and_moves_the_eta(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    t = new_ticket(desk, priority="P2")
    chat.say("alex", f"/claim {t.number}", channel="console")
    before = ticket(desk, t.number).resolution_due
    assert before == utc(24, 9, 30)  # 8 working hours: Monday 10:00 -> Tuesday 09:30
    clock.set(utc(23, 11))
    move(desk, t.number, "waiting_on_user", kind="asked", note="Which floor are you on?")
    sweep_at(desk, clock, utc(23, 16), chat)
    # Paused since 11:00: no warning at 16:00, the clock is not running.
    assert plain(chat.seen_by("alex", channel="console"))[-1].startswith("You've claimed")
    clock.set(utc(24, 10))
    move(desk, t.number, "in_progress", actor="alice", kind="replied")
    sweep_at(desk, clock, utc(24, 10), chat)
    # One hour ran before the pause; the other seven run from Tuesday 10:00.
    assert ticket(desk, t.number).resolution_due == utc(24, 17)
    sweep_at(desk, clock, utc(24, 15), chat)  # 6 h of 8 used: the warning
    assert (
        "resolution target at Tue 24 Nov, 17:00"
        in plain(chat.seen_by("alex", channel="console"))[-1]
    )


def test_the_clock_waits_while_a_request_waits_for_its_approval(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    # A new laptop (fulfilment P4: first response within 2 working days) needs Mark's approval.
    chat.press("alice", "s:new_laptop")
    for answer in ("lightweight", "ship", "1 Main Street, London E1 6AN"):
        chat.say("alice", answer)
    [number] = [t.number for t in tickets(chat)]
    assert ticket(desk, number).status == "awaiting_approval"
    # Mark takes his time: the lead is not paged about a request still with the manager.
    for day in (24, 25, 26, 27):
        sweep_at(desk, clock, utc(day, 16), chat)
    assert chat.seen_by("dana", channel="console") == []
    assert not [k for k in kinds(desk, number) if k.startswith("sla_")]
    # Approved on Friday 27 at 16:00: the 2 working days run from there (Tue 1 Dec, 16:00).
    ask = chat.seen_by("mark", channel="console")
    approve = [c.value for o in ask for c in o.choices if c.value.endswith(":y")]
    chat.press("mark", approve[-1], channel="console")
    sweep_at(desk, clock, utc(30, 9), chat)
    assert ticket(desk, number).first_response_due == utc(1, 16, month=12)
    sweep_at(desk, clock, utc(1, 15, 59, month=12), chat)
    assert "sla_breached" not in kinds(desk, number)
    sweep_at(desk, clock, utc(1, 16, month=12), chat)
    assert "missed its first response target" in plain(chat.seen_by("dana", channel="console"))[-1]
