"""The in-process scheduler of `deskbot serve`: APScheduler 3.11 with in-memory jobs only.

Nothing durable lives in APScheduler: the jobs are two pollers registered in code at start-up
(the outbox dispatcher and the sweep). What must survive a restart (a reminder for ticket 42
on Thursday, an SLA deadline) is a row in our own tables, so any number of replicas can run
the same two jobs safely.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channel import Channel
from bot.desk import Desk
from notifications.dispatch import Dispatcher
from notifications.sweep import Sweeper


def build_scheduler(
    desk: Desk, channels: Mapping[str, Channel], *, worker: str | None = None
) -> AsyncIOScheduler:
    """The scheduler with the dispatcher (for `channels`, if any) and the sweep.

    `coalesce` and `max_instances=1`: a slow round is never run twice at once, and rounds
    missed while the process was busy collapse into one.
    """
    settings = desk.settings.notifications
    scheduler = AsyncIOScheduler(timezone="UTC")
    if channels:
        dispatcher = Dispatcher.for_desk(desk, channels, worker=worker)
        scheduler.add_job(
            dispatcher.run_once,
            "interval",
            seconds=settings.dispatch.every.total_seconds(),
            id="outbox",
            next_run_time=datetime.now(UTC),  # deliver what waited while we were down
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
    sweeper = Sweeper(desk, worker=worker)
    scheduler.add_job(
        sweeper.run_async,
        "interval",
        seconds=settings.sweep.every.total_seconds(),
        id="sweep",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    return scheduler
