"""`deskbot serve`: every configured channel plus the scheduler, in one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Protocol

from bot.adapters.console import ConsoleSession, run_interactive, run_piped
from bot.base.channel import Channel
from bot.base.yamlfile import Problem, ProblemsError
from bot.chat.engine import Engine
from bot.chat.workers import Workers
from bot.desk import Desk
from bot.processes import workers_for
from notifications.scheduler import build_scheduler, stop_scheduler
from store.migrate import current, head

log = logging.getLogger(__name__)

# channel name -> module with `build(desk, engine, workers) -> PlatformChannel`


class PlatformChannel(Channel, Protocol):
    """A chat platform that receives on its own (socket, polling or webhook) once started."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def require_current_schema(desk: Desk) -> None:
    """Refuse to run against a database whose schema is behind the code."""
    have, want = current(desk.store), head(desk.store)
    if have != want:
        raise ProblemsError(
            [
                Problem(
                    desk.settings.source,
                    None,
                    "database.url",
                    f"database schema is at {have or 'nothing'}, code needs {want}; "
                    "run `deskbot db upgrade`",
                )
            ]
        )


def platform_channels(
    desk: Desk, engine: Engine, workers: Workers | None = None
) -> dict[str, PlatformChannel]:
    """Build the chat platforms enabled in config.yaml (sharing `workers` if given)."""
    settings = desk.settings.channels
    wanted = {"slack": settings.slack.active, "telegram": settings.telegram.active}
    channels: dict[str, PlatformChannel] = {}
    problems = []
    for name, active in wanted.items():
        if not active:
            continue
        try:
            build = _adapter(name)
        except ModuleNotFoundError:
            problems.append(
                desk.settings.problem(("channels", name), f"the {name} adapter is not installed")
            )
            continue
        channels[name] = build(desk, engine, workers)
    if problems:
        raise ProblemsError(problems)
    return channels


def _adapter(name: str) -> Callable[[Desk, Engine, Workers | None], PlatformChannel]:
    """A platform's `build`, imported only when it is configured: the chat SDKs are large, and
    a desk that runs without them must not need them installed."""
    if name == "slack":
        from bot.adapters import slack

        return slack.build
    from bot.adapters import telegram

    return telegram.build


async def run_service(desk: Desk, engine: Engine) -> int:
    require_current_schema(desk)
    platform_on = desk.settings.channels.slack.active or desk.settings.channels.telegram.active
    workers = workers_for(desk, engine, platform_on=platform_on)
    # Engine processes start (and build their desks) before any channel takes a message.
    await workers.start()
    try:
        return await _serve(desk, engine, workers)
    finally:
        # After the channels stopped: messages under way in an engine process finish.
        await workers.close()


async def _serve(desk: Desk, engine: Engine, workers: Workers) -> int:
    channels = platform_channels(desk, engine, workers)
    # The outbox dispatcher (platform channels) and the sweep (timers, SLA clocks).
    scheduler = build_scheduler(desk, channels)
    for channel in channels.values():
        await channel.start()
    scheduler.start()
    try:
        if desk.settings.channels.console_active:
            person = desk.settings.channels.console.person or next(iter(desk.directory.people))
            fancy = sys.stdin.isatty() and sys.stdout.isatty()
            session = ConsoleSession(desk, engine, person, sys.stdout, fancy=fancy)
            return await (run_interactive(session) if fancy else run_piped(session, sys.stdin))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0
    finally:
        await stop_scheduler(scheduler)
        for channel in channels.values():
            await channel.stop()
