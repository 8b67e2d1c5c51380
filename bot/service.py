"""`deskbot serve`: every configured channel plus the scheduler, in one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channel import Channel
from bot.desk import Desk
from bot.engine import Engine
from bot.yamlfile import Problem, ProblemsError
from notifications.dispatch import Dispatcher
from store.migrate import current, head

log = logging.getLogger(__name__)


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


def platform_channels(desk: Desk, engine: Engine) -> dict[str, Channel]:
    """Start-up hook for the chat platforms enabled in config.yaml."""
    channels: dict[str, Channel] = {}
    settings = desk.settings.channels
    problems = []
    if settings.slack.active:
        problems.append(
            Problem(
                desk.settings.source,
                None,
                "channels.slack",
                "the Slack adapter is not part of this build yet",
            )
        )
    if settings.telegram.active:
        problems.append(
            Problem(
                desk.settings.source,
                None,
                "channels.telegram",
                "the Telegram adapter is not part of this build yet",
            )
        )
    if problems:
        raise ProblemsError(problems)
    return channels


async def run_service(desk: Desk, engine: Engine) -> int:
    require_current_schema(desk)
    channels = platform_channels(desk, engine)
    scheduler = AsyncIOScheduler(timezone="UTC")
    if channels:
        dispatcher = Dispatcher(desk.store, channels, desk.clock)
        scheduler.add_job(
            dispatcher.run_once,
            "interval",
            seconds=1,
            id="outbox",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
    scheduler.start()
    try:
        if desk.settings.channels.console_active:
            from bot.adapters.console import ConsoleSession, run_interactive, run_piped

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
        scheduler.shutdown(wait=False)
