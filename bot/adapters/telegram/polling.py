"""Long polling that never loses a confirmed update.

Telegram forgets an update as soon as getUpdates is called with a higher offset, and
python-telegram-bot's Updater makes that call while the previous batch is still being
handled: a crash in between would lose those messages. Here each batch is kept in the
store (by the engine: `Ledger`) before the next call confirms it, and each update is
forgotten only once it has been handled (in the transaction that keeps the next batch: one
store write per batch). On start, whatever a previous process kept and did not handle is
handled first; an update handled twice that way is recognised by its update_id, as any
redelivery is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from telegram import Bot, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.base.outages import START, Backoff, until_reachable

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_BACKOFF = 30.0  # seconds between attempts while Telegram cannot be reached
RETRY = Backoff(first=1.0, cap=MAX_BACKOFF)  # channels.telegram.poll_retry's default
Blocking = Callable[..., Awaitable[Any]]


def transient(exc: BaseException) -> bool:
    """Whether Telegram may answer later: unreachable, 5xx, or flood control (a refused
    token or a bad request stays refused)."""
    return isinstance(exc, RetryAfter) or (
        isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)
    )


class Ledger(Protocol):
    """Where fetched updates wait until handled (the engine keeps them in the store)."""

    def keep_updates(
        self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]], done: Sequence[str]
    ) -> None: ...

    def waiting_updates(self, channel: str) -> list[dict[str, Any]]: ...


class Poller:
    """Fetch updates with getUpdates into an `asyncio.Queue` (the Application's)."""

    def __init__(
        self,
        bot: Bot,
        queue: asyncio.Queue[object],
        ledger: Ledger,
        *,
        blocking: Blocking,
        event_id: Callable[[Update], str],
        timeout: float,
        allowed_updates: Sequence[str],
        retry: Backoff = RETRY,
        connect: Backoff = START,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.queue = queue
        self.ledger = ledger
        self._blocking = blocking
        self._event_id = event_id
        self._timeout = timeout
        self._allowed = list(allowed_updates)
        self._retry = retry
        self._connect = connect
        self._sleep = sleep
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._failed: set[int] = set()
        self._done: list[str] = []  # handled, to forget with the next batch
        self.failing: str | None = None  # why the last getUpdates failed, until one works

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Drop any webhook (Telegram refuses getUpdates while one is set), hand on what a
        previous process kept but did not handle, then poll."""
        await until_reachable(
            self.bot.delete_webhook, what="Telegram", transient=transient, backoff=self._connect
        )
        for payload in await self._blocking(self._waiting):
            update = Update.de_json(payload, self.bot)
            log.info("telegram: handling update %s kept from before a restart", update.update_id)
            await self.queue.put(update)
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop polling and confirm what was kept, so Telegram does not send it again."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._done:
            with contextlib.suppress(Exception):
                await self._blocking(self._keep, (), self._take_done())
        if self._offset is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(offset=self._offset, limit=1, timeout=0)

    def failed(self, update: object) -> None:
        """A handler raised: keep the update, so the next start tries it again."""
        if isinstance(update, Update):
            self._failed.add(update.update_id)

    async def handled(self, update: object) -> None:
        """Forget a kept update once it has been handled (called by the update processor)."""
        if not isinstance(update, Update):
            return
        if update.update_id in self._failed:
            self._failed.discard(update.update_id)
            return
        # If the process dies before the next batch, the next start hands this on again
        # and the update_id check recognises it as handled.
        self._done.append(self._event_id(update))

    def _take_done(self) -> list[str]:
        done, self._done = self._done, []
        return done

    async def _run(self) -> None:
        delays = self._retry.delays()
        while True:
            # After a failure the first call does not wait for updates: it tells at once
            # whether Telegram answers again, so readiness does not stay "down" for a whole
            # long poll after Telegram is back.
            timeout = 0.0 if self.failing else self._timeout
            try:
                updates = await self.bot.get_updates(
                    offset=self._offset,
                    timeout=timedelta(seconds=timeout),
                    allowed_updates=self._allowed,
                )
            except TelegramError as exc:
                self.failing = f"getUpdates failed ({type(exc).__name__})"
                wait = next(delays)
                log.warning("telegram: getUpdates failed (%s); trying again in %.3gs", exc, wait)
                await self._sleep(wait)
                continue
            delays = self._retry.delays()
            self.failing = None
            if not updates:
                continue
            # Kept before the next call confirms them; a store failure here stops the
            # confirmation too (the loop retries), so Telegram keeps them meanwhile.
            done = self._take_done()
            try:
                await self._blocking(self._keep, updates, done)
            except Exception:
                self._done[:0] = done
                log.exception("telegram: could not keep %d updates; fetching again", len(updates))
                await self._sleep(next(delays))
                continue
            for update in updates:
                await self.queue.put(update)
            self._offset = updates[-1].update_id + 1

    # -- in the store's worker thread -------------------------------------------------

    def _keep(self, updates: Sequence[Update], done: Sequence[str]) -> None:
        self.ledger.keep_updates(CHANNEL, [(self._event_id(u), u.to_dict()) for u in updates], done)

    def _waiting(self) -> list[dict[str, Any]]:
        return self.ledger.waiting_updates(CHANNEL)
