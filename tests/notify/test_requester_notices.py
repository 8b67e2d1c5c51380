"""What requesters receive over time: reminders, auto-close, nudges, surveys, quiet hours, mute."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.desk import Desk
from notifications.ticket_notices import sampled
from store.models import OutboxMessage, Survey, Timer

from .conftest import MakeDesk, kinds, move, new_ticket, plain, sweep_at, ticket


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_waiting_on_you_reminder_warning_then_auto_close(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    t = new_ticket(desk)
    move(desk, t.number, "waiting_on_user", kind="asked", note="Which building?")
    clock.set(utc(23, 11))
    # A second question while it already waits: the reminder quotes the latest one.
    move(desk, t.number, "waiting_on_user", kind="asked", note="Which <b>floor</b> are you on?")
    sweep_at(desk, clock, utc(23, 11), chat)
    assert chat.seen_by("alice") == []
    # Reminders every 2 working days: Wednesday 10:00.
    sweep_at(desk, clock, utc(25, 9, 59), chat)
    assert chat.seen_by("alice") == []
    sweep_at(desk, clock, utc(25, 10), chat)
    [reminder] = chat.seen_by("alice")
    assert f"A reminder about {t.number}" in plain([reminder])[0]
    assert "Which <b>floor</b> are you on?" in plain([reminder])[0]  # escaped, shown as typed
    assert "&lt;b&gt;floor" in reminder.text
    # The warning after 4 working days (Friday), naming when it will close (Monday).
    sweep_at(desk, clock, utc(27, 10), chat)
    warning = plain(chat.seen_by("alice"))[-1]
    assert "If there's no reply by Mon 30 Nov, 10:00, I'll close it" in warning
    sweep_at(desk, clock, utc(30, 9, 59), chat)
    assert ticket(desk, t.number).status == "waiting_on_user"
    sweep_at(desk, clock, utc(30, 10), chat)
    closed = ticket(desk, t.number)
    assert closed.status == "closed" and closed.closed_at == utc(30, 10)
    assert "I've closed" in plain(chat.seen_by("alice"))[-1]
    # The lifecycle closes only resolved tickets: resolved (no answer), then closed.
    assert kinds(desk, t.number) == [
        "created", "asked", "asked", "reminded", "autoclose_warned", "auto_resolved",
        "auto_closed",
    ]  # fmt: skip


def test_an_answer_cancels_the_reminders(desk: Desk, chat: MemoryChat, clock: FixedClock):
    t = new_ticket(desk)
    move(desk, t.number, "waiting_on_user", kind="asked")
    sweep_at(desk, clock, utc(23, 10), chat)
    clock.set(utc(24, 11))
    move(desk, t.number, "in_progress", actor="alice", kind="replied")
    for day in (25, 27, 30):
        sweep_at(desk, clock, utc(day, 10), chat)
    assert ticket(desk, t.number).status == "in_progress"
    assert not any("reminder" in m or "close" in m for m in plain(chat.seen_by("alice")))


def test_resolved_then_warned_then_closed_then_surveyed(make_desk: MakeDesk, clock: FixedClock):
    desk = make_desk(survey={"ratio": 1.0})
    chat = MemoryChat(desk)
    t = new_ticket(desk)
    move(desk, t.number, "resolved", kind="resolved")
    sweep_at(desk, clock, utc(23, 10), chat)
    sweep_at(desk, clock, utc(25, 10), chat)  # 3 days to close, warned a day before
    warning = chat.seen_by("alice")[-1]
    assert "If it isn't fixed, tell me here before Thu 26 Nov, 10:00" in plain([warning])[0]
    assert [c.value for c in warning.choices] == [f"t:fixed:{t.number}", f"t:notfixed:{t.number}"]
    sweep_at(desk, clock, utc(26, 10), chat)
    assert ticket(desk, t.number).status == "closed"
    sweep_at(desk, clock, utc(26, 10, 59), chat)
    assert "How did we do" not in plain(chat.seen_by("alice"))[-1]
    sweep_at(desk, clock, utc(26, 11), chat)  # an hour after closing
    survey = chat.seen_by("alice")[-1]
    assert f"How did we do with {t.number}" in plain([survey])[0]
    assert [c.label for c in survey.choices] == ["1 😞", "2", "3", "4", "5 😀"]

    # Someone else cannot answer it; the refusal is audited.
    assert "someone else" in plain(chat.press("bob", survey.choices[0].value))[0]
    asked = plain(chat.press("alice", survey.choices[3].value))[0]
    assert "4/5 recorded" in asked
    assert "Thanks for your feedback" in plain(chat.say("alice", "Quick & friendly, thanks"))[0]
    with desk.store.read() as session:
        row = session.exec(select(Survey)).one()
    assert (row.score, row.comment, row.person_id) == (4, "Quick & friendly, thanks", "alice")
    assert kinds(desk, t.number)[-3:] == ["survey_sent", "refused", "rated"]


def test_survey_sampling_and_cooldown(make_desk: MakeDesk, clock: FixedClock):
    desk = make_desk(survey={"ratio": 1.0, "delay": "0m"})
    chat = MemoryChat(desk)
    first, second = new_ticket(desk), new_ticket(desk)
    move(desk, first.number, "closed", kind="confirmed", actor="alice")
    sweep_at(desk, clock, utc(23, 10, 1), chat)
    clock.set(utc(24, 10))
    move(desk, second.number, "closed", kind="confirmed", actor="alice")
    sweep_at(desk, clock, utc(24, 10, 1), chat)
    # One survey within the 30-day cooldown, however many tickets close.
    assert sum("How did we do" in m for m in plain(chat.seen_by("alice"))) == 1
    with desk.store.read() as session:
        outcomes = {t.key: t.data.get("outcome") for t in session.exec(select(Timer)).all()}
    assert outcomes[f"survey:t{second.id}"] == "skipped:cooldown"
    # The sample is a stable coin toss per ticket: about the ratio, the same every time.
    picks = [sampled(i, 0.3) for i in range(1, 2001)]
    assert 0.25 < sum(picks) / len(picks) < 0.35
    assert picks == [sampled(i, 0.3) for i in range(1, 2001)]
    assert not any(sampled(i, 0.0) for i in range(100))


def test_nudge_when_nothing_visible_happened_for_three_business_days(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    clock.set(utc(27, 10))  # Friday
    t = new_ticket(desk)
    sweep_at(desk, clock, utc(27, 10), chat)
    sweep_at(desk, clock, utc(1, 9, 59).replace(month=12), chat)  # Tuesday: only 2 working days
    assert chat.seen_by("alice") == []
    sweep_at(desk, clock, utc(2, 10).replace(month=12), chat)  # Wednesday
    [nudge] = plain(chat.seen_by("alice"))
    assert f"Still in progress: {t.number}" in nudge
    assert "Next step: someone from Service Desk will pick it up." in nudge
    assert "It's taking longer than expected" in nudge  # expected was Friday 14:00
    # The nudge itself is visible activity: the next one is three working days later.
    chat.say("alex", f"/claim {t.number}", channel="console")
    sweep_at(desk, clock, utc(7, 10).replace(month=12), chat)
    assert "Next step: Alex is working on it." in plain(chat.seen_by("alice"))[-1]


def test_quiet_hours_hold_a_nudge_until_the_morning_in_the_requesters_time_zone(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    clock.set(utc(23, 12))  # 20:00 in Shanghai
    t = new_ticket(desk, requester="wang.fang", language="zh")
    sweep_at(desk, clock, utc(23, 12), chat)
    sweep_at(desk, clock, utc(26, 12), chat)  # the nudge is due at 20:00 Shanghai time
    assert chat.seen_by("wang.fang") == []
    with desk.store.read() as session:
        row = session.exec(
            select(OutboxMessage).where(OutboxMessage.person_id == "wang.fang")
        ).one()
    assert row.available_at == utc(27, 0)  # Friday 08:00 in Shanghai
    clock.set(utc(27, 0))
    chat.flush()
    [nudge] = plain(chat.seen_by("wang.fang"))
    assert f"仍在处理中：{t.number}" in nudge and "下一步" in nudge


def test_p1_and_people_talking_to_the_bot_are_not_kept_waiting(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    clock.set(utc(23, 12))
    urgent = new_ticket(desk, requester="wang.fang", priority="P1", language="zh")
    sweep_at(desk, clock, utc(23, 12), chat)
    move(desk, urgent.number, "waiting_on_user", kind="asked")
    sweep_at(desk, clock, utc(25, 12), chat)  # 20:00 in Shanghai, but P1
    assert len(chat.seen_by("wang.fang")) == 1
    normal = new_ticket(desk, requester="wang.fang", language="zh")
    move(desk, normal.number, "waiting_on_user", kind="asked")
    clock.set(utc(27, 11, 50))
    chat.say("wang.fang", "我忘记密码了")  # she is in the middle of a request right now
    sweep_at(desk, clock, utc(27, 12), chat)  # the reminder is due, 20:00 in Shanghai
    assert any(normal.number in m for m in plain(chat.seen_by("wang.fang")))


def test_mute_drops_non_essential_notices_but_not_the_auto_close_warning(
    desk: Desk, chat: MemoryChat, clock: FixedClock
):
    assert "no more reminders" in plain(chat.say("alice", "/mute 2w"))[0]
    t = new_ticket(desk)
    move(desk, t.number, "waiting_on_user", kind="asked")
    sweep_at(desk, clock, utc(23, 10), chat)
    sweep_at(desk, clock, utc(25, 10), chat)  # reminder: muted
    sweep_at(desk, clock, utc(27, 10), chat)  # warning: essential
    said = plain(chat.seen_by("alice"))
    assert not any("A reminder" in m for m in said)
    assert "I'll close it" in said[-1]
    assert "get reminders" in plain(chat.say("alice", "/unmute"))[0]
    assert "couldn't read" in plain(chat.say("alice", "/mute forever and ever"))[0]
    # A number too large for a date is the same kind of mistake, not a crash.
    assert "couldn't read" in plain(chat.say("alice", "/mute 1000000000000000000000d"))[0]
