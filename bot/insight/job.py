"""The insight job of `deskbot serve` (registered in notifications/scheduler.py).

Every `insight.every`, on every replica: pick up knowledge articles other replicas made,
and build the `/report` requests (each claimed by one replica). Once per `check_every`
slot, on the one replica that inserts `(insight, slot)` into `job_run`: look for major
incidents and recurring faults (bot/recurring.py), send the weekly digest when it is due,
and delete old chart files.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass

from bot import incidents, known_errors, recurring
from bot.desk import Desk
from bot.insight import charts, delivery
from store import timers as timer_repo

log = logging.getLogger(__name__)


@dataclass
class InsightRun:
    """What one run did (None fields: the slot belonged to another replica)."""

    reports: int = 0
    knowledge_changed: bool = False
    slot: bool = False
    linked: int = 0
    candidates: int = 0  # recurring faults proposed as problems
    digest: bool = False


class InsightJob:
    def __init__(self, desk: Desk, *, worker: str | None = None) -> None:
        self.desk = desk
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"

    def slot(self) -> int:
        every = self.desk.settings.insight.check_every.total_seconds()
        return int(self.desk.clock.now().timestamp() // every)

    def run_once(self) -> InsightRun:
        desk = self.desk
        run = InsightRun()
        run.knowledge_changed = known_errors.refresh(desk)
        run.reports = delivery.process_requests(desk, self.worker)
        now = desk.clock.now()
        slot = self.slot()
        with desk.store.begin() as session:
            run.slot = timer_repo.claim_slot(
                session=session, name="insight", slot=slot, worker=self.worker, now=now
            )
        if not run.slot:
            return run
        error: str | None = None
        try:
            run.linked = incidents.detect(desk, now)
            run.candidates = recurring.detect(desk, now)
            run.digest = delivery.send_digest(desk, now, self.worker)
            charts.forget_old_charts(desk)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("insight checks failed")
            raise
        finally:
            with desk.store.begin() as session:
                timer_repo.finish_slot(
                    session=session,
                    name="insight",
                    slot=slot,
                    now=desk.clock.now(),
                    items=run.linked,
                    error=error,
                )
        return run

    async def run_async(self) -> None:
        """The scheduler job: database and drawing work run off the event loop."""
        await asyncio.to_thread(self.run_once)
