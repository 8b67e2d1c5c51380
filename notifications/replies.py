"""Delivery that never drops a reply: what cannot be sent now waits in the outbox."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.base.channel import Channel, DeliveryError, reply_key
from bot.base.messages import Outbound
from store.db import Store
from store.outbox import notify

log = logging.getLogger(__name__)


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
