"""The outbox as /metrics and /readyz see it: retries by reason, dead letters, the depth and
the age of the oldest due message (read from the database), and readiness lost when that
age passes `ops.outbox_delay` on a channel this process sends on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.adapters.memory import MemoryChannel
from bot.base.channel import DeliveryError
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.base.messages import Address, Message
from bot.chat.engine import Engine
from bot.chat.workers import engine_threads
from bot.desk import Desk
from bot.ops.server import OpsServer
from notifications.dispatch import Dispatcher
from store.outbox import notify
from tests.desks import build_desk
from tests.ops.helpers import get, scrape, value


@pytest.fixture
async def ops(settings: Settings, clock: FixedClock) -> AsyncIterator[OpsServer]:
    update = {"outbox_delay": timedelta(seconds=60), "gauges_every": timedelta(0)}
    settings = settings.model_copy(update={"ops": settings.ops.model_copy(update=update)})
    desk = build_desk(settings, clock=clock, migrate=False)
    server = OpsServer(desk, "127.0.0.1", 0)
    await server.start()
    server.workers = engine_threads(desk, Engine(desk))
    server.started = True
    yield server
    await server.stop()
    desk.store.dispose()


def queue(desk: Desk, person: str, text: str) -> None:
    with desk.store.begin() as session:
        notify(
            session=session,
            to=Address("memory", person, person),
            message=Message(text=text),
            idem_key=f"test:{person}:{text}",
            now=desk.clock.now(),
        )


async def test_retries_dead_letters_and_a_stuck_outbox(ops: OpsServer, clock: FixedClock) -> None:
    desk, base = ops.desk, str(ops.url)
    channel = MemoryChannel("memory")
    ops.channels = {"memory": channel}
    for person in ("alice", "bob", "wang.fang"):
        queue(desk, person, "hello")
    channel.failures = [
        DeliveryError("HTTP 503 from the chat API"),
        DeliveryError("chat not found", permanent=True),
        DeliveryError("slow down", retry_after=30),  # last: it pauses the whole channel
    ]
    before = await scrape(base)
    await Dispatcher.for_desk(desk, {"memory": channel}).run_once()
    after = await scrape(base)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("deskbot_outbox_retries_total", channel="memory", reason="error") == 1
    assert grew("deskbot_outbox_retries_total", channel="memory", reason="rate_limited") == 1
    assert grew("deskbot_outbox_dead_letters_total", channel="memory") == 1
    assert value(after, "deskbot_outbox_pending", channel="memory") == 2
    assert value(after, "deskbot_outbox_due", channel="memory") == 0  # both wait to retry
    assert value(after, "deskbot_outbox_dead_letters_kept", channel="memory") == 1
    assert value(after, "deskbot_outbox_oldest_due_seconds", channel="memory") == 0
    assert await get(f"{base}/readyz") == (200, {"status": "ready"})

    # Nothing sends them (a dispatcher that stopped): 90 s later both are due, and the
    # older one (due 2 s after the failure) has waited 88 s, past ops.outbox_delay (60 s).
    clock.advance(timedelta(seconds=90))
    stuck = await scrape(base)
    assert value(stuck, "deskbot_outbox_due", channel="memory") == 2
    assert value(stuck, "deskbot_outbox_oldest_due_seconds", channel="memory") == 88
    status, body = await get(f"{base}/readyz")
    assert status == 503
    assert body["reasons"] == [
        "outbox: the oldest memory message due has waited 88 s (ops.outbox_delay: 60 s)"
    ]

    await Dispatcher.for_desk(desk, {"memory": channel}).run_once()
    assert await get(f"{base}/readyz") == (200, {"status": "ready"})
    sent = await scrape(base)
    assert value(sent, "deskbot_outbox_pending", channel="memory") == 0
    assert (
        value(sent, "deskbot_outbox_sent_total", channel="memory")
        - value(after, "deskbot_outbox_sent_total", channel="memory")
        == 2
    )
