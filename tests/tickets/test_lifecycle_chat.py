"""The whole ticket lifecycle through the in-memory channel, with several people talking to
the bot at once: requesters opening and following tickets, technicians working them from
the triage channel and their own chats, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.cli import main as cli
from bot.desk import Desk
from tests.tickets.helpers import (
    SLACK_TRIAGE,
    TELEGRAM_TRIAGE,
    buttons,
    card,
    field,
    get,
    kinds,
    plain,
)

ROOT = Path(__file__).resolve().parents[2]


def last(chat: MemoryChat, conversation: str, channel: str = "memory") -> str:
    return to_plain(chat.seen_by(conversation, channel)[-1].text)


def test_full_lifecycle_with_several_people(
    tchat: MemoryChat,
    tdesk: Desk,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chat = tchat
    # Alice starts a password reset; Bob, meanwhile, asks for a person; Alice carries on.
    chat.say("alice", "I forgot my password")
    bob_said = plain(chat.say("bob", "/human my VPN drops every hour"))
    assert "IT-1000" in bob_said
    chat.say("alice", "2")  # Email
    chat.say("alice", "yes")
    done = plain(chat.say("alice", "+44 20 7946 0000"))
    assert "IT-1001" in done
    alice_ticket, bob_ticket = "IT-1001", "IT-1000"

    # Both tickets wait in the service desk triage channels with Claim and Assign.
    shown = card(chat, alice_ticket)
    assert buttons(shown.out)[:2] == [f"t:claim:{alice_ticket}", f"t:assign:{alice_ticket}"]
    assert "New ticket" in to_plain(shown.out.text)
    card(chat, alice_ticket, "telegram", TELEGRAM_TRIAGE)

    # Dana claims Alice's ticket from Slack; Alex is a moment too late.
    said = plain(
        chat.press("dana", f"t:claim:{alice_ticket}", channel="slack", conversation=SLACK_TRIAGE)
    )
    assert f"You've claimed {alice_ticket}" in said
    late = plain(
        chat.press("alex", f"t:claim:{alice_ticket}", channel="slack", conversation=SLACK_TRIAGE)
    )
    assert f"{alice_ticket} is already taken by Dana Whitfield" in late
    assert "Dana from IT is on it" in last(chat, "alice")
    shown = card(chat, alice_ticket)
    assert shown.edits == 1  # the same card, edited in place
    assert (
        field(shown, "Status") == "In progress" and field(shown, "Assigned to") == "Dana Whitfield"
    )
    assert buttons(shown.out)[:1] == [f"t:assign:{alice_ticket}"]
    assert (
        field(card(chat, alice_ticket, "telegram", TELEGRAM_TRIAGE), "Assigned to")
        == "Dana Whitfield"
    )

    # Alex hands Bob's ticket to Chen Jie with the Assign picker (colleagues of the queue).
    picker = chat.press(
        "alex", f"t:assign:{bob_ticket}", channel="slack", conversation=SLACK_TRIAGE
    )
    names = [c.label for c in picker[-1].choices]
    assert names == ["Alex Rivera", "Dana Whitfield", "陈杰"]  # not Sam: he works Security
    chat.press(
        "alex", f"t:assign:{bob_ticket} chen.jie", channel="slack", conversation=SLACK_TRIAGE
    )
    assert get(tdesk, bob_ticket).assignee_id == "chen.jie"
    told = to_plain(chat.seen_by("chen.jie", "console")[-1].text)
    assert "分配给了您" in told  # Chen Jie reads Chinese
    assert "陈杰 from IT is on it" in last(chat, "bob")

    # Dana asks Alice a question; Alice answers in her own words and Dana gets it.
    said = plain(
        chat.say("dana", f"/ask {alice_ticket} Which phone should I call, mobile or desk?")
    )
    assert "waits for their answer" in said
    question = chat.seen_by("alice")[-1]
    assert "has a question" in to_plain(question.text)
    assert buttons(question) == [f"t:add:{alice_ticket}"]
    assert get(tdesk, alice_ticket).status == "waiting_on_user"
    assert field(card(chat, alice_ticket), "Status") == "Waiting on the requester"
    # Bob adds information to his ticket at the same time; it goes to Chen Jie.
    assert "added that" in plain(chat.say("bob", f"/add {bob_ticket} It started after the update"))
    assert "It started after the update" in to_plain(chat.seen_by("chen.jie", "console")[-1].text)
    answer = plain(chat.say("alice", "Mobile please, <!channel> I'm out"))
    assert "passed your answer" in answer and "Dana" in answer
    relayed = chat.seen_by("dana", "console")[-1]
    assert "Mobile please, <!channel> I'm out" in to_plain(relayed.text)
    assert "&lt;!channel&gt;" in relayed.text  # user text stays escaped
    assert get(tdesk, alice_ticket).status == "in_progress"

    # An internal note stays internal; a reply reaches Alice.
    chat.say("dana", f"/note {alice_ticket} called her mobile, no answer")
    chat.say("dana", f"/reply {alice_ticket} I'll call you in five minutes")
    assert "I'll call you in five minutes" in last(chat, "alice")
    alice_view = plain(chat.say("alice", f"/show {alice_ticket}"))
    dana_view = plain(chat.say("dana", f"/show {alice_ticket}"))
    assert "called her mobile" not in alice_view and "I'll call you" in alice_view
    assert "called her mobile" in dana_view

    # Dana resolves; Alice says it's not fixed, and her next message says why.
    chat.say("dana", f"/resolve {alice_ticket} Reset the mailbox password by phone")
    resolved = chat.seen_by("alice")[-1]
    assert "resolved" in to_plain(resolved.text) and "Reset the mailbox password" in to_plain(
        resolved.text
    )
    assert buttons(resolved) == [f"t:fixed:{alice_ticket}", f"t:notfixed:{alice_ticket}"]
    assert field(card(chat, alice_ticket), "Status") == "Resolved"
    assert buttons(card(chat, alice_ticket).out) == []
    reopened = plain(chat.press("alice", f"t:notfixed:{alice_ticket}"))
    assert "reopened" in reopened and "What's still wrong" in reopened
    assert "not fixed" in to_plain(chat.seen_by("dana", "console")[-1].text)
    chat.say("alice", "Outlook on my phone still asks for the old one")
    assert "still asks for the old one" in to_plain(chat.seen_by("dana", "console")[-1].text)
    assert get(tdesk, alice_ticket).status == "reopened"

    # Second time lucky: resolved again, Alice confirms, it closes.
    chat.say("dana", f"/resolve {alice_ticket} Removed the old account from her phone")
    assert "closed" in plain(chat.press("alice", f"t:fixed:{alice_ticket}"))
    assert get(tdesk, alice_ticket).status == "closed"
    assert field(card(chat, alice_ticket), "Status") == "Closed"
    # Closed is final: a late cancel or reopen is refused with a clear message.
    refused = plain(chat.say("alice", f"/cancel {alice_ticket}"))
    assert "Closed, so it can't become Cancelled" in refused and "final" in refused
    assert "can't become Reopened" in plain(chat.say("dana", f"/reopen {alice_ticket}"))

    # Chen Jie finishes Bob's ticket; Bob confirms with a typed verb.
    chat.say("chen.jie", f"/resolve {bob_ticket} Updated the VPN client")
    chat.say("bob", f"/fixed {bob_ticket}")
    assert get(tdesk, bob_ticket).status == "closed"

    assert kinds(tdesk, alice_ticket) == [
        "created",
        "claimed",
        "asked",
        "answered",
        "note",
        "reply",
        "resolved",
        "not_fixed",
        "info",
        "resolved",
        "confirmed_fixed",
        "refused",  # Alice's /cancel of a closed ticket
        "refused",  # Dana's /reopen of it
    ]

    # `deskbot audit IT-1001` prints the same timeline with who, from and to.
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli(["audit", alice_ticket, "--config", str(ROOT / "config.yaml")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"{alice_ticket}: Password reset") and "[closed]" in lines[0]
    rows = lines[2:]
    assert len(rows) == 13
    assert (
        "dana" in rows[1] and "claimed" in rows[1] and "new" in rows[1] and "in_progress" in rows[1]
    )
    assert "alice" in rows[3] and "answered" in rows[3] and "waiting_on_user" in rows[3]
    assert "not_fixed" in rows[7] and "resolved" in rows[7] and "reopened" in rows[7]
    assert "confirmed_fixed" in rows[10] and "closed" in rows[10]


def test_chinese_requester_is_told_in_chinese(tchat: MemoryChat, tdesk: Desk) -> None:
    chat = tchat
    said = plain(chat.say("wang.fang", "/human 我的电脑连不上打印机"))
    assert "IT-1000" in said
    chat.say("dana", "/claim IT-1000")
    assert "正在处理" in last(chat, "wang.fang")
    chat.say("dana", "/ask IT-1000 Which printer, floor 3 or floor 5?")
    assert "有一个问题" in last(chat, "wang.fang")
    chat.say("wang.fang", "三楼的")
    assert "三楼的" in to_plain(chat.seen_by("dana", "console")[-1].text)
    chat.say("dana", "/resolve IT-1000 Reinstalled the driver")
    notice = chat.seen_by("wang.fang")[-1]
    assert [c.label for c in notice.choices] == ["已解决", "未解决"]


def test_typed_verbs_are_the_same_on_every_channel(tchat: MemoryChat, tdesk: Desk) -> None:
    chat = tchat
    chat.say("bob", "/human printer jammed")
    chat.say("alice", "/human monitor flickers")
    # Slack: /desk <verb>; Telegram: /<verb>@botname; console: /<verb>.
    said = plain(chat.say("dana", "/desk claim IT-1000", channel="slack", conversation="D0DANA"))
    assert "You've claimed IT-1000" in said
    said = plain(
        chat.say("alex", "/claim@deskbot IT-1001", channel="telegram", conversation="1007")
    )
    assert "You've claimed IT-1001" in said
    said = plain(chat.say("alex", "/mine", channel="console", conversation="alex"))
    assert "IT-1001" in said and "IT-1000" not in said
    said = plain(chat.say("dana", "/desk unclaim IT-1000", channel="slack", conversation="D0DANA"))
    assert "back in the queue" in said
    assert get(tdesk, "IT-1000").status == "open" and get(tdesk, "IT-1000").assignee_id is None
    assert "IT-1000" in plain(
        chat.say("chen.jie", "/queue", channel="console", conversation="chen.jie")
    )
