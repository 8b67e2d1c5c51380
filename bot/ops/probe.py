"""Reading the database for /readyz and /metrics without ever blocking the event loop.

The reading runs on a thread of its own and is waited for at most `timeout` seconds. A
database that hangs (SQLite locked, a PostgreSQL server that stopped answering) leaves that
one read waiting; later checks wait on the same read instead of piling up more threads. The
thread is a daemon: a read still hanging never holds up the process's exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from bot.base.clock import Clock
from store.db import Store
from store.health import Reading, read


class NoAnswer(Exception):
    """The database did not answer, or answered with an error; the message says which."""


class DatabaseProbe:
    def __init__(self, store: Store, clock: Clock, timeout: float) -> None:
        self.store = store
        self.clock = clock
        self.timeout = timeout
        self._running: asyncio.Future[Reading] | None = None
        self._last: tuple[float, Reading] | None = None

    async def read(self, max_age: float = 0.0) -> Reading:
        """A reading no older than `max_age` seconds; raises `NoAnswer`."""
        if self._last is not None and time.monotonic() - self._last[0] <= max_age:
            return self._last[1]
        if self._running is None or self._running.done():
            self._running = self._start()
        try:
            reading = await asyncio.wait_for(asyncio.shield(self._running), self.timeout)
        except TimeoutError:
            raise NoAnswer(f"no answer within {self.timeout:g} s") from None
        except Exception as exc:
            raise NoAnswer(_first_line(exc)) from exc
        self._last = (time.monotonic(), reading)
        return reading

    def _start(self) -> asyncio.Future[Reading]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reading] = loop.create_future()
        future.add_done_callback(_retrieve)
        now = self.clock.now()

        def settle(reading: Reading | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                assert reading is not None
                future.set_result(reading)

        def run() -> None:
            try:
                reading = read(self.store, now)
            except Exception as exc:
                outcome: tuple[Reading | None, BaseException | None] = (None, exc)
            else:
                outcome = (reading, None)
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (serve stopped)
                loop.call_soon_threadsafe(settle, *outcome)

        threading.Thread(target=run, name="ops-database", daemon=True).start()
        return future

    def close(self) -> None:
        if self._running is not None and not self._running.done():
            self._running.cancel()


def _retrieve(future: asyncio.Future[Reading]) -> None:
    """A read nobody waits for any more (it timed out) still has its error looked at."""
    if not future.cancelled():
        future.exception()


def _first_line(exc: BaseException) -> str:
    """The driver's error in one line (no SQL, no parameters, no traceback)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0]}" if lines else type(orig).__name__
