"""An in-memory chat service for tests: several people talking to the real engine and store."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from bot.base.channel import DeliveryError
from bot.base.messages import Inbound, Outbound
from bot.chat.engine import Engine
from bot.desk import Desk
from notifications.dispatch import Dispatcher


@dataclass
class Shown:
    """A message as the person currently sees it (edits replace it in place)."""

    ref: str
    out: Outbound
    edits: int = 0


class MemoryChannel:
    """Records what the bot shows; can be told to fail the next sends."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.shown: list[Shown] = []
        self.failures: list[DeliveryError] = []
        self._ids = itertools.count(1)

    async def send(self, out: Outbound, *, edit: str | None = None) -> str:
        if self.failures:
            raise self.failures.pop(0)
        if edit is not None:
            for item in self.shown:
                if item.ref == edit:
                    item.out = out
                    item.edits += 1
                    return edit
        ref = f"{self.name}-{next(self._ids)}"
        self.shown.append(Shown(ref, out))
        return ref

    def in_conversation(self, conversation: str) -> list[Outbound]:
        return [s.out for s in self.shown if s.out.to.conversation == conversation]

    async def receiving(self) -> str | None:
        return None  # nothing to connect to


class MemoryChat:
    """Drive the engine as chat users would: `say`, `press`, then read what each one sees.

    Messages to other people go through the real outbox and dispatcher (`flush`).
    """

    def __init__(
        self,
        desk: Desk,
        engine: Engine | None = None,
        channels: Iterable[str] = ("memory", "console", "slack", "telegram"),
    ) -> None:
        self.desk = desk
        self.engine = engine or Engine(desk)
        self.channels = {name: MemoryChannel(name) for name in channels}
        self.dispatcher = Dispatcher.for_desk(desk, self.channels)
        self._events = itertools.count(1)

    def send(self, inbound: Inbound, *, flush: bool = True) -> list[Outbound]:
        replies = self.engine.handle(inbound)
        channel = self.channels[inbound.channel]
        for out in replies:
            asyncio.run(channel.send(out))
        if flush:
            self.flush()
        return replies

    def say(
        self,
        person: str,
        text: str,
        *,
        conversation: str | None = None,
        channel: str = "memory",
        event_id: str | None = None,
    ) -> list[Outbound]:
        """`person` types `text`; returns the bot's direct replies."""
        return self.send(
            Inbound(
                channel,
                conversation or person,
                person,
                text=text,
                event_id=event_id or f"ev-{next(self._events)}",
            )
        )

    def press(
        self, person: str, value: str, *, conversation: str | None = None, channel: str = "memory"
    ) -> list[Outbound]:
        """`person` presses the button whose value is `value`."""
        return self.send(
            Inbound(
                channel,
                conversation or person,
                person,
                action=value,
                event_id=f"ev-{next(self._events)}",
            )
        )

    def flush(self) -> int:
        """Deliver every due outbox message; returns how many were sent."""
        total = 0
        while True:
            sent = asyncio.run(self.dispatcher.run_once())
            total += sent
            if sent == 0:
                return total

    def seen_by(self, conversation: str, channel: str = "memory") -> list[Outbound]:
        """Everything shown in a conversation (replies and notifications), in order."""
        return self.channels[channel].in_conversation(conversation)
