"""Fixtures: the fake Bot API, a desk with Telegram switched on, and a running adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.adapters.telegram import Pacing, TelegramChannel
from bot.base.clock import FixedClock
from bot.base.config import Paths, Settings, Triage
from bot.base.config import TelegramChannel as TelegramConfig
from bot.chat.engine import Engine
from bot.desk import Desk
from notifications.dispatch import Dispatcher
from tests.desks import build_desk
from tests.telegram.fake_bot_api import TOKEN, FakeBotAPI, Shown
from tests.telegram.spec import check_object

TRIAGE = -100500  # the service desk's triage group
DATA = Path(__file__).resolve().parent.parent / "data"
# Pacing is tested on its own with a fake clock; elsewhere it must never make a test wait.
NO_PACING = Pacing(per_chat_burst=10_000, per_group_per_minute=10_000, overall_per_second=10_000)


def telegram_settings(
    settings: Settings,
    api_url: str,
    *,
    mode: str = "polling",
    webhook: dict[str, Any] | None = None,
    services: Path | None = None,
) -> Settings:
    """The repository's settings with Telegram on, pointed at the fake, triage in a group."""
    telegram = TelegramConfig.model_validate(
        {
            "enabled": True,
            "mode": mode,
            "token": TOKEN,
            "api_url": api_url,
            "webhook": webhook or {},
        }
    )
    queues = {
        qid: q.model_copy(update={"triage": Triage(telegram=str(TRIAGE))})
        for qid, q in settings.queues.items()
    }
    update: dict[str, Any] = {
        "channels": settings.channels.model_copy(update={"telegram": telegram}),
        "queues": queues,
    }
    if services is not None:
        update["paths"] = Paths(**{**settings.paths.model_dump(), "services": str(services)})
    return settings.model_copy(update=update)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = await FakeBotAPI().start()
    yield api
    await api.close()
    assert api.problems == [], "\n".join(api.problems)


@pytest.fixture
def tg_desk(settings: Settings, clock: FixedClock, fake: FakeBotAPI) -> Iterator[Desk]:
    desk = build_desk(telegram_settings(settings, fake.api_url), clock=clock, migrate=False)
    yield desk
    desk.store.dispose()


@pytest.fixture
def approval_desk(settings: Settings, clock: FixedClock, fake: FakeBotAPI) -> Iterator[Desk]:
    """The small test-only catalog whose monitor request needs the manager's approval."""
    desk = build_desk(
        telegram_settings(settings, fake.api_url, services=DATA / "services"),
        clock=clock,
        migrate=False,
    )
    yield desk
    desk.store.dispose()


class FakeTime:
    """Monotonic time and sleep for the pacer: sleeping advances time, nobody waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


class Harness:
    """Drive a started adapter like Telegram would, and read what people see."""

    def __init__(self, fake: FakeBotAPI, desk: Desk, channel: TelegramChannel) -> None:
        self.fake = fake
        self.desk = desk
        self.channel = channel
        self.dispatcher = Dispatcher(desk.store, {"telegram": channel}, desk.clock)

    async def deliver(self, update: dict[str, Any]) -> None:
        """Hand an update to the adapter and wait until it is fully handled."""
        assert check_object("Update", update) == []
        await self.channel.process(Update.de_json(update, self.channel.app.bot))

    async def say(self, uid: int, text: str, *, chat_id: int | None = None) -> list[Shown]:
        """`uid` writes `text`; returns what appeared in that chat because of it."""
        chat = chat_id if chat_id is not None else uid
        before = len(self.fake.in_chat(chat))
        await self.deliver(self.fake.message_update(uid, text, chat_id=chat))
        return self.fake.in_chat(chat)[before:]

    async def press(self, uid: int, shown: Shown, label: str) -> list[Shown]:
        before = len(self.fake.in_chat(shown.chat_id))
        await self.deliver(self.fake.press_update(uid, shown, shown.button(label)))
        return self.fake.in_chat(shown.chat_id)[before:]

    async def flush(self) -> int:
        """Deliver every due outbox message (notifications, triage cards)."""
        total = 0
        while sent := await self.dispatcher.run_once():
            total += sent
        return total


async def started(desk: Desk, fake: FakeBotAPI, **kwargs: Any) -> tuple[TelegramChannel, Harness]:
    channel = TelegramChannel(desk, Engine(desk), pacing=kwargs.pop("pacing", NO_PACING), **kwargs)
    await channel.start()
    return channel, Harness(fake, desk, channel)


@pytest.fixture
async def tg(tg_desk: Desk, fake: FakeBotAPI) -> AsyncIterator[Harness]:
    channel, harness = await started(tg_desk, fake, poll_timeout=5.0)
    yield harness
    await channel.stop()
    assert fake.unanswered() == set(), "every callback query must be answered"
