"""Whole conversations in private chats through the real adapter, python-telegram-bot and
the fake Bot API: free text, inline keyboards, typed answers, commands."""

from __future__ import annotations

import json

from bot.adapters.telegram import TelegramChannel
from bot.app import workers_for
from bot.base.config import Settings
from bot.chat.engine import Engine
from bot.desk import Desk
from bot.processes import ProcessWorkers
from store import tickets as repo
from tests.desks import build_desk
from tests.telegram.conftest import NO_PACING, TRIAGE, Harness, telegram_settings
from tests.telegram.fake_bot_api import FakeBotAPI

ALICE, BOB, WANG = 1001, 1002, 1003


async def test_password_reset_with_buttons_and_typed_answers(tg: Harness, tg_desk: Desk):
    fake = tg.fake
    # "Got it", the self-service tip and the question arrive as one message (Telegram
    # allows about one message per second per chat).
    [prompt] = await tg.say(ALICE, "I forgot my password")
    assert prompt.text.startswith("Got it: Password reset.")
    assert "self-service" in prompt.text
    assert "\n\nWhich account is it?" in prompt.text
    assert "<i>Step 1 of 3-4" in prompt.html  # the progress line, in italics
    assert [label for label, _ in prompt.buttons] == [
        "Windows / network login",
        "Email (Outlook)",
        "VPN",
        "Another system",
        "That fixed it, thanks",  # the self-service article came first
    ]

    locked = await tg.press(ALICE, prompt, "Email (Outlook)")
    [answer] = fake.calls_of("answerCallbackQuery")
    assert "text" not in answer.params  # private chat: the spinner just stops
    assert prompt.reply_markup is None  # the used keyboard is gone
    assert [label for label, _ in locked[-1].buttons] == ["Yes", "No"]

    await tg.say(ALICE, "yep")  # typed instead of pressed
    done = await tg.say(ALICE, "+44 20 7946 0000")

    with tg_desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.number == "IT-1000"
    assert (ticket.channel, ticket.conversation) == ("telegram", str(ALICE))
    assert ticket.answers == {"account": "email", "locked_out": True, "phone": "+44 20 7946 0000"}
    card = done[-1]
    assert "<b>IT-1000</b>" in card.html
    assert "call you on +44 20 7946 0000" in card.text
    assert "Priority: P3" in card.text

    # The new ticket's card reaches the queue's triage group through the outbox.
    assert await tg.flush() == 1
    [triage] = fake.in_chat(TRIAGE)
    assert "IT-1000" in triage.text
    assert [label for label, _ in triage.buttons] == ["Claim", "Assign", "Transfer", "Canned reply"]


async def test_user_text_is_escaped_for_telegram_html(tg: Harness, tg_desk: Desk):
    await tg.say(ALICE, "reset my password")
    await tg.say(ALICE, "Another system")
    await tg.say(ALICE, "<b>SAP</b> & <script>")
    await tg.say(ALICE, "no")
    await tg.say(ALICE, "+44 1234 567890")
    with tg_desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.answers["system_name"] == "<b>SAP</b> & <script>"
    card = tg.fake.in_chat(ALICE)[-1]
    # Shown literally: the fake parsed the HTML exactly as Telegram would.
    assert "<b>SAP</b> & <script>" in card.text
    assert "&lt;b&gt;SAP&lt;/b&gt; &amp; &lt;script&gt;" in card.html


async def test_commands_start_help_status_cancel_human(tg: Harness):
    [hello] = await tg.say(ALICE, "/start")
    assert hello.text.startswith("Hi Alice!")
    [helped] = await tg.say(ALICE, "/help")
    assert "/status" in helped.text and "<code>/status</code>" in helped.html
    assert "/queue" not in helped.text  # staff commands only for technicians
    [nothing] = await tg.say(ALICE, "/status")
    assert nothing.text == "You have no open requests."

    await tg.say(ALICE, "I forgot my password")
    [cancelled] = await tg.say(ALICE, "/cancel")
    assert "Cancelled" in cancelled.text and "Nothing was submitted" in cancelled.text

    [asked] = await tg.say(ALICE, "/human")
    assert "what do you need help with" in asked.text
    handed = await tg.say(ALICE, "My monitor flickers & buzzes")
    assert "IT-1000" in handed[-1].text
    [listed] = await tg.say(ALICE, "/status@deskbot_test_bot")
    assert "IT-1000" in listed.text

    [unknown] = await tg.say(ALICE, "/frobnicate now")
    assert "/frobnicate" in unknown.text


async def test_technician_help_lists_staff_commands(tg: Harness):
    [helped] = await tg.say(1006, "/help")
    assert "/queue" in helped.text and "/claim IT-1042" in helped.text


async def test_chinese_speaker_is_answered_in_chinese(tg: Harness):
    replies = await tg.say(WANG, "我忘记密码了")
    assert "重置密码" in replies[0].text
    assert replies[-1].buttons[0][0] == "Windows/网络登录"


async def test_non_text_message_gets_a_friendly_answer(tg: Harness):
    # A sticker: neither text nor a file kept for tickets (photos and documents are:
    # tests/telegram/test_attachments.py).
    before = len(tg.fake.in_chat(BOB))
    sticker = {
        "file_id": "st1",
        "file_unique_id": "ust1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    await tg.deliver(tg.fake.message_update(BOB, None, attached={"sticker": sticker}))
    [reply] = tg.fake.in_chat(BOB)[before:]
    assert reply.text == "I can only read text. Please describe what you need in words."


async def test_stale_button_is_answered_and_explained(tg: Harness):
    first = await tg.say(ALICE, "I forgot my password")
    prompt = first[-1]
    await tg.say(ALICE, "/cancel")
    # The keyboard is still on screen (the cancel was typed); pressing it is harmless.
    replies = await tg.press(ALICE, prompt, "VPN")
    assert replies and "Tell me what you need" in replies[-1].text
    assert len(tg.fake.calls_of("answerCallbackQuery")) == 1


async def test_command_menus_in_both_languages_for_private_chats_and_groups(tg: Harness):
    menus = {
        (json.loads(c.params["scope"])["type"], c.params.get("language_code")): [
            entry["command"] for entry in json.loads(c.params["commands"])
        ]
        for c in tg.fake.calls_of("setMyCommands")
    }
    assert menus[("all_private_chats", None)] == ["start", "help", "status", "cancel", "human"]
    assert menus[("all_group_chats", None)] == ["queue", "claim", "kb", "status", "help"]
    assert menus[("all_group_chats", "zh")] == menus[("all_group_chats", None)]


async def test_a_journey_with_the_engine_in_a_child_process(
    settings: Settings, fake: FakeBotAPI
) -> None:
    """As `deskbot serve` runs it: the adapter here, the engine in a child process."""
    desk = build_desk(telegram_settings(settings, fake.api_url), migrate=False)  # system clock
    engine = Engine(desk)
    workers = workers_for(desk, engine, platform_on=True)
    assert isinstance(workers, ProcessWorkers)
    await workers.start()
    channel = TelegramChannel(desk, engine, workers, pacing=NO_PACING, poll_timeout=5.0)
    await channel.start()
    tg = Harness(fake, desk, channel)
    try:
        [prompt] = await tg.say(ALICE, "I forgot my password")
        assert "Which account is it?" in prompt.text
        locked = await tg.press(ALICE, prompt, "Email (Outlook)")
        assert [label for label, _ in locked[-1].buttons] == ["Yes", "No"]
        await tg.say(ALICE, "yes")
        done = await tg.say(ALICE, "+44 20 7946 0000")
        assert "IT-1000" in done[-1].text
        with desk.store.read() as session:
            [ticket] = repo.list_tickets(session=session)
        assert ticket.requester_id == "alice" and ticket.channel == "telegram"
    finally:
        await channel.stop()
        await workers.close()
        desk.store.dispose()
