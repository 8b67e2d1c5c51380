"""`deskbot serve`: the chat platforms, the console and the scheduler in one asyncio loop,
with the engine on the workers `bot.app` chooses.

The only module that imports the Slack and Telegram adapters (and with them the chat
SDKs): the desk, the engine and its child processes never load them.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Protocol

from bot.adapters import slack, telegram
from bot.adapters.console import ConsoleSession, run_interactive, run_piped
from bot.app import require_current_schema, workers_for
from bot.base.channel import Channel
from bot.chat.engine import Engine
from bot.chat.workers import Workers
from bot.desk import Desk
from notifications.scheduler import build_scheduler, stop_scheduler


class PlatformChannel(Channel, Protocol):
    """A chat platform that receives on its own (socket, polling or webhook) once started."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


# Each platform's `build(desk, engine, workers)`, by its name in config.yaml's `channels:`.
ADAPTERS: dict[str, Callable[[Desk, Engine, Workers | None], PlatformChannel]] = {
    "slack": slack.build,
    "telegram": telegram.build,
}


def platform_channels(
    desk: Desk, engine: Engine, workers: Workers | None = None
) -> dict[str, PlatformChannel]:
    """Build the chat platforms enabled in config.yaml (sharing `workers` if given)."""
    settings = desk.settings.channels
    wanted = {"slack": settings.slack.active, "telegram": settings.telegram.active}
    channels: dict[str, PlatformChannel] = {}
    for name, active in wanted.items():
        if not active:
            continue
        channels[name] = ADAPTERS[name](desk, engine, workers)
    return channels


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
