"""Approvals by inline button: the approver's private chat gets Approve / Reject, the
decision resumes the requester's journey, and the requester is told."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.desk import Desk
from store import tickets as repo
from tests.telegram.conftest import Harness, started
from tests.telegram.fake_bot_api import FakeBotAPI, Shown

ALICE, MARK, OLIVIA = 1001, 1004, 1010


@pytest.fixture
async def tg(approval_desk: Desk, fake: FakeBotAPI) -> AsyncIterator[Harness]:
    channel, harness = await started(approval_desk, fake)
    yield harness
    await channel.stop()
    assert fake.unanswered() == set()


async def ask_for_monitor(tg: Harness) -> Shown:
    prompt = (await tg.say(ALICE, "I need another monitor"))[-1]
    waiting = await tg.press(ALICE, prompt, "27 inch")
    assert "waiting for approval from Mark Jensen" in waiting[-1].text
    await tg.flush()
    [ask] = tg.fake.in_chat(MARK)  # Mark never wrote to the bot: reached by his telegram_id
    assert "Alice Morgan" in ask.text and "27-inch monitor" in ask.text
    return ask


async def test_manager_approves_by_button(tg: Harness, approval_desk: Desk):
    ask = await ask_for_monitor(tg)
    buttons = ask.reply_markup["inline_keyboard"][0] if ask.reply_markup else []
    assert [(b["text"], b.get("style")) for b in buttons] == [
        ("Approve", "primary"),
        ("Reject", "danger"),
    ]
    [recorded] = await tg.press(MARK, ask, "Approve")
    assert recorded.text.startswith("Thanks, recorded")
    assert ask.buttons == []  # decided: the buttons are gone
    await tg.flush()
    assert "Mark Jensen approved it: IT will deliver" in tg.fake.texts(ALICE)
    with approval_desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.status == "open"


async def test_reject_by_button_then_reason(tg: Harness, approval_desk: Desk):
    ask = await ask_for_monitor(tg)
    [why] = await tg.press(MARK, ask, "Reject")
    assert "Why are you rejecting it?" in why.text
    await tg.say(MARK, "No budget <b>this</b> quarter")
    await tg.flush()
    told = tg.fake.in_chat(ALICE)[-1]
    assert "did not approve" in told.text
    assert "No budget <b>this</b> quarter" in told.text  # shown literally, not as bold
    with approval_desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.status == "rejected"


async def test_only_the_approver_or_delegate_decides(tg: Harness):
    await ask_for_monitor(tg)
    [refused] = await tg.say(ALICE, "/approve 1")
    assert "can't decide" in refused.text
    [ok] = await tg.say(OLIVIA, "/approve 1")  # Mark's delegate
    assert "recorded" in ok.text
    [late] = await tg.press(MARK, tg.fake.in_chat(MARK)[0], "Approve")
    assert "already decided: approved by Olivia Brandt" in late.text
