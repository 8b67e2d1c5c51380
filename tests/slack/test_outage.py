"""The database goes away for a while: Slack events acked meanwhile are handled once it is
back, exactly once - with the engine in a thread and in its own process."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from sqlmodel import col, select

from bot.adapters.slack import SlackChannel
from bot.app import workers_for
from bot.base.config import Settings
from bot.chat.engine import Engine
from bot.chat.workers import Workers
from bot.desk import Desk
from bot.processes import ProcessWorkers
from store.models import ProcessedEvent
from tests.desks import build_desk
from tests.outages import Outage, on_outage_db, unavailable, until_a_turn_meets_it
from tests.slack.conftest import Driver, slack_settings
from tests.slack.fake_slack import FakeSlack


@pytest.fixture
def outage_desk(settings: Settings, fake: FakeSlack, outage: Outage) -> Iterator[Desk]:
    # The system clock: an engine process keeps its own (no FixedClock there).
    desk = build_desk(on_outage_db(slack_settings(settings, fake.api_url), outage))
    yield desk
    desk.store.dispose()


async def driven(desk: Desk, fake: FakeSlack, workers: Workers | None) -> AsyncIterator[Driver]:
    channel = SlackChannel(desk, Engine(desk), workers)
    await channel.start()
    async with aiohttp.ClientSession() as http:
        yield Driver(channel, fake, http)
    await channel.stop()


@pytest.fixture
async def in_thread(outage_desk: Desk, fake: FakeSlack) -> AsyncIterator[Driver]:
    async for driver in driven(outage_desk, fake, None):
        yield driver


@pytest.fixture
async def in_process(outage_desk: Desk, fake: FakeSlack) -> AsyncIterator[Driver]:
    workers = workers_for(outage_desk, Engine(outage_desk), platform_on=True)
    assert isinstance(workers, ProcessWorkers)
    await workers.start()
    try:
        async for driver in driven(outage_desk, fake, workers):
            yield driver
    finally:
        await workers.close()


async def acked_during_an_outage(slack: Driver, outage: Outage) -> dict:
    """Alice writes while the database is away; Slack gets its 200 at once, and sends the
    event again too (as if our ack had been late). Returns the event."""
    await slack.dm("U0BOB", "hello")  # connections are open when the database goes
    event = slack.dm_event("U0ALICE", "I forgot my password", event_id="Ev0OUTAGE")
    body = json.dumps(event)
    before = unavailable("slack")
    outage.begin()
    try:
        assert (await slack.post(body))[0] == 200
        again = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert (await slack.post(body, headers=again))[0] == 200
        await until_a_turn_meets_it("slack", before)
        assert slack.fake.posts("D0ALICE") == [], "nothing answered while the database is away"
    finally:
        outage.end()
    await slack.settle()
    return event


def handled_once(slack: Driver, event: dict) -> None:
    [reply] = slack.fake.posts("D0ALICE")
    assert "Which account is it?" in reply.block_text()
    assert "nothing was saved" not in reply.block_text()
    with slack.desk.store.read() as session:
        claims = session.exec(
            select(ProcessedEvent).where(col(ProcessedEvent.event_id) == event["event_id"])
        ).all()
    assert len(claims) == 1


async def test_events_acked_during_an_outage_are_handled_once_it_is_back(
    in_thread: Driver, outage: Outage, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO):
        event = await acked_during_an_outage(in_thread, outage)
    handled_once(in_thread, event)
    # Slack's last retry, after the outage: recognised, not answered again.
    assert await in_thread.event(event, retry=2) == 200
    assert len(in_thread.fake.posts("D0ALICE")) == 1

    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([m for m in said if "the database is unavailable" in m]) == 1, said
    assert any(m.startswith("slack event Ev0OUTAGE: done at try") for m in said), said
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_in_an_engine_process_too(in_process: Driver, outage: Outage):
    event = await acked_during_an_outage(in_process, outage)
    handled_once(in_process, event)
