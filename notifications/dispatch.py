"""Deliver outbox messages through their channels, with leases, retries and backoff."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from datetime import timedelta

from bot.channel import Channel, DeliveryError
from bot.clock import Clock
from bot.messages import Address, Message, Outbound
from store import outbox
from store.db import Store

log = logging.getLogger(__name__)


def backoff(attempt: int, *, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Exponential backoff: 2 s, 4 s, 8 s ... capped at ten minutes."""
    return timedelta(seconds=min(cap, base ** max(1, attempt)))


class Dispatcher:
    """Claims due outbox rows for the channels this process serves and sends them."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 10,
        conversation: str | None = None,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.lease = lease
        self.max_attempts = max_attempts
        self.conversation = conversation
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"

    async def run_once(self, limit: int = 50) -> int:
        """One round: claim, send, record. Returns how many messages were sent."""
        now = self.clock.now()
        with self.store.begin() as session:
            rows = outbox.claim_due(
                session=session,
                worker=self.worker,
                now=now,
                lease=self.lease,
                channels=list(self.channels),
                conversation=self.conversation,
                limit=limit,
            )
        sent = 0
        blocked: set[tuple[str, str]] = set()  # keep per-conversation order after a failure
        for row in rows:
            assert row.id is not None
            target = (row.channel, row.conversation)
            if target in blocked:
                with self.store.begin() as session:
                    outbox.release(session=session, message_id=row.id)
                continue
            channel = self.channels[row.channel]
            out = Outbound(
                Address(row.channel, row.conversation, row.person_id),
                Message.from_dict(row.payload),
                row.ref_key,
            )
            try:
                edit = None
                if row.ref_key:
                    with self.store.read() as session:
                        ref = outbox.find_ref(session=session, channel=row.channel, key=row.ref_key)
                        edit = ref.ref if ref and ref.conversation == row.conversation else None
                ref_id = await channel.send(out, edit=edit)
            except DeliveryError as exc:
                blocked.add(target)
                await self._failed(row.id, row.attempts, exc)
                continue
            with self.store.begin() as session:
                outbox.mark_sent(session=session, message_id=row.id, now=self.clock.now())
                if row.ref_key and ref_id:
                    outbox.remember_ref(
                        session=session,
                        channel=row.channel,
                        key=row.ref_key,
                        conversation=row.conversation,
                        ref=ref_id,
                        now=self.clock.now(),
                    )
            sent += 1
        return sent

    async def _failed(self, message_id: int, attempts: int, exc: DeliveryError) -> None:
        now = self.clock.now()
        if exc.permanent or attempts >= self.max_attempts:
            retry_at = None
            log.error("outbox message %s dead after %s attempts: %s", message_id, attempts, exc)
        elif exc.retry_after is not None:
            retry_at = now + timedelta(seconds=exc.retry_after)
        else:
            retry_at = now + backoff(attempts)
        with self.store.begin() as session:
            outbox.mark_failed(
                session=session, message_id=message_id, error=str(exc), retry_at=retry_at
            )
