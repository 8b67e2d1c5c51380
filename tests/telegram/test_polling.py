"""Long polling through python-telegram-bot's Updater against the fake's getUpdates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from bot.adapters.telegram import TelegramChannel
from bot.adapters.telegram.polling import Poller
from bot.chat.engine import Engine
from bot.desk import Desk
from store import inbox
from tests.poison import PILL, poisoned
from tests.telegram.conftest import NO_PACING, FakeTime, Harness, started
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


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until `condition()` holds, looking every few milliseconds; the time limit only
    turns a hang into a failure."""
    for _ in range(int(within / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"still not true after {within} s")


def kept(desk: Desk) -> list[int]:
    with desk.store.read() as session:
        return [p["update_id"] for p in inbox.waiting(session, "telegram")]


async def test_a_confirmed_batch_is_handled_after_a_crash(tg_desk: Desk, fake: FakeBotAPI):
    # A process fetches a batch and dies before handling it: nobody reads its queue.
    dying = TelegramChannel(tg_desk, Engine(tg_desk), pacing=NO_PACING)
    await dying.app.initialize()
    poller = Poller(
        dying.app.bot,
        asyncio.Queue(),
        dying.engine,
        blocking=dying.blocking,
        event_id=dying.event_id,
        timeout=1.0,
        allowed_updates=["message"],
    )
    await poller.start()
    first = fake.push(fake.message_update(ALICE, "/status"))
    second = fake.push(fake.message_update(BOB, "/start"))
    # Telegram considers both delivered once getUpdates asks for a higher offset.
    await fake.wait_for(
        lambda: any(
            int(c.params.get("offset", 0)) > second["update_id"]
            for c in fake.calls_of("getUpdates")
        )
    )
    await poller.stop()
    await dying.app.shutdown()
    dying._workers.shutdown()
    assert fake.in_chat(ALICE) == [] and kept(tg_desk) == [first["update_id"], second["update_id"]]

    channel, _ = await started(tg_desk, fake, poll_timeout=1.0)
    try:
        await fake.wait_for(lambda: fake.in_chat(ALICE) and fake.in_chat(BOB))
        assert fake.texts(ALICE) == "You have no open requests."
        assert "Hi Bob" in fake.texts(BOB)
        # Telegram sent each once; the second process had them from the store.
        assert fake.delivered.count(first["update_id"]) == 1
        assert fake.delivered.count(second["update_id"]) == 1
    finally:
        await channel.stop()
    assert kept(tg_desk) == []  # handled, so forgotten (at the latest on a clean stop)


async def test_handled_updates_are_forgotten_with_the_next_batch(tg_desk: Desk, fake: FakeBotAPI):
    channel, _ = await started(tg_desk, fake, poll_timeout=1.0)
    try:
        fake.push(fake.message_update(ALICE, "/status"))
        fake.push(fake.message_update(BOB, "hello"))
        await fake.wait_for(lambda: fake.in_chat(ALICE) and fake.in_chat(BOB))
        # The replies are out; wait until their handlers have returned (and been counted).
        await until(lambda: channel.processor.current_concurrent_updates == 0)
        last = fake.push(fake.message_update(ALICE, "/start"))
        await fake.wait_for(lambda: len(fake.in_chat(ALICE)) == 2)
        assert kept(tg_desk) == [last["update_id"]]  # until the batch after it, or a stop
    finally:
        await channel.stop()
    assert kept(tg_desk) == []


async def test_polling_goes_on_after_telegram_fails(tg_desk: Desk, fake: FakeBotAPI):
    fake.fail("getUpdates", code=502, description="Bad Gateway", times=2)
    update = fake.push(fake.message_update(ALICE, "/status"))
    time = FakeTime()  # the back-off between attempts passes without waiting
    channel, _ = await started(
        tg_desk, fake, poll_timeout=1.0, monotonic=time.monotonic, sleep=time.sleep
    )
    try:
        await fake.wait_for(lambda: fake.in_chat(ALICE))
        assert fake.texts(ALICE) == "You have no open requests."
        assert len(fake.calls_of("getUpdates")) >= 3  # two refused, then the update
        assert fake.delivered.count(update["update_id"]) == 1
    finally:
        await channel.stop()


async def test_failed_polls_wait_poll_retry_twice_as_long_each_time_in_a_row(
    tg_desk: Desk, fake: FakeBotAPI
):
    telegram = tg_desk.settings.channels.telegram.model_copy(
        update={"poll_retry": timedelta(milliseconds=250)}
    )
    channels = tg_desk.settings.channels.model_copy(update={"telegram": telegram})
    tg_desk.settings = tg_desk.settings.model_copy(update={"channels": channels})
    fake.fail("getUpdates", code=502, description="Bad Gateway", times=3)
    fake.push(fake.message_update(ALICE, "/status"))
    time = FakeTime()
    channel, _ = await started(
        tg_desk, fake, poll_timeout=1.0, monotonic=time.monotonic, sleep=time.sleep
    )
    try:
        await fake.wait_for(lambda: fake.in_chat(ALICE))
        assert time.slept == [0.25, 0.5, 1.0]
        # A poll that works starts the waits over.
        fake.fail("getUpdates", code=502, description="Bad Gateway", times=1)
        fake.push(fake.message_update(BOB, "/start"))
        await fake.wait_for(lambda: fake.in_chat(BOB))
        assert time.slept == [0.25, 0.5, 1.0, 0.25]
    finally:
        await channel.stop()


async def test_after_a_failure_the_next_poll_does_not_wait_so_telegram_shows_up_at_once(
    tg_desk: Desk, fake: FakeBotAPI
):
    """A long poll after a failure kept the channel "failing" (and /readyz at 503) for the
    whole poll, though Telegram answered again at its start."""
    fake.fail("getUpdates", code=502, description="Bad Gateway", times=2)
    time = FakeTime()
    channel, _ = await started(
        tg_desk, fake, poll_timeout=30.0, monotonic=time.monotonic, sleep=time.sleep
    )
    try:
        await fake.wait_for(lambda: len(fake.calls_of("getUpdates")) >= 4)
        # refused, refused, a call that asks without waiting, then long polls again
        waits = [int(c.params.get("timeout", 0)) for c in fake.calls_of("getUpdates")]
        assert waits[:4] == [30, 0, 0, 30]
        assert channel.poller is not None and channel.poller.failing is None
    finally:
        await channel.stop()


async def test_a_nul_character_does_not_stall_polling_for_everyone(tg: Harness, fake: FakeBotAPI):
    # PostgreSQL cannot store U+0000: keeping the batch failed, so it was fetched again and
    # again and nobody's message was handled.
    fake.push(fake.message_update(ALICE, "zzq\x00 blorp"))
    fake.push(fake.message_update(BOB, "/start"))
    await fake.wait_for(lambda: fake.in_chat(ALICE) and "Hi Bob" in fake.texts(BOB))


async def test_a_message_that_breaks_its_turn_does_not_stall_polling(
    tg: Harness, tg_desk: Desk, fake: FakeBotAPI
):
    """Its batch used to be fetched again and again: now it is set aside with an apology."""
    with poisoned(tg_desk):
        bad = fake.push(fake.message_update(ALICE, f"/human {PILL} my printer"))
        fake.push(fake.message_update(BOB, "/start"))
        await fake.wait_for(lambda: fake.in_chat(ALICE) and "Hi Bob" in fake.texts(BOB))
        assert "Sorry, something went wrong on our side" in fake.texts(ALICE)
        await fake.wait_for(
            lambda: any(
                int(c.params.get("offset", 0)) > bad["update_id"] + 1
                for c in fake.calls_of("getUpdates")
            )
        )
    with tg_desk.store.read() as session:
        [kept] = inbox.dead_messages(session)
    assert kept.person_id == "alice" and PILL in kept.text
    assert len([s for s in fake.in_chat(ALICE) if "Sorry" in s.text]) == 1
