"""The composition root: the one place that reads the environment and wires deskbot's parts
together - settings, content, store and known errors into a desk; the engine on threads or in
child processes; the chat platforms, the console and the scheduler for `deskbot serve`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bot import known_errors
from bot.adapters.console import ConsoleSession, run_interactive, run_piped
from bot.base import redact
from bot.base.channel import Channel
from bot.base.clock import Clock, SystemClock
from bot.base.config import Settings, load_settings, with_database
from bot.base.yamlfile import Problem, ProblemsError
from bot.chat.engine import Engine
from bot.chat.workers import Workers, engine_threads
from bot.content import build_content
from bot.desk import Content, Desk
from bot.processes import ProcessWorkers
from notifications.scheduler import build_scheduler, stop_scheduler
from store.db import Store
from store.migrate import current, head

log = logging.getLogger(__name__)


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


def load_config(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Load config.yaml; DATABASE_URL in the environment overrides database.url."""
    env = dict(os.environ) if environ is None else environ
    settings = with_database(load_settings(path, env), env.get("DATABASE_URL"))
    keep_secret(settings)
    return settings


def keep_secret(settings: Settings) -> None:
    """Register the settings' secrets with the log filter (bot.base.redact)."""
    channels = settings.channels
    for value in (
        channels.slack.bot_token,
        channels.slack.app_token,
        channels.slack.signing_secret,
        channels.telegram.token,
        channels.telegram.webhook.secret_token,
    ):
        redact.add_secret(value)
    redact.add_url_password(settings.database.url)


def build_desk(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool | None = None,
    content: Content | None = None,
) -> Desk:
    """Build the desk. Migrations run automatically for SQLite (the embedded default).

    `content`: what `load_content(settings)` returned before, to share it (it is immutable)."""
    keep_secret(settings)  # engine processes get their settings without load_config
    content = content or build_content(settings)
    store = Store(settings.database.url, echo=settings.database.echo, base_dir=settings.base_dir)
    if migrate if migrate is not None else store.is_sqlite:
        store.upgrade()
    desk = Desk(settings=settings, store=store, content=content, clock=clock or SystemClock())
    known_errors.refresh(desk)  # articles made from resolutions (`/kb IT-1042`)
    return desk


def workers_for(desk: Desk, engine: Engine, *, platform_on: bool) -> Workers:
    """The workers `deskbot serve` runs the engine on, as config.yaml's `engine:` says."""
    settings = desk.settings.engine
    # Windows' default event loop cannot watch a pipe (`add_reader`): threads there.
    usable = platform_on and not desk.store.in_memory and sys.platform != "win32"
    if settings.run_in == "process" and usable:
        count = 1 if desk.store.is_sqlite else settings.processes
        return ProcessWorkers(desk.settings, count, engine_desk)
    return engine_threads(desk, engine)


def engine_desk(settings: Settings) -> Desk:
    """The desk an engine child process builds (the app process has migrated already)."""
    return build_desk(settings, migrate=False)
