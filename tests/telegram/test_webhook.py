"""Webhook mode: Telegram's secret token header is required; with it, updates are handled
before the 200 is returned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.adapters.telegram import TelegramChannel
from bot.base.clock import FixedClock
from bot.base.config import Settings
from store.models import ProcessedEvent
from tests.desks import build_desk
from tests.telegram.conftest import started, telegram_settings
from tests.telegram.fake_bot_api import FakeBotAPI

SECRET = "s3cret_Token-42"
PUBLIC_URL = "https://desk.example.com/telegram/hook"
ALICE = 1001


@pytest.fixture
async def hooked(
    settings: Settings, clock: FixedClock, fake: FakeBotAPI
) -> AsyncIterator[TelegramChannel]:
    webhook = {
        "url": PUBLIC_URL,
        "listen": "127.0.0.1",
        "port": 0,
        "path": "/telegram/hook",
        "secret_token": SECRET,
    }
    desk = build_desk(
        telegram_settings(settings, fake.api_url, mode="webhook", webhook=webhook),
        clock=clock,
        migrate=False,
    )
    channel, _harness = await started(desk, fake)
    yield channel
    await channel.stop()
    desk.store.dispose()


async def post(channel: TelegramChannel, body: Any, secret: str | None) -> httpx.Response:
    assert channel.webhook is not None
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    url = f"http://127.0.0.1:{channel.webhook.port}/telegram/hook"
    async with httpx.AsyncClient() as client:
        if isinstance(body, dict):
            return await client.post(url, json=body, headers=headers)
        return await client.post(url, content=body, headers=headers)


async def test_webhook_is_registered_with_the_secret(hooked: TelegramChannel, fake: FakeBotAPI):
    assert fake.webhook is not None
    assert fake.webhook["url"] == PUBLIC_URL
    assert fake.webhook["secret_token"] == SECRET
    assert fake.webhook["allowed_updates"] == '["message", "callback_query"]'
    assert fake.calls_of("getUpdates") == []  # webhook mode never polls


async def test_right_secret_is_handled_before_the_answer(hooked: TelegramChannel, fake: FakeBotAPI):
    response = await post(hooked, fake.message_update(ALICE, "/start"), SECRET)
    assert response.status_code == 200
    [hello] = fake.in_chat(ALICE)  # already there when the 200 came back
    assert hello.text.startswith("Hi Alice!")


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
async def test_missing_or_wrong_secret_is_refused(
    hooked: TelegramChannel, fake: FakeBotAPI, secret: str | None
):
    response = await post(hooked, fake.message_update(ALICE, "/start"), secret)
    assert response.status_code == 403
    assert fake.in_chat(ALICE) == []
    with hooked.desk.store.read() as session:
        assert session.exec(select(ProcessedEvent)).all() == []


async def test_redelivered_webhook_update_answers_once(hooked: TelegramChannel, fake: FakeBotAPI):
    update = fake.message_update(ALICE, "/status")
    assert (await post(hooked, update, SECRET)).status_code == 200
    assert (await post(hooked, update, SECRET)).status_code == 200
    assert len(fake.in_chat(ALICE)) == 1


async def test_garbage_with_the_right_secret_is_a_bad_request(
    hooked: TelegramChannel, fake: FakeBotAPI
):
    assert (await post(hooked, b"{not json", SECRET)).status_code == 400
    assert (await post(hooked, {"no": "update_id"}, SECRET)).status_code == 400


async def test_an_update_whose_turn_failed_is_answered_500_so_telegram_sends_it_again(
    hooked: TelegramChannel, fake: FakeBotAPI
):
    update = fake.message_update(ALICE, "/status")
    # The database loses a table: the turn fails and rolls back.
    with hooked.desk.store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE processed_event RENAME TO processed_event_away"))
    try:
        assert (await post(hooked, update, SECRET)).status_code == 500
    finally:
        with hooked.desk.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE processed_event_away RENAME TO processed_event"))
    assert fake.in_chat(ALICE) == []
    # Telegram's redelivery is handled like the first delivery.
    assert (await post(hooked, update, SECRET)).status_code == 200
    assert len(fake.in_chat(ALICE)) == 1
