"""The port every chat front end implements, and delivery that never drops a reply."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session

from bot.messages import Outbound
from notifications.outbox import notify
from store.db import Store

log = logging.getLogger(__name__)


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


def queue_reply(
    session: Session,
    out: Outbound,
    *,
    origin: str,
    index: int,
    now: datetime,
    available_at: datetime | None = None,
    failed_with: str | None = None,
) -> None:
    """Put a turn's reply in the outbox (once: the key is the turn's origin and index)."""
    notify(
        session=session,
        to=out.to,
        message=out.message,
        idem_key=reply_key(origin, index),
        now=now,
        key=out.key,
        available_at=available_at,
        failed_with=failed_with,
    )


def keep_replies(store: Store, replies: list[Outbound], *, origin: str, now: datetime) -> None:
    """Queue every reply of a turn in the outbox, for when nobody is there to send them now."""
    with store.begin() as session:
        for i, out in enumerate(replies):
            queue_reply(session, out, origin=origin, index=i, now=now)


async def deliver_replies(
    channel: Channel, replies: list[Outbound], *, store: Store, now: datetime, origin: str
) -> None:
    """Send replies now; any that fail go to the outbox so they are delayed, not lost.

    Later replies to the same conversation follow a failed one into the outbox so the
    person still reads them in order.
    """
    queued_from: int | None = None
    available_at = now
    failure = ""
    for i, out in enumerate(replies):
        if queued_from is None:
            try:
                await channel.send(out)
                continue
            except DeliveryError as exc:
                log.warning("reply to %s failed (%s); queued for retry", out.to.conversation, exc)
                queued_from, failure = i, str(exc)
                if exc.retry_after:  # the platform said when: do not retry before then
                    available_at = now + timedelta(seconds=exc.retry_after)
        with store.begin() as session:
            queue_reply(
                session,
                out,
                origin=origin,
                index=i,
                now=now,
                available_at=available_at,
                # Counted as tried, so the dispatcher keeps the conversation behind it.
                failed_with=failure if i == queued_from else None,
            )
