"""The in-process scheduler of `deskbot serve`: APScheduler 3.11 with in-memory jobs only.

Nothing durable lives in APScheduler: the jobs are two pollers registered in code at start-up
(the outbox dispatcher and the sweep). What must survive a restart (a reminder for ticket 42
on Thursday, an SLA deadline) is a row in our own tables, so any number of replicas can run
the same two jobs safely.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.base import logcontext
from bot.base.channel import Channel
from bot.base.metrics import SCHEDULER_LAG, SCHEDULER_SKIPPED, TALLY
from bot.desk import Desk
from bot.insight.job import InsightJob
from notifications.dispatch import Dispatcher
from notifications.sweep import Sweeper

log = logging.getLogger(__name__)


def _until_shutdown(
    name: str, job: Callable[[], Awaitable[object]]
) -> Callable[[], Awaitable[None]]:
    """Run `job`; a shutdown that cancels it mid-round is normal, not an error: rows claimed
    and not finished are taken up again after their lease, by this process or another."""

    async def run() -> None:
        task = asyncio.current_task()
        if task is not None:
            _rounds.add(task)
        try:
            # Each round logs under an id of its own (what a round sends from the outbox is
            # logged under the id of the turn that queued it).
            with logcontext.turn():
                await job()
        except asyncio.CancelledError:
            log.info("%s interrupted by shutdown", name)
        finally:
            _rounds.discard(task)

    return run


_rounds: set[asyncio.Task[object]] = set()  # rounds under way, for stop_scheduler


def guarded(name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """A job added by the composition root (bot/serve.py), run as the built-in ones are: its
    own log id, a shutdown mid-round is no error, a failed round is logged and the next one
    comes at its time."""

    async def run() -> None:
        try:
            await job()
        except Exception:
            log.exception("%s round failed", name)

    return _until_shutdown(name, run)


async def stop_scheduler(scheduler: AsyncIOScheduler, grace: float = 10.0) -> None:
    """Start no new rounds, let those under way finish (at most `grace` seconds), then shut
    down. APScheduler's own shutdown cancels running rounds and logs each as an error; a round
    cut short is harmless (leases), but a normal stop should not look like a crash."""
    if not scheduler.running:
        return
    scheduler.pause()
    await asyncio.sleep(0)  # rounds submitted a moment ago get to start, so they are seen
    loop = asyncio.get_running_loop()
    under_way = [t for t in _rounds if t.get_loop() is loop and not t.done()]
    if under_way:
        await asyncio.wait(under_way, timeout=grace)
    scheduler.shutdown(wait=False)


def _count_round(event: Any) -> None:
    """How late a round started (the loop busy, the process starved), or that it was skipped
    because the job's previous round was still running (rounds slower than their interval)."""
    if event.code == EVENT_JOB_MAX_INSTANCES:
        TALLY.count(SCHEDULER_SKIPPED, str(event.job_id))
        return
    planned = min(event.scheduled_run_times, default=None)
    if planned is not None:
        lag = (datetime.now(UTC) - planned).total_seconds()
        TALLY.observe(SCHEDULER_LAG, max(0.0, lag), str(event.job_id))


def build_scheduler(
    desk: Desk, channels: Mapping[str, Channel], *, worker: str | None = None
) -> AsyncIOScheduler:
    """The scheduler with the dispatcher (for `channels`, if any) and the sweep.

    `coalesce` and `max_instances=1`: a slow round is never run twice at once, and rounds
    missed while the process was busy collapse into one.
    """
    settings = desk.settings.notifications
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_listener(_count_round, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)
    if channels:
        dispatcher = Dispatcher.for_desk(desk, channels, worker=worker)
        scheduler.add_job(
            _until_shutdown("outbox", dispatcher.run_once),
            "interval",
            seconds=settings.dispatch.every.total_seconds(),
            id="outbox",
            next_run_time=datetime.now(UTC),  # deliver what waited while we were down
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )

    insight = InsightJob(desk, worker=worker)  # reports, digest, major incidents, known errors
    scheduler.add_job(
        _until_shutdown("insight", insight.run_async),
        "interval",
        seconds=desk.settings.insight.every.total_seconds(),
        id="insight",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    sweeper = Sweeper(desk, worker=worker)
    scheduler.add_job(
        _until_shutdown("sweep", sweeper.run_async),
        "interval",
        seconds=settings.sweep.every.total_seconds(),
        id="sweep",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
    return scheduler
