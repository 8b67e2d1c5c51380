"""Slack's size limits, end to end: a person types a huge description and everything that
shows it is delivered (split or cut with a pointer), never refused by Slack and dead-lettered.
The fake refuses what Slack refuses (too many blocks, sections over 3,000 characters, too
much text in one message), so delivery here means Slack would take it."""

from __future__ import annotations

from sqlmodel import select

from bot.adapters.slack.mrkdwn import escape
from store import tickets as repo
from store.models import OutboxMessage
from tests.slack.conftest import TRIAGE, Driver

# What people paste: markup characters, Chinese, emoji, long lines without a break.
PIECE = "VPN & <wifi> keeps dropping 服务台 😀 since the update; error 0x80070005 "


async def test_a_huge_description_is_confirmed_carded_and_shown(slack: Driver):
    description = (PIECE * 400)[:20_000]
    await slack.dm("U0ALICE", "talk to a human")
    # Slack delivers typed text in its own markup: & < > arrive escaped.
    assert await slack.dm("U0ALICE", escape(description)) == 200
    with slack.desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert description in ticket.description
    confirmation = slack.last("D0ALICE")
    assert ticket.number in confirmation.block_text()

    assert await slack.flush() >= 1
    assert ticket.number in slack.last(TRIAGE).block_text()

    before = len(slack.fake.posts("D0DANA"))
    await slack.dm("U0DANA", f"/show {ticket.number}")
    shown = slack.fake.posts("D0DANA")[before:]
    # The description and the answer it came in (40,000 characters): three messages of
    # text, the last cut with a pointer, each one within what Slack takes.
    assert len(shown) == 3
    assert all(post.result.get("ts") for post in shown)  # all accepted
    first, last = shown[0].block_text(), shown[-1].block_text()
    assert f"*{ticket.number}*" in first and "VPN &amp; &lt;wifi&gt; keeps dropping" in first
    text = [b["text"]["text"] for b in shown[-1].blocks if b["type"] == "section"]
    assert any(t.endswith("_…(cut: the rest does not fit in chat)_") for t in text)
    assert "*Assigned to*\nNot yet assigned" in last  # the card comes whole, after the text
    with slack.desk.store.read() as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert [m for m in rows if m.status != "sent"] == []  # nothing waiting, nothing dead
