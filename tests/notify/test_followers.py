"""Followers of a merged ticket (`/merge DUPLICATE KEEP`: the duplicate's requester follows
KEEP) and the sweep's scheduled notices: progress nudges and the auto-close reach them, in
their own language; what asks KEEP's requester to act (answer a question, confirm a fix,
rate the help) does not."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.desk import Desk

from .conftest import MakeDesk, move, new_ticket, plain, sweep_at, ticket


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def merged(desk: Desk, chat: MemoryChat) -> tuple[str, str]:
    """Alice's ticket stays; Wang Fang's (in Chinese) is merged into it."""
    keep = new_ticket(desk, title="Printer on floor 3 jammed").number
    dup = new_ticket(desk, requester="wang.fang", language="zh", title="三楼打印机卡纸").number
    assert "Merged" in "\n".join(plain(chat.say("dana", f"/merge {dup} {keep}")))
    chat.flush()
    return keep, dup


def test_a_question_for_the_requester_is_not_pressed_on_followers_but_the_close_is_told(
    desk: Desk, chat: MemoryChat, clock: FixedClock
) -> None:
    keep, dup = merged(desk, chat)
    told_before = len(chat.seen_by("wang.fang"))
    move(desk, keep, "waiting_on_user", kind="asked", note="Which tray?")
    sweep_at(desk, clock, utc(23, 11), chat)
    sweep_at(desk, clock, utc(25, 10), chat)  # the reminder
    sweep_at(desk, clock, utc(27, 10), chat)  # the auto-close warning
    assert [m for m in plain(chat.seen_by("alice")) if "reminder" in m or "close it" in m]
    assert len(chat.seen_by("wang.fang")) == told_before
    sweep_at(desk, clock, utc(30, 10), chat)
    assert ticket(desk, keep).status == "closed"
    [closed] = plain(chat.seen_by("wang.fang")[told_before:])
    assert f"您的请求 {dup} 已合并到 {keep}（Printer on floor 3 jammed），该工单现已关闭" in closed
    assert "I've closed" in plain(chat.seen_by("alice"))[-1]


def test_progress_nudges_reach_followers_in_their_language_and_time_zone(
    desk: Desk, chat: MemoryChat, clock: FixedClock
) -> None:
    clock.set(utc(27, 10))  # Friday
    keep, _ = merged(desk, chat)
    told_before = len(chat.seen_by("wang.fang"))
    sweep_at(desk, clock, utc(27, 10), chat)
    sweep_at(desk, clock, utc(2, 10, month=12), chat)  # Wednesday: three working days
    [alices] = [m for m in plain(chat.seen_by("alice")) if "Still in progress" in m]
    assert f"Still in progress: {keep}" in alices
    [hers] = plain(chat.seen_by("wang.fang")[told_before:])
    assert f"仍在处理中：{keep}" in hers and "Printer on floor 3 jammed" in hers
    assert chat.seen_by("wang.fang")[-1].choices == ()


def test_a_resolution_warning_and_survey_stay_with_the_requester_the_close_does_not(
    make_desk: MakeDesk, clock: FixedClock
) -> None:
    desk = make_desk(survey={"ratio": 1.0})
    chat = MemoryChat(desk)
    keep, dup = merged(desk, chat)
    told_before = len(chat.seen_by("wang.fang"))
    move(desk, keep, "resolved", kind="resolved")
    sweep_at(desk, clock, utc(23, 10), chat)
    sweep_at(desk, clock, utc(25, 10), chat)  # the warning, with Fixed / Not fixed
    assert "If it isn't fixed" in plain(chat.seen_by("alice"))[-1]
    assert len(chat.seen_by("wang.fang")) == told_before
    sweep_at(desk, clock, utc(26, 10), chat)  # closed
    sweep_at(desk, clock, utc(27, 10), chat)  # the survey is due by now
    assert any("How did we do" in m for m in plain(chat.seen_by("alice")))
    [closed] = plain(chat.seen_by("wang.fang")[told_before:])
    assert f"您的请求 {dup} 已合并到 {keep}" in closed
