"""Starting the Telegram channel: a refused token stops the start with the setting to fix."""

from __future__ import annotations

import logging

import pytest

from bot.adapters.telegram import TelegramChannel
from bot.base.yamlfile import ProblemsError
from bot.chat.engine import Engine
from bot.desk import Desk
from tests.start_retry import connect_retry, waits
from tests.telegram.conftest import NO_PACING
from tests.telegram.fake_bot_api import FakeBotAPI


async def test_a_refused_token_names_the_setting(tg_desk: Desk, fake: FakeBotAPI):
    fake.token = "123456:ANOTHER-BOT"  # Telegram answers 401 Unauthorized to ours
    channel = TelegramChannel(tg_desk, Engine(tg_desk), pacing=NO_PACING)
    try:
        with pytest.raises(ProblemsError) as refused:
            await channel.start()
    finally:
        await channel.stop()
    [problem] = refused.value.problems
    assert problem.field == "channels.telegram.token"
    assert "Telegram refused this token (InvalidToken)" in problem.message
    assert tg_desk.settings.channels.telegram.token not in str(refused.value)


async def test_telegram_answering_5xx_at_start_is_tried_again(
    tg_desk: Desk, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
):
    fake.fail("getMe", code=502, description="Bad Gateway", times=2)
    tg_desk.settings = connect_retry(tg_desk.settings, 0.1)
    channel = TelegramChannel(tg_desk, Engine(tg_desk), pacing=NO_PACING, poll_timeout=1.0)
    with caplog.at_level(logging.DEBUG):
        await channel.start()
    try:
        assert len(fake.calls_of("getMe")) == 3
        assert channel.poller is not None and channel.poller.running
    finally:
        await channel.stop()
    # channels.connect_retry, then twice as long.
    assert waits(caplog.records, f"Telegram ({fake.api_url})") == [0.1, 0.2]
