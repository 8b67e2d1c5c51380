"""The port every chat front end implements, and the keys that name a turn's replies."""

from __future__ import annotations

from typing import Protocol

from bot.base.messages import Outbound


class DeliveryError(Exception):
    """A send failed. `retry_after` (seconds) when the platform said when to retry;
    `permanent` when retrying cannot help (unknown chat, bot blocked)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Channel(Protocol):
    """A chat front end: something that can show an Outbound to a person."""

    name: str

    async def send(self, out: Outbound, *, edit: str | None = None) -> str | None:
        """Show `out`; with `edit`, replace that earlier message. Return the message's id."""
        ...


def turn_origin(channel: str, event_id: str | None) -> str:
    """Where a turn's replies come from ("slack:<event id>"): the adapter that delivers them
    and an engine process that has to queue them instead spell it the same way."""
    return f"{channel}:{event_id}"


def reply_key(origin: str, index: int) -> str:
    """The outbox idempotency key of a turn's `index`th reply (origin: "slack:<event id>")."""
    return f"reply:{origin}:{index}"
