"""An app process that hands messages to its engine process and is killed -9 at once
(used by test_engine_process): the engine child is left with the messages in its pipe."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bot.app import engine_desk, load_config
from bot.base.messages import Inbound
from bot.processes import ProcessWorkers

ROOT = Path(__file__).resolve().parents[2]


def hand_over_and_die(db_url: str, people: list[str]) -> None:
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": db_url})

    async def main() -> None:
        workers = ProcessWorkers(settings, 1, engine_desk)
        await workers.start()
        tasks = []
        for person in people:
            inbound = Inbound(
                "slack",
                f"D-{person}",
                person,
                text="I forgot my password",
                event_id=f"Ev-orphan-{person}",
            )
            tasks.append(asyncio.create_task(workers.run(inbound)))
        await asyncio.sleep(0)  # every task writes its request into the pipe
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
