"""`deskbot serve`: the chat platforms, the console and the scheduler in one asyncio loop,
with the engine on the workers `bot.app` chooses.

The only module that imports the Slack and Telegram adapters (and with them the chat
SDKs): the desk, the engine and its child processes never load them. `deskbot doctor`
asks the platforms through it too (`probe_platforms`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import directory_sync, people_watch
from bot.adapters import slack, telegram
from bot.adapters.console import ConsoleSession, run_interactive, run_piped
from bot.adapters.slack import probe as slack_probe
from bot.adapters.telegram import probe as telegram_probe
from bot.app import require_current_schema, workers_for
from bot.base.channel import Channel
from bot.base.config import Settings
from bot.base.findings import Finding
from bot.base.yamlfile import Problem, ProblemsError
from bot.chat.engine import Engine
from bot.chat.workers import Workers
from bot.desk import Desk
from bot.directory import example_people
from bot.ops.server import OpsServer
from bot.scim.http import ScimServer
from notifications.scheduler import build_scheduler, guarded, stop_scheduler


class PlatformChannel(Channel, Protocol):
    """A chat platform that receives on its own (socket, polling or webhook) once started."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def receiving(self) -> str | None:
        """None while messages can arrive (connected, listening or polling); else why not."""
        ...


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


async def probe_platforms(settings: Settings) -> list[Finding]:
    """`deskbot doctor`: ask each configured platform whether its tokens work and the bot is
    in every triage place (read-only calls; nothing is posted)."""
    return [*await slack_probe.probe(settings), *await telegram_probe.probe(settings)]


def refuse_demo_directory(desk: Desk) -> None:
    """The demo people must never meet real chat accounts: a real Telegram user whose id is
    a demo row's telegram_id would act as that person, with that row's role. So with Slack
    or Telegram on, a directory with example addresses stops `serve` before anything starts
    (the console, with no tokens set, is where the demo is meant to be tried)."""
    channels = desk.settings.channels
    on = [name for name in ("slack", "telegram") if getattr(channels, name).active]
    demo = example_people(desk.directory)
    if not on or not demo:
        return
    path = desk.settings.resolve(desk.settings.paths.people)
    admins = [p.id for p in demo if "admin" in p.roles]
    shown = ", ".join(p.email for p in demo[:3]) + (", ..." if len(demo) > 3 else "")
    tokens = {"slack": "SLACK_BOT_TOKEN", "telegram": "TELEGRAM_BOT_TOKEN"}
    message = (
        f"{len(demo)} of {len(desk.directory.people)} people have example addresses "
        f"({shown}): this is the demo directory, and {' and '.join(on)} would let whoever "
        "has a demo row's slack_id or telegram_id act as that person"
        + (f" ({', '.join(admins)}: admin)" if admins else "")
        + f". Put your own people in {desk.settings.paths.people} (or point paths.people "
        "at your file), "
        f"or unset {' and '.join(tokens[name] for name in on)} to try deskbot in the console."
    )
    raise ProblemsError([Problem(str(path), None, "email", message)])


async def run_service(desk: Desk, engine: Engine) -> int:
    require_current_schema(desk)
    refuse_demo_directory(desk)
    # First, so /healthz answers (and /readyz says what is still starting) from the start.
    ops = await start_ops(desk)
    scim: ScimServer | None = None
    try:
        scim = await start_scim(desk)
        workers = workers_for(desk, engine, platform_on=desk.settings.channels.platform_on)
        if ops is not None:
            ops.workers = workers
        # Engine processes start (and build their desks) before any channel takes a message.
        await workers.start()
        try:
            return await _serve(desk, engine, workers, ops)
        finally:
            # After the channels stopped: messages under way in an engine process finish.
            await workers.close()
    finally:
        if scim is not None:
            await scim.stop()
        if ops is not None:
            await ops.stop()


async def start_scim(desk: Desk) -> ScimServer | None:
    """The SCIM 2.0 endpoint on `directory.scim.listen`, or None without a scim section.
    When scim is one of `directory.sources`, every change it takes starts the sync the
    directory job runs (`directory_sync.run`): audited, told to the admins when refused,
    leavers' work handed on, and the running desk's people loaded again at once."""
    cfg = desk.settings.directory.scim
    if cfg is None:
        return None
    on_change = None
    if "scim" in desk.settings.directory.sources:

        def on_change() -> None:
            directory_sync.run(desk, actor="scim")

    server = ScimServer(desk.store, desk.clock, cfg, on_change)
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        where = f"{cfg.listen[0]}:{cfg.listen[1]}"
        problem = desk.settings.problem(
            ("directory", "scim", "listen"), f"cannot listen on {where} ({exc.strerror})"
        )
        raise ProblemsError([problem]) from exc
    return server


async def start_ops(desk: Desk) -> OpsServer | None:
    """The health and metrics endpoints on `ops.http`, or None when it is not set."""
    address = desk.settings.ops.http
    if address is None:
        return None
    ops = OpsServer(desk, *address)
    try:
        await ops.start()
    except OSError as exc:
        await ops.stop()
        problem = desk.settings.problem(
            ("ops", "http"), f"cannot listen on {address[0]}:{address[1]} ({exc.strerror})"
        )
        raise ProblemsError([problem]) from exc
    return ops


async def _serve(desk: Desk, engine: Engine, workers: Workers, ops: OpsServer | None) -> int:
    channels = platform_channels(desk, engine, workers)
    if ops is not None:
        ops.channels = channels
    scheduler: AsyncIOScheduler | None = None
    try:
        await _start(list(channels.values()))
        # The outbox dispatcher (platform channels) and the sweep (timers, SLA clocks),
        # built once the platforms answer: their first rounds are due at once.
        scheduler = build_scheduler(desk, channels)
        add_directory_jobs(scheduler, desk)
        scheduler.start()
        if ops is not None:
            ops.started = True
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
        if scheduler is not None:
            await stop_scheduler(scheduler)
        for channel in channels.values():
            await channel.stop()


def add_directory_jobs(scheduler: AsyncIOScheduler, desk: Desk) -> None:
    """With synced people: `directory.every` a sync from the sources (first one at start),
    and `directory.watch` a look at the synced file, so this process's own jobs (and the
    platforms' lookups) follow a sync run elsewhere; each message's engine turn looks too."""
    settings = desk.settings.directory
    if not settings.from_sync:
        return
    if settings.every is not None:
        worker = f"{socket.gethostname()}:{os.getpid()}"

        async def sync() -> None:
            await asyncio.to_thread(directory_sync.run_in_slot, desk, worker)

        scheduler.add_job(
            guarded("directory", sync),
            "interval",
            seconds=settings.every.total_seconds(),
            id="directory",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )

    async def watch() -> None:
        await asyncio.to_thread(people_watch.refresh, desk)

    scheduler.add_job(
        guarded("people", watch),
        "interval",
        seconds=settings.watch.total_seconds(),
        id="people",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )


async def _start(channels: list[PlatformChannel]) -> None:
    """Start every platform at once, so one that cannot be reached yet (and is being tried
    again) does not hold up the others; if one cannot start at all, the rest stop trying."""
    starting = [asyncio.create_task(channel.start()) for channel in channels]
    try:
        await asyncio.gather(*starting)
    except BaseException:
        for task in starting:
            task.cancel()
        await asyncio.gather(*starting, return_exceptions=True)
        raise
