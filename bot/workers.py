"""Where `Engine.handle` runs while a chat platform is on: worker threads or child processes.

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
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from bot.config import Settings
from bot.desk import Desk
from bot.engine import Engine
from bot.messages import Inbound, Outbound

log = logging.getLogger(__name__)
T = TypeVar("T")


class Workers(Protocol):
    """Runs `Engine.handle` off the event loop."""

    async def run(self, inbound: Inbound) -> list[Outbound]:
        """Handle from the event loop; the replies, or the engine's exception."""
        ...

    def handle(self, inbound: Inbound) -> list[Outbound]:
        """Handle and wait, for callers already on a worker thread."""
        ...

    def close(self) -> None: ...


class ThreadWorkers:
    """The engine on worker threads of this process (tests, in-memory databases)."""

    def __init__(self, engine: Engine, threads: int, *, name: str = "engine") -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def run(self, inbound: Inbound) -> list[Outbound]:
        return await asyncio.wrap_future(self._pool.submit(self.engine.handle, inbound))

    def handle(self, inbound: Inbound) -> list[Outbound]:
        return self.engine.handle(inbound)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class ProcessWorkers:
    """The engine in child processes, each with a desk built from the same settings.

    Children are started with "spawn" (a fork would copy the parent's threads' locks and
    open database connections). They ignore Ctrl-C, so a stop finishes the messages under
    way. A child that dies (killed, out of memory) is replaced and the messages it took
    down are handled again by the new one: a turn commits or rolls back whole, and one
    that did commit is recognised by its event id and not repeated.
    """

    def __init__(self, settings: Settings, processes: int) -> None:
        self.settings = settings
        self.processes = processes
        self._guard = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_start,
            initargs=(self.settings, logging.getLogger().getEffectiveLevel()),
        )

    def start(self) -> None:
        """Start every child and wait until each has built its desk (startup errors show here)."""
        pids = {f.result() for f in [self._submit(os.getpid) for _ in range(self.processes)]}
        log.info("engine processes ready: %s", ", ".join(map(str, sorted(pids))))

    def ping(self) -> int:
        """The process id of a child, once it is ready."""
        return self._submit(os.getpid).result()

    def _submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._guard:
            try:
                return self._pool.submit(fn, *args)
            except BrokenProcessPool:
                log.error("an engine process died; starting new ones")
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                return self._pool.submit(fn, *args)

    async def run(self, inbound: Inbound) -> list[Outbound]:
        try:
            return await asyncio.wrap_future(self._submit(_child_handle, inbound))
        except BrokenProcessPool:
            log.warning("engine process died while handling %s; once more", inbound.event_id)
            return await asyncio.wrap_future(self._submit(_child_handle, inbound))

    def handle(self, inbound: Inbound) -> list[Outbound]:
        try:
            return self._submit(_child_handle, inbound).result()
        except BrokenProcessPool:
            log.warning("engine process died while handling %s; once more", inbound.event_id)
            return self._submit(_child_handle, inbound).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def workers_for(desk: Desk, engine: Engine, *, platform_on: bool) -> Workers:
    """The workers `deskbot serve` runs the engine on, as config.yaml's `engine:` says."""
    settings = desk.settings.engine
    sqlite = desk.store.is_sqlite
    if settings.run_in == "process" and platform_on and not desk.store.in_memory:
        workers = ProcessWorkers(desk.settings, 1 if sqlite else settings.processes)
        workers.start()
        return workers
    # SQLite serialises writers anyway, so more threads would only queue on its lock.
    return ThreadWorkers(engine, 1 if sqlite else settings.threads)


# ---- in the child process --------------------------------------------------------------

_engine: Engine | None = None
_refreshed = 0.0


def _child_start(settings: Settings, level: int) -> None:
    global _engine, _refreshed
    # The parent decides when to stop: Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.desk import build_desk

    _engine = Engine(build_desk(settings, migrate=False))
    _refreshed = time.monotonic()


def _child_handle(inbound: Inbound) -> list[Outbound]:
    global _refreshed
    assert _engine is not None, "engine process not initialised"
    desk = _engine.desk
    # Known errors (`/kb`) change the matcher; the parent's insight job keeps its own desk
    # current, this keeps the child's (one aggregate query when nothing changed).
    if time.monotonic() - _refreshed >= desk.settings.insight.every.total_seconds():
        from bot.insight import known_errors

        known_errors.refresh(desk)
        _refreshed = time.monotonic()
    return _engine.handle(inbound)
