"""The engine in child processes (the default for `deskbot serve` with Slack or Telegram on).

Each child builds its own desk from the same settings and the app process's content (forked
from a clean fork server, not from the app process; the content is immutable and arrives
pickled, so a child starts without reading the files or training the matcher again), shares
only the database, and answers the app process over one pipe read by its event loop; see
`bot.chat.workers` for the protocol every kind of worker meets, and docs/architecture.md
("Performance: Slack throughput") for why.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from bot import known_errors
from bot.base import logcontext, logformat
from bot.base.channel import turn_origin
from bot.base.config import Settings
from bot.base.messages import Inbound, Outbound
from bot.base.metrics import ENGINE_RESTARTS, TALLY
from bot.base.outages import Unavailable
from bot.chat.engine import Engine
from bot.chat.workers import EngineFailed
from bot.desk import Content, Desk
from notifications.replies import keep_replies

if TYPE_CHECKING:  # not defined on Windows, where the engine runs in threads
    from multiprocessing.context import ForkServerContext

log = logging.getLogger(__name__)
BuildDesk = Callable[[Settings, Content | None], Desk]
MAX_TRIES = 2  # children a message may be with when they die, before it fails


RESTART_DELAY = 5.0  # seconds before trying again to start a child that could not start


@dataclass
class _Child:
    """One engine process and the requests it has been sent and not answered yet."""

    process: BaseProcess
    conn: Connection
    ready: bool = False
    # Unanswered requests in order; before `ready` none has gone down the pipe yet.
    sent: dict[int, Inbound] = field(default_factory=dict)


class ProcessWorkers:
    """The engine in child processes, each with a desk built from the same settings.

    Requests and replies travel as pickles over one pipe per child, read by the event loop
    itself: no executor threads in this process, so nothing here competes with the loop
    for the GIL. Children are forked from multiprocessing's fork server, never from this
    process (a fork of it would copy its threads' locks and open database connections),
    and ignore Ctrl-C, so a stop finishes the messages under way. A child that dies
    (killed, out of memory) is replaced and the messages it had not answered go to the new
    one: a turn commits or rolls back whole, and one that did commit is recognised by its
    event id and not repeated. If this process dies instead (kill -9), the child still
    handles what is in its pipe (messages already acked) and queues their replies in the
    outbox for the next app process, with the replies it had sent that this process had
    not yet said it read.
    """

    def __init__(
        self,
        settings: Settings,
        processes: int,
        build: BuildDesk,
        content: Content | None = None,
    ) -> None:
        self.settings = settings
        # How a child builds its desk: a module-level function (it is pickled by name).
        self.build = build
        # The app process's content, so every process answers from the same catalog even
        # if a file changes on disk while they run; None: each child loads the files.
        self.content = content
        self.processes = processes
        self._children: list[_Child] = []
        self._waiting: dict[int, asyncio.Future[list[Outbound]]] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._started = False  # every child was ready once: later deaths are replaced
        self.restart_delay = RESTART_DELAY
        self._starting: set[asyncio.Task[None]] = set()  # replacements being started
        self._tries: dict[int, int] = {}  # requests that were with a child that died

    async def start(self) -> None:
        """Start every child and wait until each has built its desk."""
        self._loop = asyncio.get_running_loop()
        self._children = [self._spawn() for _ in range(self.processes)]
        while not all(child.ready for child in self._children):
            if any(child.conn.closed for child in self._children):
                await self.close()
                raise RuntimeError("an engine process did not start; see the log above")
            await asyncio.sleep(0.05)
        self._started = True
        log.info("engine processes ready: %s", ", ".join(str(p) for p in self.pids))

    @property
    def pids(self) -> list[int]:
        return [child.process.pid or 0 for child in self._children]

    @property
    def ready(self) -> bool:
        """Every child has built its desk and takes messages."""
        return all(child.ready and not child.conn.closed for child in self._children)

    def unready(self) -> list[str]:
        """Why some engine processes cannot take messages now (for /readyz); [] when all can."""
        if not self._children:
            return ["engine processes not started"]
        problems = []
        for number, child in enumerate(self._children, 1):
            if child.conn.closed or not child.process.is_alive():
                problems.append(f"engine process {number} (pid {child.process.pid}) is dead")
            elif not child.ready:
                problems.append(f"engine process {number} (pid {child.process.pid}) is starting")
        return problems

    def _process(self) -> tuple[BaseProcess, Connection, Connection]:
        ours, theirs = multiprocessing.Pipe()
        context = _context()
        level = logging.getLogger().getEffectiveLevel()
        process = context.Process(
            target=_child_main,
            args=(self.settings, level, theirs, self.build, self.content),
            name="deskbot-engine",
        )
        return process, ours, theirs

    def _watch(self, process: BaseProcess, ours: Connection, theirs: Connection) -> _Child:
        assert self._loop is not None
        theirs.close()  # the child's end lives in the child: EOF here when it exits
        child = _Child(process, ours)
        self._loop.add_reader(ours.fileno(), self._readable, child)
        return child

    def _spawn(self) -> _Child:
        process, ours, theirs = self._process()
        process.start()
        return self._watch(process, ours, theirs)

    async def _spawn_off_loop(self) -> _Child:
        """A new child, started in a thread: starting one writes the settings and content
        down its pipe and waits while it reads them (its interpreter's start and imports,
        a second or more on a busy machine), time in which the loop - the platforms,
        /readyz - would answer nobody. Meanwhile /readyz says the old one is dead."""
        process, ours, theirs = self._process()
        try:
            await asyncio.to_thread(process.start)
        except BaseException:
            ours.close()
            theirs.close()
            raise
        return self._watch(process, ours, theirs)

    async def run(self, inbound: Inbound) -> list[Outbound]:
        assert self._loop is not None, "start() first"
        request = next(self._ids)
        future: asyncio.Future[list[Outbound]] = self._loop.create_future()
        self._waiting[request] = future
        # The child with the fewest unanswered requests (one child on SQLite).
        child = min(self._children, key=lambda c: len(c.sent))
        self._send(child, request, inbound)
        try:
            return await future
        finally:
            self._waiting.pop(request, None)
            self._tries.pop(request, None)

    def _send(self, child: _Child, request: int, inbound: Inbound) -> None:
        child.sent[request] = inbound
        if not child.ready:
            return  # goes down the pipe once the child says it is ready
        try:
            child.conn.send((request, inbound))
        except OSError:
            pass  # the child just died: `_readable` sees the end and hands `sent` on

    def _readable(self, child: _Child) -> None:
        try:
            while child.conn.poll():
                request, ok, result, counts = child.conn.recv()
                if counts:  # what the child counted for this message (bot/base/metrics.py)
                    TALLY.absorb(counts)
                if request == 0:  # "ready": the desk is built
                    child.ready = True
                    for waiting, inbound in child.sent.items():
                        child.conn.send((waiting, inbound))
                    continue
                child.sent.pop(request, None)
                future = self._waiting.get(request)
                if future is not None and not future.done():
                    if ok:
                        future.set_result(result)
                    elif isinstance(result, Unavailable):  # the caller may try it again
                        future.set_exception(result)
                    else:
                        future.set_exception(EngineFailed(result))
                if ok:  # read: the child may forget these replies (see _child_main)
                    with contextlib.suppress(OSError):  # it died just now: EOF comes next
                        child.conn.send((request, None))
        except (EOFError, OSError):
            self._died(child)

    def _died(self, child: _Child) -> None:
        assert self._loop is not None
        self._loop.remove_reader(child.conn.fileno())
        child.conn.close()
        child.process.join(timeout=1)
        if self._closing:
            return
        if child.ready:
            log.error(
                "engine process %s died (exit code %s); starting a new one, %d message(s) "
                "to handle again",
                child.process.pid,
                child.process.exitcode,
                len(child.sent),
            )
            TALLY.count(ENGINE_RESTARTS)
            self._replace(child)
            return
        # It could not build its desk (database gone, say): the messages waiting for it
        # fail now (the channel apologises) and a new child is tried a little later.
        log.error(
            "engine process %s exited while starting (exit code %s); trying again in %s s",
            child.process.pid,
            child.process.exitcode,
            self.restart_delay,
        )
        for request in child.sent:
            future = self._waiting.get(request)
            if future is not None and not future.done():
                future.set_exception(EngineFailed("the engine process could not start"))
        child.sent.clear()
        if self._started:
            TALLY.count(ENGINE_RESTARTS)
            self._loop.call_later(self.restart_delay, self._replace, child)

    def _replace(self, child: _Child) -> None:
        if self._closing or child not in self._children:
            return
        assert self._loop is not None
        task = self._loop.create_task(self._replace_off_loop(child))
        self._starting.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._starting.discard)

    async def _replace_off_loop(self, child: _Child) -> None:
        assert self._loop is not None
        try:
            fresh = await self._spawn_off_loop()
        except Exception:
            # Not even started (no process, or its arguments would not pickle): the
            # messages it had fail now rather than wait for ever, and it is tried again.
            log.exception("engine process not started; trying again in %s s", self.restart_delay)
            for request in child.sent:
                future = self._waiting.get(request)
                if future is not None and not future.done():
                    future.set_exception(EngineFailed("the engine process could not start"))
            child.sent.clear()
            self._loop.call_later(self.restart_delay, self._replace, child)
            return
        if self._closing or child not in self._children:  # closed while it started
            await self._stop(fresh)
            return
        self._children[self._children.index(child)] = fresh
        for request, inbound in child.sent.items():
            # A message that takes its child down every time (out of memory, say) must not
            # take every new child down with it: after MAX_TRIES it fails instead.
            self._tries[request] = tries = self._tries.get(request, 1) + 1
            if tries > MAX_TRIES:
                with logcontext.turn(inbound.correlation, person=inbound.person_id):
                    log.error(
                        "%s was with %d engine processes that died; given up",
                        inbound.event_id,
                        tries - 1,
                    )
                future = self._waiting.get(request)
                if future is not None and not future.done():
                    future.set_exception(EngineFailed("engine processes died handling it"))
                continue
            self._send(fresh, request, inbound)

    async def _stop(self, child: _Child) -> None:
        assert self._loop is not None
        with contextlib.suppress(OSError):  # it died just now
            child.conn.send(None)
        await asyncio.to_thread(child.process.join, 30)
        if child.process.is_alive():
            child.process.terminate()
        if not child.conn.closed:
            self._loop.remove_reader(child.conn.fileno())
            child.conn.close()

    async def close(self) -> None:
        self._closing = True
        for task in list(self._starting):  # a replacement under way: stopped when started
            with contextlib.suppress(Exception):
                await task
        for child in self._children:
            if child.process.is_alive() and not child.conn.closed:
                with contextlib.suppress(OSError):  # it died just now
                    child.conn.send(None)  # read after the requests already in the pipe
        for child in self._children:
            await asyncio.to_thread(child.process.join, 30)
            if child.process.is_alive():
                child.process.terminate()
            if not child.conn.closed:
                assert self._loop is not None
                self._loop.remove_reader(child.conn.fileno())
                child.conn.close()


def _context() -> ForkServerContext:
    """Where engine children come from: multiprocessing's fork server, a clean process
    started once (no threads, no connections, nothing a fork would copy half-way) that
    imports deskbot once; each child is a fork of it, so starting or replacing one costs a
    fork and building the desk instead of a new interpreter importing everything (a
    replacement: 0.16 s instead of 1.3-1.5 s; docs/operations.md, "Processes").

    It imports the command line too: a child prepares itself from the app process's main
    module, and the `deskbot` script's main module imports `bot.cli`; loaded in the server,
    that costs each child nothing. (`'__main__'` in the preload list would not do: Python
    3.11 never hands the server the script's path.)"""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bot.cli"])
    return context


def start_fork_server() -> None:
    """Start the fork server engine processes come from now, so it imports deskbot while
    this process builds its own desk (else it starts with the first engine process)."""
    # Imported here, as multiprocessing itself does: a platform without fork servers
    # (Windows, where the engine runs in threads) never asks for one.
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def _child_main(
    settings: Settings,
    level: int,
    conn: Connection,
    build: BuildDesk,
    content: Content | None = None,
) -> None:
    # The parent decides when to stop: Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Straight to the stderr this process shares with the app process, in the same format,
    # so one stream holds both; each line says which process wrote it (JSON: `process`).
    logformat.install(level, settings.logging.format)

    engine = Engine(build(settings, content))
    desk = engine.desk
    every = desk.settings.insight.every.total_seconds()
    refreshed = time.monotonic()
    conn.send((0, True, None, TALLY.drain()))  # building the desk counts nothing for a turn
    parent_gone = False
    # Replies sent to the parent that it has not said it read: if it dies now, they would
    # die with it, so they go to the outbox instead (at least once, never lost).
    unread: dict[int, tuple[Inbound, list[Outbound]]] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, ConnectionResetError):
            # The parent is gone and everything it sent has been handled. (A reset: it died
            # with our replies unread in its end of the pipe.)
            _keep_unread(desk, unread)
            return
        if message is None:
            return
        request, inbound = message
        if inbound is None:  # the parent read our reply to `request`
            unread.pop(request, None)
            continue
        # Known errors (`/kb`) change the matcher. The parent's insight job keeps its own
        # desk current; this keeps ours (one aggregate query when nothing changed).
        if time.monotonic() - refreshed >= every:
            known_errors.refresh(desk)
            refreshed = time.monotonic()
        answer = _answer(engine, request, inbound)
        if not parent_gone:
            # What this message counted travels with its answer: the app process owns the
            # numbers (an outage or a failure counts too).
            try:
                conn.send((*answer, TALLY.drain()))
                if answer[1]:
                    unread[request] = (inbound, answer[2])
                continue
            except OSError:  # killed: the messages it acked are still in our pipe
                parent_gone = True
                log.error("the app process is gone; replies go to the outbox")
                _keep_unread(desk, unread)
        if answer[1]:
            _keep(desk, inbound, answer[2])


def _answer(engine: Engine, request: int, inbound: Inbound) -> tuple[int, bool, Any]:
    """What goes back up the pipe for `request`: the replies, or why there are none."""
    # The turn's correlation id came with the Inbound: this process logs under it too.
    with logcontext.turn(inbound.correlation, person=inbound.person_id, event=inbound.event_id):
        try:
            return (request, True, engine.handle(inbound))
        except Unavailable as exc:
            # The database is down: the app process tries the message again (one line
            # here, no traceback; it says what it does about it).
            log.info("%s not handled now: %s", inbound.event_id, exc)
            return (request, False, exc)
        except Exception:
            log.exception("handling %s failed", inbound.event_id)
            return (request, False, traceback.format_exc())


def _keep_unread(desk: Desk, unread: dict[int, tuple[Inbound, list[Outbound]]]) -> None:
    """Queue the replies the dead parent never read (the outbox keys are the turns' own, so
    a reply it did send before dying is queued at most once more, never twice)."""
    for inbound, replies in unread.values():
        _keep(desk, inbound, replies)
    unread.clear()


def _keep(desk: Desk, inbound: Inbound, replies: list[Outbound]) -> None:
    """Queue a turn's replies in the outbox, with the turn's correlation id."""
    with logcontext.turn(inbound.correlation, person=inbound.person_id, event=inbound.event_id):
        origin = turn_origin(inbound.channel, inbound.event_id)
        keep_replies(desk.store, replies, origin=origin, now=desk.clock.now())
