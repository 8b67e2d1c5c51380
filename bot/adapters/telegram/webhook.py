"""Webhook mode: a small aiohttp server that accepts only requests carrying our secret.

PTB's built-in server answers 200 before the update is handled, so a crash in between
loses it. Here the update is handled first (the engine's transaction has committed and
the replies are sent or queued) and only then acknowledged; if the process dies before
that, Telegram delivers again and the update_id dedupe keeps it to one effect.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
Process = Callable[[Update], Awaitable[bool]]  # False: the handler failed


class WebhookServer:
    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        *,
        secret: str,
        path: str,
        process: Process,
    ) -> None:
        self.app = app
        self.secret = secret.encode()
        self.path = path if path.startswith("/") else f"/{path}"
        self.process = process
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):  # constant time
            log.warning("telegram webhook: refused a request without the right secret token")
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            update = Update.de_json(data, self.app.bot)
        except (json.JSONDecodeError, TypeError, KeyError, ValueError):
            return web.Response(status=400, text="not an update")
        if not await self.process(update):
            # Its turn rolled back: Telegram delivers it again later (event ids make the
            # redelivery the first handling, or a no-op if it did go through after all).
            return web.Response(status=500, text="not handled; send it again")
        return web.Response(status=200)

    async def start(self, listen: str, port: int) -> int:
        """Serve until `stop`; returns the bound port (useful when `port` is 0)."""
        server = web.Application()
        server.router.add_post(self.path, self.handle)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, listen, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.port = int(bound[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
