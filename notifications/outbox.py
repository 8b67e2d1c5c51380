"""Queue a message for later delivery in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.messages import Address, Message
from store import outbox


def notify(
    *,
    session: Session,
    to: Address,
    message: Message,
    idem_key: str,
    now: datetime,
    key: str | None = None,
    available_at: datetime | None = None,
    failed_with: str | None = None,
) -> bool:
    """Write `message` for `to` into the outbox; a repeated idem_key is a no-op.

    `failed_with`: it was tried once already (a reply whose send failed), and why."""
    return outbox.enqueue(
        session=session,
        idem_key=idem_key,
        channel=to.channel,
        conversation=to.conversation,
        person_id=to.person_id,
        payload=message.to_dict(),
        now=now,
        ref_key=key,
        available_at=available_at,
        failed_with=failed_with,
    )
