"""App processes that hand messages to their engine process and are killed -9 (used by
test_engine_process): at once, leaving the messages in the child's pipe; or once the child
has answered, leaving its replies unread in the app process's end of the pipe. Each takes
the test process's content (tests/desks.py) and hands it to its child, as `deskbot serve`
hands its own: neither loads the files again."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from sqlmodel import col, select

from bot.app import engine_desk, load_config
from bot.base.messages import Inbound
from bot.desk import Content
from bot.processes import ProcessWorkers
from store.db import Store
from store.models import ProcessedEvent
from tests.desks import adopt, shared_content

ROOT = Path(__file__).resolve().parents[2]


def hand_over_and_die(db_url: str, people: list[str], contents: dict[str, Content]) -> None:
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": db_url})
    adopt(contents)

    async def main() -> None:
        workers = ProcessWorkers(settings, 1, engine_desk, shared_content(settings))
        await workers.start()
        tasks = [asyncio.create_task(workers.run(_inbound(p, "orphan"))) for p in people]
        assert tasks
        await asyncio.sleep(0)  # every task writes its request into the pipe
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())


def hand_over_and_die_unread(db_url: str, people: list[str], contents: dict[str, Content]) -> None:
    """Block the event loop (so no reply is read) until the child has handled every
    message, then die."""
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": db_url})
    adopt(contents)
    store = Store(db_url)

    async def main() -> None:
        workers = ProcessWorkers(settings, 1, engine_desk, shared_content(settings))
        await workers.start()
        tasks = [asyncio.create_task(workers.run(_inbound(p, "unread"))) for p in people]
        await asyncio.sleep(0)  # every task writes its request into the pipe
        # Blocking on purpose: the loop must not read the replies.
        _wait_until_handled(store, {f"Ev-unread-{p}" for p in people})
        assert tasks
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())


def _wait_until_handled(store: Store, wanted: set[str]) -> None:
    for _ in range(1200):  # the child commits each turn before it sends the reply
        with store.read() as session:
            handled = set(
                session.exec(
                    select(ProcessedEvent.event_id).where(col(ProcessedEvent.event_id).in_(wanted))
                ).all()
            )
        if handled == wanted:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # and the last reply is in the pipe


def _inbound(person: str, tag: str) -> Inbound:
    return Inbound(
        "slack", f"D-{person}", person, text="I forgot my password", event_id=f"Ev-{tag}-{person}"
    )
