"""Linking a Telegram account with a one-time code obtained elsewhere; strangers are told
whom to ask; a Telegram name or username is never taken as proof."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.addresses import home_address
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Inbound
from bot.chat.engine import Engine
from bot.cli import main
from bot.desk import Desk
from store.models import IdentityLink, TicketEvent
from tests.conftest import ROOT
from tests.telegram.conftest import Harness

STRANGER, OTHER = 7777, 8888
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5})\b")


def console(desk: Desk, person: str, text: str, conversation: str | None = None) -> str:
    """What `person` is told when typing `text` in the console (another channel)."""
    inbound = Inbound("console", conversation or person, person, text=text, event_id=None)
    return "\n".join(to_plain(r.text) for r in Engine(desk).handle(inbound))


def code_from(desk: Desk, person: str) -> str:
    said = console(desk, person, "/link telegram")
    found = CODE.search(said)
    assert found, said
    return found.group(1)


async def test_stranger_is_told_whom_to_ask(tg: Harness):
    [told] = await tg.say(STRANGER, "I forgot my password")
    assert "I don't know who you are yet" in told.text
    assert "/desk link telegram" in told.text and "Priya Raman" in told.text
    await tg.deliver(tg.fake.message_update(OTHER, "你好", language="zh-hans"))
    assert "我还不知道您是谁" in tg.fake.texts(OTHER)


async def test_name_or_username_is_never_trusted(tg: Harness):
    pretender = {
        "id": OTHER,
        "is_bot": False,
        "first_name": "Alice Morgan",
        "username": "alice",
        "language_code": "en",
    }
    await tg.deliver(tg.fake.message_update(OTHER, "/status", sender=pretender))
    assert "I don't know who you are yet" in tg.fake.texts(OTHER)


async def test_code_from_another_channel_links_the_account(tg: Harness, tg_desk: Desk):
    code = code_from(tg_desk, "alice")
    [linked] = await tg.say(STRANGER, f"/link {code.lower()}")  # typed casually
    assert linked.text.startswith("Thanks Alice, your Telegram account is now linked")

    replies = await tg.say(STRANGER, "I forgot my password")
    assert "Which account is it?" in replies[-1].text
    with tg_desk.store.read() as session:
        [link] = session.exec(select(IdentityLink)).all()
        kinds = [e.kind for e in session.exec(select(TicketEvent)).all()]
    assert (link.external_id, link.person_id) == (str(STRANGER), "alice")
    assert kinds == ["link_code_issued", "account_linked"]

    # Single use: the same code does nothing for someone else.
    [refused] = await tg.say(OTHER, f"/link {code}")
    assert "That code doesn't work" in refused.text
    with tg_desk.store.read() as session:
        assert [e.kind for e in session.exec(select(TicketEvent)).all()][-1] == "link_refused"


async def test_deep_link_start_parameter_works_too(tg: Harness, tg_desk: Desk):
    code = code_from(tg_desk, "bob").replace("-", "")
    [linked] = await tg.say(STRANGER, f"/start {code}")
    assert linked.text.startswith("Thanks Bob")


async def test_expired_or_replaced_code_does_not_link(
    tg: Harness, tg_desk: Desk, clock: FixedClock
):
    old = code_from(tg_desk, "alice")
    new = code_from(tg_desk, "alice")  # asking again retires the first code
    assert "doesn't work" in (await tg.say(STRANGER, f"/link {old}"))[0].text
    clock.advance(timedelta(minutes=16))
    assert "doesn't work" in (await tg.say(STRANGER, f"/link {new}"))[0].text
    assert "doesn't work" in (await tg.say(STRANGER, "/link NOT-A-CODE"))[0].text
    with tg_desk.store.read() as session:
        assert session.exec(select(IdentityLink)).all() == []


async def test_link_verb_refuses_shared_places_and_already_linked_accounts(
    tg: Harness, tg_desk: Desk
):
    shared = console(tg_desk, "alice", "/link telegram", conversation="C0123:1700000000.1")
    assert "private chat" in shared and not CODE.search(shared)
    assert "/link telegram" in console(tg_desk, "alice", "/link carrier-pigeon")
    [already] = await tg.say(1001, "/link ABCDE-FGHJK")  # Alice is known on Telegram
    assert "already using this Telegram account" in already.text


def test_link_verb_when_telegram_is_not_connected(chat: MemoryChat):
    [reply] = chat.say("alice", "/link telegram")
    assert to_plain(reply.text) == "Telegram isn't connected to this service desk."


async def test_linked_account_is_a_home_for_notifications(tg: Harness, tg_desk: Desk):
    code = code_from(tg_desk, "alice")
    await tg.say(STRANGER, f"/link {code}")
    alice = tg_desk.directory.get("alice")
    assert alice is not None
    without_id = dataclasses.replace(alice, telegram_id=None)
    with tg_desk.store.read() as session:
        address = home_address(tg_desk, session, without_id)
    assert (address.channel, address.conversation) == ("telegram", str(STRANGER))


async def test_admin_cli_issues_and_revokes(
    tg: Harness,
    tg_desk: Desk,
    clock: FixedClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("DATABASE_URL", db_url)
    config = str(ROOT / "config.yaml")
    assert main(["link", "bob", "--config", config]) == 0
    printed = capsys.readouterr().out
    found = CODE.search(printed)
    assert found and "Bob Okafor" in printed and "Single use" in printed
    clock.set(datetime.now(UTC))  # the CLI used the real clock
    [linked] = await tg.say(STRANGER, f"/link {found.group(1)}")
    assert linked.text.startswith("Thanks Bob")
    with tg_desk.store.read() as session:
        issued = session.exec(select(TicketEvent)).first()
    assert issued is not None and issued.actor_id == "admin-cli"

    assert main(["link", "bob", "--revoke", "--config", config]) == 0
    assert "1 linked telegram account(s) removed" in capsys.readouterr().out
    assert "I don't know who you are yet" in (await tg.say(STRANGER, "hello"))[0].text

    assert main(["link", "nobody", "--config", config]) == 2
    assert "not in the people directory" in capsys.readouterr().err
    assert main(["link", "bob", "--ttl", "soon", "--config", config]) == 2


def test_codes_are_stored_only_as_hashes(chat: MemoryChat, desk: Desk):
    from bot import linking
    from store.models import LinkCode

    with desk.store.begin() as session:
        code = linking.issue_code(
            session=session, person_id="alice", channel="telegram", now=desk.clock.now()
        )
    with desk.store.read() as session:
        [row] = session.exec(select(LinkCode)).all()
    assert linking.normalise(code) not in row.code_hash and len(row.code_hash) == 64
