"""Long polling through python-telegram-bot's Updater against the fake's getUpdates."""

from __future__ import annotations

from bot.desk import Desk
from tests.telegram.conftest import Harness
from tests.telegram.fake_bot_api import FakeBotAPI

ALICE, BOB = 1001, 1002


async def test_polling_receives_answers_and_confirms(tg: Harness, tg_desk: Desk, fake: FakeBotAPI):
    assert [c.method for c in fake.calls[:1]] == ["getMe"]
    assert fake.calls_of("deleteWebhook"), "polling must make sure no webhook is set"
    first = fake.push(fake.message_update(ALICE, "I forgot my password"))
    fake.push(fake.message_update(ALICE, "VPN"))
    fake.push(fake.message_update(BOB, "/start"))
    await fake.wait_for(lambda: "locked out" in fake.texts(ALICE) and fake.in_chat(BOB))
    texts = [s.text for s in fake.in_chat(ALICE)]
    # One person's messages are handled in order.
    assert any("Which account" in t for t in texts[:-1]) and "locked out" in texts[-1]
    polls = fake.calls_of("getUpdates")
    assert polls[0].json("allowed_updates") == ["message", "callback_query"]
    await fake.wait_for(
        lambda: any(
            int(c.params.get("offset", 0)) > first["update_id"] + 2
            for c in fake.calls_of("getUpdates")
        )
    )


async def test_update_redelivered_after_a_crash_is_ignored(tg: Harness, fake: FakeBotAPI):
    update = fake.push(fake.message_update(ALICE, "/status"))
    await fake.wait_for(lambda: len(fake.in_chat(ALICE)) == 1)
    fake.push(update, redeliver=True)  # as if the offset had never been confirmed
    fake.push(fake.message_update(ALICE, "/start"))
    await fake.wait_for(lambda: "Hi Alice" in fake.texts(ALICE))
    assert fake.delivered.count(update["update_id"]) == 2  # it did arrive twice
    assert len(fake.in_chat(ALICE)) == 2  # /status answered once, /start once
