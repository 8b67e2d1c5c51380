"""Deliver outbox messages through their channels, with leases, retries and dead letters.

One round: claim due rows (store/outbox.py keeps each conversation in order and never hands
the same row to two replicas), send them, one conversation after another within a group and
several conversations in parallel, and record each result at once. A failed send is retried
with exponential backoff, or after the platform's Retry-After; rate limits do not count as
attempts. After `max_attempts` (or `give_up_after`) the message becomes a dead letter and the
admins are told. A message is never dropped silently: dead letters stay in the table and
`deskbot outbox retry` sends them again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.addresses import home_address
from bot.base import logcontext
from bot.base.channel import Channel, DeliveryError
from bot.base.clock import Clock
from bot.base.config import DispatchSettings
from bot.base.messages import Address, Message, Outbound
from bot.base.metrics import OUTBOX_DEAD, OUTBOX_RETRIES, OUTBOX_SENT, TALLY
from bot.desk import Desk
from store import outbox
from store.db import Store
from store.models import OutboxMessage
from store.outbox import notify

log = logging.getLogger(__name__)

DeadHandler = Callable[[Session, OutboxMessage, datetime], None]
# Whether a person id names someone who left: their messages are withheld, never sent.
Gone = Callable[[str | None], bool]
DEAD_PREFIX = "dead:"  # idem keys of dead-letter alerts (an alert is never alerted about)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def backoff(attempt: int, *, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Exponential backoff: base, 2*base, 4*base ... capped (2 s, 4 s, 8 s ... 10 min)."""
    return timedelta(seconds=min(cap, base * 2 ** (max(1, attempt) - 1)))


@dataclass(frozen=True)
class DispatchPolicy:
    """How hard to try: lease length, attempts, backoff, age limit, batch and parallelism."""

    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 12
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_cap: timedelta = timedelta(minutes=10)
    give_up_after: timedelta = timedelta(days=2)
    batch: int = 50
    concurrency: int = 4

    @classmethod
    def from_settings(cls, s: DispatchSettings) -> DispatchPolicy:
        return cls(
            lease=s.lease,
            max_attempts=s.max_attempts,
            backoff_base=s.backoff_base,
            backoff_cap=s.backoff_cap,
            give_up_after=s.give_up_after,
            batch=s.batch,
            concurrency=s.concurrency,
        )

    def delay(self, attempt: int) -> timedelta:
        return backoff(
            attempt,
            base=self.backoff_base.total_seconds(),
            cap=self.backoff_cap.total_seconds(),
        )


@dataclass
class _Round:
    """Bookkeeping of one dispatch round."""

    sent: int = 0
    paused: dict[str, datetime] = field(default_factory=dict)


class Dispatcher:
    """Claims due outbox rows for the channels this process serves and sends them."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        lease: timedelta | None = None,
        max_attempts: int | None = None,
        conversation: str | None = None,
        worker: str | None = None,
        policy: DispatchPolicy | None = None,
        on_dead: DeadHandler | None = None,
        gone: Gone | None = None,
    ) -> None:
        policy = policy or DispatchPolicy()
        if lease is not None or max_attempts is not None:
            policy = DispatchPolicy(
                lease=lease or policy.lease,
                max_attempts=max_attempts or policy.max_attempts,
                backoff_base=policy.backoff_base,
                backoff_cap=policy.backoff_cap,
                give_up_after=policy.give_up_after,
                batch=policy.batch,
                concurrency=policy.concurrency,
            )
        self.store = store
        self.channels = channels
        self.clock = clock
        self.policy = policy
        self.conversation = conversation
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.on_dead = on_dead
        self.gone = gone
        # Channel-wide pause after a 429 (the platform's limit is usually per bot, not per chat).
        self.paused_until: dict[str, datetime] = {}

    @classmethod
    def for_desk(
        cls,
        desk: Desk,
        channels: Mapping[str, Channel],
        *,
        conversation: str | None = None,
        worker: str | None = None,
    ) -> Dispatcher:
        """A dispatcher set up from `notifications.dispatch`; dead letters alert the admins,
        and messages to someone who left (by the desk's directory at sending time) are
        withheld."""
        return cls(
            desk.store,
            channels,
            desk.clock,
            conversation=conversation,
            worker=worker,
            policy=DispatchPolicy.from_settings(desk.settings.notifications.dispatch),
            on_dead=alert_admins(desk),
            gone=left_the_desk(desk),
        )

    @property
    def lease(self) -> timedelta:
        return self.policy.lease

    @property
    def max_attempts(self) -> int:
        return self.policy.max_attempts

    async def run_once(self, limit: int | None = None) -> int:
        """One round: claim, send, record. Returns how many messages were sent."""
        now = self.clock.now()
        serving = [c for c in self.channels if self.paused_until.get(c, _EPOCH) <= now]
        with self.store.begin() as session:
            rows = outbox.claim_due(
                session=session,
                worker=self.worker,
                now=now,
                lease=self.policy.lease,
                channels=serving,
                conversation=self.conversation,
                limit=limit or self.policy.batch,
            )
        if not rows:
            return 0
        groups: dict[tuple[str, str], list[OutboxMessage]] = {}
        for row in rows:
            groups.setdefault((row.channel, row.conversation), []).append(row)
        state = _Round()
        gate = asyncio.Semaphore(self.policy.concurrency)

        async def run(group: list[OutboxMessage]) -> None:
            async with gate:
                await self._send_group(group, state)

        await asyncio.gather(*(run(g) for g in groups.values()))
        return state.sent

    async def _send_group(self, rows: list[OutboxMessage], state: _Round) -> None:
        """Send one conversation's messages in order; stop at the first failure."""
        for i, row in enumerate(rows):
            assert row.id is not None
            now = self.clock.now()
            stop = self.paused_until.get(row.channel, _EPOCH) > now or (
                # Our lease is running out: another replica may take these rows soon.
                row.locked_until is not None and now >= row.locked_until - self.policy.lease / 4
            )
            if stop:
                self._release(rows[i:])
                return
            if self.gone is not None and self.gone(row.person_id):
                self._withhold(row)
                continue
            # Logged under the turn that queued it, whenever and wherever it is sent.
            with logcontext.turn(row.correlation_id, person=row.person_id, ticket=row.ticket):
                if not await self._send_one(row):
                    self._release(rows[i + 1 :])
                    return
            state.sent += 1

    async def _send_one(self, row: OutboxMessage) -> bool:
        """Send `row` and record how it went; False when it was not sent."""
        try:
            ref_id = await self.channels[row.channel].send(
                self._outbound(row), edit=self._edit_ref(row)
            )
        except DeliveryError as exc:
            self._failed(row, exc)
            return False
        except Exception as exc:  # a bug in an adapter must not stall the others
            log.exception("sending outbox message %s raised", row.id)
            self._failed(row, DeliveryError(f"{type(exc).__name__}: {exc}"))
            return False
        self._sent(row, ref_id)
        TALLY.count(OUTBOX_SENT, row.channel)
        log.info(
            "outbox message %s sent to %s:%s (attempt %d)",
            row.id,
            row.channel,
            row.conversation,
            row.attempts,
        )
        return True

    @staticmethod
    def _outbound(row: OutboxMessage) -> Outbound:
        return Outbound(
            Address(row.channel, row.conversation, row.person_id),
            Message.from_dict(row.payload),
            row.ref_key,
        )

    def _edit_ref(self, row: OutboxMessage) -> str | None:
        if not row.ref_key:
            return None
        with self.store.read() as session:
            ref = outbox.find_ref(
                session=session,
                channel=row.channel,
                key=row.ref_key,
                conversation=row.conversation,
            )
            return ref.ref if ref else None

    def _sent(self, row: OutboxMessage, ref_id: str | None) -> None:
        assert row.id is not None
        now = self.clock.now()
        with self.store.begin() as session:
            outbox.mark_sent(session=session, message_id=row.id, now=now)
            if row.ref_key and ref_id:
                outbox.remember_ref(
                    session=session,
                    channel=row.channel,
                    key=row.ref_key,
                    conversation=row.conversation,
                    ref=ref_id,
                    now=now,
                )

    def _withhold(self, row: OutboxMessage) -> None:
        assert row.id is not None and row.person_id is not None
        with self.store.begin() as session:
            outbox.withhold(
                session=session,
                person_ids=[row.person_id],
                reason="not sent: the person has left",
                message_id=row.id,
            )
        log.info("outbox message %s withheld: its person has left", row.id)

    def _release(self, rows: list[OutboxMessage]) -> None:
        if not rows:
            return
        with self.store.begin() as session:
            for row in rows:
                assert row.id is not None
                outbox.release(session=session, message_id=row.id)

    def _failed(self, row: OutboxMessage, exc: DeliveryError) -> None:
        assert row.id is not None
        now = self.clock.now()
        policy = self.policy
        too_old = now - (row.first_attempt_at or row.created_at) >= policy.give_up_after
        row.last_error = str(exc)  # what the dead-letter alert reports
        with self.store.begin() as session:
            if (
                exc.permanent
                or too_old
                or (exc.retry_after is None and row.attempts >= policy.max_attempts)
            ):
                log.error(
                    "outbox message %s to %s:%s is a dead letter after %s attempts: %s",
                    row.id,
                    row.channel,
                    row.conversation,
                    row.attempts,
                    exc,
                )
                outbox.mark_dead(session=session, message_id=row.id, error=str(exc))
                TALLY.count(OUTBOX_DEAD, row.channel)
                if self.on_dead is not None:
                    self.on_dead(session, row, now)
                return
            if exc.retry_after is not None:
                retry_at = now + timedelta(seconds=max(0.0, exc.retry_after))
                self.paused_until[row.channel] = max(
                    retry_at, self.paused_until.get(row.channel, _EPOCH)
                )
                log.warning("%s rate limited; retrying after %ss", row.channel, exc.retry_after)
                TALLY.count(OUTBOX_RETRIES, row.channel, "rate_limited")
                outbox.retry_later(
                    session=session,
                    message_id=row.id,
                    error=str(exc),
                    retry_at=retry_at,
                    counted=False,
                )
            else:
                TALLY.count(OUTBOX_RETRIES, row.channel, "error")
                retry_at = now + policy.delay(row.attempts)
                log.warning(
                    "outbox message %s failed (attempt %d); trying again at %s: %s",
                    row.id,
                    row.attempts,
                    retry_at.isoformat(timespec="seconds"),
                    exc,
                )
                outbox.retry_later(
                    session=session, message_id=row.id, error=str(exc), retry_at=retry_at
                )


def left_the_desk(desk: Desk) -> Gone:
    """Whether a person id names someone the desk's directory (as it is now) has as gone."""

    def gone(person_id: str | None) -> bool:
        person = desk.directory.get(person_id)
        return person is not None and not person.active

    return gone


def alert_admins(desk: Desk) -> DeadHandler:
    """Tell the admins (or `notifications.dead_letters_to`) about a dead letter, in the same
    transaction that marks it dead."""

    def on_dead(session: Session, row: OutboxMessage, now: datetime) -> None:
        if row.idem_key.startswith(DEAD_PREFIX):
            return  # an undeliverable alert is logged only: alerting about it could loop
        wanted = desk.settings.notifications.dead_letters_to
        people = (
            [p for p in (desk.directory.present(pid) for pid in wanted) if p is not None]
            if wanted
            else desk.directory.admins()
        )
        recipient = desk.directory.get(row.person_id)
        for admin in people:
            text = desk.texts.render(
                admin.language,
                "notices.dead_letter",
                id=row.id,
                who=recipient.name if recipient else row.conversation,
                channel=row.channel,
                attempts=row.attempts,
                error=(row.last_error or "")[:300],
            )
            notify(
                session=session,
                to=home_address(desk, session, admin),
                message=Message(text=text),
                idem_key=f"{DEAD_PREFIX}{row.id}:{admin.id}",
                now=now,
            )

    return on_dead
