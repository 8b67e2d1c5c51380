"""The database goes away while polling: an update Telegram was already told about (kept in
the store) is handled once the database is back, in this process and exactly once - not
only at the next start."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlmodel import col, select

from bot.adapters.telegram import TelegramChannel
from bot.base.config import Settings
from bot.chat.engine import Engine
from bot.desk import Desk
from store.models import ProcessedEvent
from tests.desks import build_desk
from tests.outages import Outage, on_outage_db, unavailable, until_a_turn_meets_it
from tests.telegram.conftest import NO_PACING, telegram_settings
from tests.telegram.fake_bot_api import FakeBotAPI

ALICE = 1001


@pytest.fixture
def outage_desk(settings: Settings, fake: FakeBotAPI, outage: Outage) -> Iterator[Desk]:
    desk = build_desk(on_outage_db(telegram_settings(settings, fake.api_url), outage))
    yield desk
    desk.store.dispose()


async def test_a_kept_update_is_handled_once_the_database_is_back(
    outage_desk: Desk, fake: FakeBotAPI, outage: Outage, caplog: pytest.LogCaptureFixture
):
    channel = TelegramChannel(outage_desk, Engine(outage_desk), pacing=NO_PACING, poll_timeout=1.0)
    await channel.start()
    try:
        # Alice's first message is answered slowly (Telegram holds the reply), so her
        # second one waits its turn - kept in the store and confirmed to Telegram.
        held = fake.hold("sendMessage")
        fake.push(fake.message_update(ALICE, "/start"))
        await fake.wait_for(lambda: fake.calls_of("sendMessage"))
        second = fake.push(fake.message_update(ALICE, "I forgot my password"))
        await fake.wait_for(
            lambda: any(
                int(c.params.get("offset", 0)) > second["update_id"]
                for c in fake.calls_of("getUpdates")
            )
        )
        with caplog.at_level(logging.INFO):
            before = unavailable("telegram")
            outage.begin()
            try:
                held.set()  # the first reply goes out; the second turn meets the outage
                await until_a_turn_meets_it("telegram", before)
                assert "Which account" not in fake.texts(ALICE)
            finally:
                outage.end()
            await fake.wait_for(lambda: "Which account" in fake.texts(ALICE), within=30)
    finally:
        await channel.stop()
    assert len([s for s in fake.in_chat(ALICE) if "Which account" in s.text]) == 1
    with outage_desk.store.read() as session:
        claims = session.exec(
            select(ProcessedEvent).where(
                col(ProcessedEvent.event_id) == f"{channel.bot_id}:{second['update_id']}"
            )
        ).all()
    assert len(claims) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
