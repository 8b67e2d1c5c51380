"""The terminal as a chat channel: `deskbot chat --as PERSON` (and `deskbot serve` without tokens).

Piped stdin: one message per line, replies as plain text, choices numbered so they can be
answered by number or by text. On a TTY the same conversation is rendered with rich, and
messages from other people (a technician replying from another console) appear as they
arrive.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from rich.console import Console
from rich.text import Text

from bot.base import logcontext
from bot.base.markup import to_plain, tokens
from bot.base.messages import Choice, Inbound, Outbound
from bot.chat.engine import Engine
from bot.desk import Desk
from notifications.dispatch import Dispatcher

log = logging.getLogger(__name__)

STYLES = {
    "b": "bold",
    "i": "italic",
    "u": "underline",
    "s": "strike",
    "code": "cyan",
    "pre": "cyan",
}


def render_plain(out: Outbound) -> str:
    """An Outbound as plain text lines."""
    msg = out.message
    lines: list[str] = []
    if msg.text:
        lines.append(to_plain(msg.text))
    if msg.card is not None:
        card = msg.card
        lines.append(f"[{card.number}] {card.title}")
        lines.append("  " + " · ".join(f"{f.label}: {f.value}" for f in card.fields))
    if msg.progress:
        lines.append(f"({msg.progress})")
    for i, choice in enumerate(msg.choices, 1):
        lines.append(f"  {i}) {choice.label}")
    if msg.image:
        lines.append(f"[image: {msg.image}]")
    lines += [f"[file: {f.name}, kept as {f.path}]" for f in msg.files]
    return "\n".join(lines)


def render_rich(out: Outbound) -> Text:
    msg = out.message
    text = Text()
    styles: list[str] = []
    for tok in tokens(msg.text):
        if tok.kind == "open":
            styles.append(STYLES.get(tok.tag, "underline blue" if tok.tag == "a" else ""))
        elif tok.kind == "close" and styles:
            styles.pop()
        elif tok.kind == "text":
            text.append(tok.text, style=" ".join(s for s in styles if s))
    if msg.card is not None:
        text.append(f"\n┌ {msg.card.number} ", style="bold magenta")
        text.append(msg.card.title, style="bold")
        for f in msg.card.fields:
            text.append(f"\n│ {f.label}: ", style="dim")
            text.append(f.value)
    if msg.progress:
        text.append(f"\n{msg.progress}", style="dim")
    for i, choice in enumerate(msg.choices, 1):
        text.append(f"\n  {i}) ", style="bold cyan")
        text.append(choice.label)
    return text


class ConsoleChannel:
    """Prints messages for one person; remembers the last choices for numbered answers."""

    name = "console"

    def __init__(self, write: Callable[[Outbound], None]) -> None:
        self._write = write
        self.last_choices: tuple[Choice, ...] = ()
        self._ids = itertools.count(1)

    async def send(self, out: Outbound, *, edit: str | None = None) -> str:
        self._write(out)
        if out.message.choices:
            self.last_choices = out.message.choices
        return edit or f"console-{next(self._ids)}"

    def to_inbound(self, person: str, line: str, event_id: str) -> Inbound:
        """A typed line; a bare number picks that option of the last message with choices."""
        stripped = line.strip()
        choices, self.last_choices = self.last_choices, ()
        if stripped.isascii() and stripped.isdigit() and 1 <= int(stripped) <= len(choices):
            return Inbound(
                "console",
                person,
                person,
                action=choices[int(stripped) - 1].value,
                event_id=event_id,
            )
        return Inbound("console", person, person, text=stripped, event_id=event_id)


class ConsoleSession:
    def __init__(
        self,
        desk: Desk,
        engine: Engine,
        person: str,
        stdout: TextIO,
        *,
        fancy: bool,
        chores: Callable[[], object] | None = None,
    ) -> None:
        self.desk = desk
        # Work `deskbot serve`'s scheduler would do, done before each delivery when the
        # console runs alone (`deskbot chat`): building the `/report`s people asked for.
        self.chores = chores
        self.engine = engine
        self.person = person
        self.stdout = stdout
        self.rich = Console(file=stdout, highlight=False) if fancy else None
        self.channel = ConsoleChannel(self._print)
        self._events = itertools.count(1)
        self.dispatcher = Dispatcher.for_desk(desk, {"console": self.channel}, conversation=person)

    def _print(self, out: Outbound) -> None:
        if self.rich is not None:
            self.rich.print(Text("bot> ", style="bold green") + render_rich(out))
        else:
            self.stdout.write(render_plain(out) + "\n")
            self.stdout.flush()

    def _event_id(self) -> str:
        # Unique per process run, so two consoles never collide on the dedupe table.
        return f"console:{self.person}:{id(self)}:{next(self._events)}"

    async def handle_line(self, line: str) -> None:
        if not line.strip():
            return
        event_id = self._event_id()
        with logcontext.turn(person=self.person, event=event_id) as correlation:
            log.info("console: line %s received", event_id)
            inbound = self.channel.to_inbound(self.person, line, event_id)
            inbound = replace(inbound, correlation=correlation)
            replies = await asyncio.to_thread(self.engine.handle, inbound)
            for out in replies:
                await self.channel.send(out)
        await self.deliver()

    async def deliver(self) -> None:
        if self.chores is not None:
            await asyncio.to_thread(self.chores)
        while await self.dispatcher.run_once():
            pass


async def run_piped(session: ConsoleSession, stdin: TextIO) -> int:
    await session.deliver()  # what arrived while this person was away comes first
    # Read on a thread: waiting for the next line must not stop the loop, which also runs
    # the scheduler and the health endpoints.
    while line := await asyncio.to_thread(stdin.readline):
        await session.handle_line(line.rstrip("\n"))
    await session.deliver()
    return 0


async def run_interactive(session: ConsoleSession) -> int:
    assert session.rich is not None
    person = session.desk.directory.get(session.person)
    session.rich.print(
        Text(
            f"deskbot · you are {person.name if person else session.person} · Ctrl-D to quit",
            style="dim",
        )
    )

    async def poll() -> None:
        while True:
            await session.deliver()
            await asyncio.sleep(1.0)

    poller = asyncio.create_task(poll())
    lines = _Typed(session.rich)
    try:
        while (line := await lines.next()) is not None:
            await session.handle_line(line)
    except KeyboardInterrupt:
        pass
    finally:
        poller.cancel()
    return 0


class _Typed:
    """Lines typed at the prompt, read by a daemon thread.

    Not `asyncio.to_thread`: on Ctrl-C the event loop's shutdown waits for its worker
    threads, and one sitting in `input()` returns only when Enter is pressed. Nothing waits
    for a daemon thread. The prompt is shown only once the line before has been answered.
    """

    def __init__(self, console: Console) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.asked = threading.Semaphore(0)
        self.console = console
        threading.Thread(target=self._read, name="console-input", daemon=True).start()

    async def next(self) -> str | None:
        """The next line; None at end of input (Ctrl-D)."""
        self.asked.release()
        return await self.queue.get()

    def _read(self) -> None:
        while True:
            self.asked.acquire()
            try:
                line: str | None = self.console.input("[bold]you> [/]")
            except (EOFError, KeyboardInterrupt, OSError):
                line = None
            self.loop.call_soon_threadsafe(self.queue.put_nowait, line)
            if line is None:
                return


def run_console(
    desk: Desk,
    engine: Engine,
    person: str,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    chores: Callable[[], object] | None = None,
) -> int:
    """Chat as `person` in the terminal until end of input."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    fancy = stdin.isatty() and stdout.isatty()
    session = ConsoleSession(desk, engine, person, stdout, fancy=fancy, chores=chores)
    if fancy:
        return asyncio.run(run_interactive(session))
    return asyncio.run(run_piped(session, stdin))
