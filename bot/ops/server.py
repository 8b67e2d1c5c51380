"""The HTTP endpoints of `deskbot serve` on config.yaml's `ops.http`, on serve's own loop.

/healthz: the process answers (nothing else is checked: a restart would not mend a database).
/readyz: the database answers (within `ops.check_timeout`, writably), its schema is the
code's, every platform channel is connected or polling, the oldest outbox message due on
this process's channels waited less than `ops.outbox_delay`, and every engine process is up.
503 with the reasons as JSON otherwise.
/metrics: Prometheus' text format (bot/ops/exposition.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from aiohttp import web

from bot.base.metrics import TALLY
from bot.chat.workers import Workers
from bot.desk import Desk
from bot.ops.exposition import CONTENT_TYPE, Scrape, render
from bot.ops.probe import DatabaseProbe, NoAnswer
from store.migrate import head

log = logging.getLogger(__name__)


class Receiving(Protocol):
    async def receiving(self) -> str | None: ...


class OpsServer:
    """Serves the endpoints; `workers` and `channels` are filled in by serve as they start."""

    def __init__(self, desk: Desk, host: str, port: int) -> None:
        self.desk = desk
        self.host, self.port = host, port
        ops = desk.settings.ops
        self.probe = DatabaseProbe(desk.store, desk.clock, ops.check_timeout.total_seconds())
        self.head = head(desk.store)
        self.workers: Workers | None = None
        self.channels: Mapping[str, Receiving] = {}
        self.started = False  # the channels and the scheduler are running
        self._runner: web.AppRunner | None = None
        self.url: str | None = None  # once listening (port 0 resolved)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        log.info("health and metrics on %s (/healthz, /readyz, /metrics)", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.probe.close()

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(self, _request: web.Request) -> web.Response:
        reasons = await self.not_ready()
        if reasons:
            return web.json_response({"status": "not ready", "reasons": reasons}, status=503)
        return web.json_response({"status": "ready"})

    async def not_ready(self) -> list[str]:
        """Why the service cannot do its work now; [] when it can."""
        reasons: list[str] = []
        try:
            reading = await self.probe.read()
        except NoAnswer as exc:
            reasons.append(f"database: {exc}")
        else:
            if reading.revision != self.head:
                reasons.append(
                    f"database: schema at {reading.revision or 'nothing'}, code needs "
                    f"{self.head}; run `deskbot db upgrade`"
                )
            limit = self.desk.settings.ops.outbox_delay.total_seconds()
            for name in self.channels:
                waited = reading.oldest_due_seconds.get(name, 0.0)
                if waited > limit:
                    reasons.append(
                        f"outbox: the oldest {name} message due has waited {waited:.0f} s "
                        f"(ops.outbox_delay: {limit:.0f} s)"
                    )
        if not self.started:
            reasons.append("starting: the channels are not all started yet")
        for name, channel in self.channels.items():
            why = await channel.receiving()
            if why:
                reasons.append(f"{name}: {why}")
        reasons += [f"engine: {why}" for why in self._engine_problems()]
        return reasons

    async def metrics(self, _request: web.Request) -> web.Response:
        every = self.desk.settings.ops.gauges_every.total_seconds()
        try:
            reading = await self.probe.read(max_age=every)
        except NoAnswer:
            reading = None
        channels = {name: (await c.receiving()) is None for name, c in self.channels.items()}
        scrape = Scrape(TALLY.snapshot(), reading, channels, len(self._engine_problems()))
        body = render(scrape)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    def _engine_problems(self) -> list[str]:
        if self.workers is None:
            return ["not started yet"]
        return self.workers.unready()
