"""Several engine processes: what each child counts reaches the app process with its
replies, so the app process's numbers are the sum of the children's."""

from __future__ import annotations

import asyncio

from bot.app import engine_desk
from bot.base.config import Settings
from bot.base.messages import Inbound
from bot.processes import ProcessWorkers
from tests.desks import shared_content
from tests.ops.helpers import value
from tests.ops.test_timer_metrics import exposed


async def test_two_engine_processes_add_up(settings: Settings) -> None:
    workers = ProcessWorkers(settings, 2, engine_desk, shared_content(settings))
    await workers.start()
    try:
        before = exposed()
        people = ("alice", "bob", "wang.fang", "alex", "dana", "sam")
        # Sent at once: each goes to the child with the fewest unanswered, so both work.
        await asyncio.gather(
            *(
                workers.run(Inbound("memory", who, who, text="hello", event_id=f"add-{who}"))
                for who in people
            )
        )
        # The same events again: each is recognised as handled, whichever child has it.
        await asyncio.gather(
            *(
                workers.run(Inbound("memory", who, who, text="hello", event_id=f"add-{who}"))
                for who in people
            )
        )
        after = exposed()
    finally:
        await workers.close()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("deskbot_messages_total", channel="memory", outcome="handled") == 6
    assert grew("deskbot_messages_total", channel="memory", outcome="duplicate") == 6
    assert grew("deskbot_turn_seconds_count", channel="memory") == 12
