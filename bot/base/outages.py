"""Waiting out an outage: the database, or a chat platform, that cannot be reached just now.

Two kinds of patience. A message that was acknowledged to its platform and then failed
because the database was unreachable is tried again for a while (`patiently`): the platform
will not send it again, so giving up at the first failure would drop it. A chat platform
unreachable at start is tried until it answers (`until_reachable`): nothing works without
it, and a traceback at start helps nobody.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class Unavailable(Exception):
    """The database could not be reached, or stayed locked, just now: the work was rolled
    back whole, so the same work may be tried again later."""


@dataclass(frozen=True)
class Backoff:
    """Waits between tries: `first`, then twice as long each time, never more than `cap`."""

    first: float = 0.5
    cap: float = 10.0

    def starting(self, first: timedelta) -> Backoff:
        """The same doubling and cap, beginning with `first` (a setting; the cap grows to
        it when it is longer)."""
        seconds = first.total_seconds()
        return Backoff(first=seconds, cap=max(seconds, self.cap))

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.cap)


TURNS = Backoff(first=0.5, cap=10.0)
START = Backoff(first=1.0, cap=60.0)


async def patiently(
    work: Callable[[], Awaitable[T]],
    *,
    what: str,
    within: float,
    backoff: Backoff = TURNS,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`work()`, tried again while it raises `Unavailable`, until `within` seconds have
    passed since the first try; then the last `Unavailable` is raised. One warning when the
    first try fails, one when a later try succeeds."""
    started = clock()
    tries = 0
    for delay in backoff.delays():
        tries += 1
        try:
            result = await work()
        except Unavailable as exc:
            left = within - (clock() - started)
            if left <= 0:
                raise
            if tries == 1:
                log.warning(
                    "%s: the database is unavailable (%s); trying again for up to %.0f s",
                    what,
                    exc,
                    within,
                )
            await sleep(min(delay, left))
            continue
        if tries > 1:
            log.warning("%s: done at try %d, after %.0f s", what, tries, clock() - started)
        return result
    raise AssertionError("unreachable: the delays never end")


async def until_reachable(
    connect: Callable[[], Awaitable[T]],
    *,
    what: str,
    transient: Callable[[BaseException], bool],
    backoff: Backoff = START,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """`connect()` until it succeeds, waiting longer after each failure that `transient`
    accepts (anything else is raised at once). One warning line when the first try fails,
    one info line when it finally answers; the tries between log at debug level only."""
    tries = 0
    for delay in backoff.delays():
        tries += 1
        try:
            result = await connect()
        except Exception as exc:
            if not transient(exc):
                raise
            if tries == 1:
                log.warning(
                    "%s cannot be reached (%s); trying again with backoff, up to %.0f s "
                    "between tries (the first in %.3g s)",
                    what,
                    _reason(exc),
                    backoff.cap,
                    delay,
                )
            else:
                log.debug(
                    "%s: try %d failed (%s); the next in %.3g s", what, tries, _reason(exc), delay
                )
            await sleep(delay)
            continue
        if tries > 1:
            log.info("%s reached at try %d", what, tries)
        return result
    raise AssertionError("unreachable: the delays never end")


def _reason(exc: BaseException) -> str:
    """The error in one line, without a traceback."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
