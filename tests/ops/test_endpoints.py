"""/healthz, /readyz and /metrics of the composition root (`bot.ops.server.OpsServer`, what
`deskbot serve` runs on `ops.http`), over real HTTP on 127.0.0.1, on SQLite and PostgreSQL:
the numbers move with real conversations through the engine, and readiness follows a real
database outage while health does not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.chat.engine import Engine
from bot.chat.workers import engine_threads
from bot.desk import Desk
from bot.ops.server import OpsServer
from store.db import Store
from tests.desks import build_desk
from tests.ops.helpers import Samples, get, scrape, until, value
from tests.outages import Outage, on_outage_db


def with_ops(settings: Settings, **ops: object) -> Settings:
    return settings.model_copy(update={"ops": settings.ops.model_copy(update=ops)})


@pytest.fixture
def make_desk(clock: FixedClock) -> Iterator[Callable[[Settings], Desk]]:
    made: list[Desk] = []

    def make(settings: Settings) -> Desk:
        desk = build_desk(settings, clock=clock, migrate=False)
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.store.dispose()


async def serving(desk: Desk, engine: Engine) -> OpsServer:
    """The endpoints as `deskbot serve` sets them up once everything has started."""
    ops = OpsServer(desk, "127.0.0.1", 0)
    await ops.start()
    ops.workers = engine_threads(desk, engine)
    ops.started = True
    return ops


@pytest.fixture
async def stop_after() -> AsyncIterator[list[OpsServer]]:
    servers: list[OpsServer] = []
    yield servers
    for ops in servers:
        await ops.stop()


def conversations(chat: MemoryChat) -> None:
    """Real conversations: a request that waits for approval, a hand-off to a person, a
    self-solved password reset, a cancelled one, a duplicate event, a resolution, and one
    message past flood control (limits.messages_per_minute is 3 here)."""
    chat.say("alice", "I need another monitor")
    chat.say("alice", "27")
    chat.press("alice", "j:delivery:desk")  # IT-1000, waiting for Mark's approval
    chat.say("bob", "talk to a human")
    chat.say("bob", "my laptop fan is very loud")  # IT-1001, service desk
    chat.say("wang.fang", "I need to reset my password")
    chat.press("wang.fang", "j:self_service:yes")
    chat.say("alex", "I need to reset my password")
    chat.say("alex", "cancel")
    chat.say("dana", "/resolve IT-1001 replaced the fan", event_id="resolve-1")
    chat.say("dana", "/resolve IT-1001 replaced the fan", event_id="resolve-1")  # again
    chat.say("bob", "thanks")
    chat.say("bob", "hello?")  # bob's fourth message this minute


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_metrics_move_with_conversations_through_the_engine(
    settings: Settings, make_desk: Callable[[Settings], Desk], stop_after: list[OpsServer]
) -> None:
    limits = settings.limits.model_copy(update={"messages_per_minute": 3})
    # gauges_every 0: the database's numbers are read at every scrape.
    desk = make_desk(
        with_ops(settings, gauges_every=timedelta(0)).model_copy(update={"limits": limits})
    )
    engine = Engine(desk)
    ops = await serving(desk, engine)
    stop_after.append(ops)
    base = str(ops.url)

    before = await scrape(base)
    assert value(before, "deskbot_database_up") == 1
    await asyncio.to_thread(conversations, MemoryChat(desk, engine))
    after = await scrape(base)

    def grew(name: str, **labels: str) -> float:
        return moved(before, after, name, **labels)

    assert grew("deskbot_messages_total", channel="memory", outcome="handled") == 11
    assert grew("deskbot_messages_total", channel="memory", outcome="duplicate") == 1
    assert grew("deskbot_messages_total", channel="memory", outcome="rate_limited") == 1
    assert grew("deskbot_rate_limited_total", limit="messages") == 1
    assert grew("deskbot_turn_seconds_count", channel="memory") == 13
    assert grew("deskbot_turn_seconds_sum", channel="memory") > 0
    assert grew("deskbot_matcher_decisions_total", tier="high", outcome="understood") == 5
    assert grew("deskbot_referrals_total", reason="asked") == 1
    assert grew("deskbot_journeys_started_total", service="password_reset") == 2
    assert grew("deskbot_journeys_started_total", service="peripheral_request") == 1
    completed = {"service": "password_reset", "outcome": "self_solved"}
    assert grew("deskbot_journeys_completed_total", **completed) == 1
    abandoned = {"service": "password_reset", "reason": "cancelled"}
    assert grew("deskbot_journeys_abandoned_total", **abandoned) == 1
    assert grew("deskbot_tickets_opened_total", queue="service_desk") == 1
    assert grew("deskbot_tickets_opened_total", queue="workplace") == 1
    assert grew("deskbot_tickets_resolved_total", queue="service_desk") == 1
    # Read from the database: right whatever process did the work.
    assert value(after, "deskbot_tickets_open", queue="workplace") == 1
    assert value(after, "deskbot_tickets_open", queue="service_desk") == 0
    assert value(after, "deskbot_approvals_waiting") == 1
    # MemoryChat delivers its outbox at once: nothing waits.
    assert sum(v for (n, _), v in after.items() if n == "deskbot_outbox_pending") == 0
    assert grew("deskbot_outbox_sent_total", channel="console") >= 1  # Mark's approval request
    assert value(after, "process_resident_memory_bytes") > 0


async def test_readiness_follows_a_database_outage_and_health_does_not(
    settings: Settings,
    outage: Outage,
    make_desk: Callable[[Settings], Desk],
    stop_after: list[OpsServer],
) -> None:
    short = {"check_timeout": timedelta(seconds=1), "gauges_every": timedelta(0)}
    desk = make_desk(with_ops(on_outage_db(settings, outage), **short))
    ops = await serving(desk, Engine(desk))
    stop_after.append(ops)
    base = str(ops.url)
    assert await get(f"{base}/readyz") == (200, {"status": "ready"})

    outage.begin()
    try:
        status, body = await get(f"{base}/readyz")
        assert status == 503
        assert body["status"] == "not ready"
        assert [r for r in body["reasons"] if r.startswith("database: ")], body
        assert await get(f"{base}/healthz") == (200, {"status": "alive"})
        assert value(await scrape(base), "deskbot_database_up") == 0
    finally:
        outage.end()

    async def ready() -> bool:
        return (await get(f"{base}/readyz"))[0] == 200

    await until(ready)
    assert await get(f"{base}/healthz") == (200, {"status": "alive"})


async def test_readiness_names_a_schema_behind_the_code(
    settings: Settings,
    make_desk: Callable[[Settings], Desk],
    stop_after: list[OpsServer],
) -> None:
    desk = make_desk(settings)
    ops = await serving(desk, Engine(desk))
    stop_after.append(ops)
    # As if the last migration had not run yet. (The PostgreSQL schema is the whole
    # session's: its version is put back whatever happens.)
    set_revision(desk.store.url, "0001")
    try:
        status, body = await get(f"{ops.url}/readyz")
    finally:
        set_revision(desk.store.url, str(ops.head))
    assert status == 503
    assert any("schema at 0001" in r and "deskbot db upgrade" in r for r in body["reasons"])
    assert await get(f"{ops.url}/readyz") == (200, {"status": "ready"})


def set_revision(url: str, revision: str) -> None:
    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    store.dispose()


async def test_readiness_waits_for_start_and_the_engine(
    settings: Settings, make_desk: Callable[[Settings], Desk], stop_after: list[OpsServer]
) -> None:
    desk = make_desk(settings)
    ops = OpsServer(desk, "127.0.0.1", 0)
    await ops.start()
    stop_after.append(ops)
    status, body = await get(f"{ops.url}/readyz")
    assert status == 503
    assert "engine: not started yet" in body["reasons"]
    assert "starting: the channels are not all started yet" in body["reasons"]
    assert await get(f"{ops.url}/healthz") == (200, {"status": "alive"})
