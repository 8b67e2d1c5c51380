"""Where `Engine.handle` runs while a chat platform is on: the protocol, and worker threads
(child processes are in `bot.processes`).

The engine is synchronous and never runs on the event loop, so acks stay fast. In a worker
thread it still shares this process's GIL with the loop that speaks to Slack or Telegram:
every database call hands the GIL over and waits to get it back, so the two take turns on
one core. In child processes (the default for `deskbot serve`) each keeps its own copy of
the desk and the loop process keeps a core to itself; see docs/architecture.md
("Performance: Slack throughput") for the numbers.

Per-conversation order is the channel's job (it holds a lock per conversation while a
message is being handled), so any number of workers may run at once.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from bot.base.messages import Inbound, Outbound
from bot.chat.engine import Engine
from bot.desk import Desk

log = logging.getLogger(__name__)


class Workers(Protocol):
    """Runs `Engine.handle` off the event loop."""

    async def start(self) -> None: ...

    async def run(self, inbound: Inbound) -> list[Outbound]:
        """Handle from the event loop; the replies, or the engine's exception
        (`bot.base.outages.Unavailable` when the database could not be reached: the same
        message may be tried again)."""
        ...

    async def close(self) -> None:
        """Finish the messages under way, then stop."""
        ...

    def unready(self) -> list[str]:
        """Why some workers cannot take messages now (for /readyz); [] when all can."""
        ...


class ThreadWorkers:
    """The engine on worker threads of this process (tests, in-memory databases)."""

    def __init__(self, engine: Engine, threads: int, *, name: str = "engine") -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def start(self) -> None:
        return None

    async def run(self, inbound: Inbound) -> list[Outbound]:
        return await asyncio.wrap_future(self._pool.submit(self.engine.handle, inbound))

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True)

    def unready(self) -> list[str]:
        return []  # threads of this process: up while the process is


class EngineFailed(Exception):
    """`Engine.handle` raised in an engine process; the message is its traceback."""


def engine_threads(desk: Desk, engine: Engine, *, name: str = "engine") -> ThreadWorkers:
    """The engine on this process's threads: one on SQLite, which serialises writers anyway
    (more threads would only queue on its lock), `engine.threads` on PostgreSQL."""
    return ThreadWorkers(
        engine, 1 if desk.store.is_sqlite else desk.settings.engine.threads, name=name
    )


# ---- in the child process --------------------------------------------------------------
