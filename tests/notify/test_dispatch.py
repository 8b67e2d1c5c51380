"""The outbox dispatcher: retries, Retry-After, dead letters, order per conversation, leases."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.adapters.memory import MemoryChannel
from bot.base.channel import DeliveryError
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Address, Message, Outbound
from bot.desk import Desk
from notifications.dispatch import Dispatcher, DispatchPolicy, backoff
from notifications.replies import deliver_replies
from store import outbox
from store.models import OutboxMessage
from store.outbox import notify


def queue(desk: Desk, conversation: str, text: str, *, at: datetime | None = None) -> bool:
    with desk.store.begin() as session:
        return notify(
            session=session,
            to=Address("memory", conversation, conversation),
            message=Message(text=text),
            idem_key=f"test:{conversation}:{text}",
            now=desk.clock.now(),
            available_at=at,
        )


def shown(channel: MemoryChannel, conversation: str) -> list[str]:
    return [o.text for o in channel.in_conversation(conversation)]


def rows(desk: Desk) -> list[OutboxMessage]:
    with desk.store.read() as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def run(dispatcher: Dispatcher) -> int:
    return asyncio.run(dispatcher.run_once())


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff(30).total_seconds() == 600


def test_failed_send_is_retried_and_later_messages_never_overtake_it(desk: Desk, clock: FixedClock):
    channel = MemoryChannel("memory")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    queue(desk, "alice", "first")
    queue(desk, "alice", "second")
    queue(desk, "bob", "for bob")
    channel.failures = [DeliveryError("HTTP 503 from the chat API")]

    assert run(dispatcher) == 1  # bob's message; alice's first failed, second held back
    assert shown(channel, "bob") == ["for bob"]
    assert shown(channel, "alice") == []
    first, second, _ = rows(desk)
    assert first.attempts == 1 and first.available_at == clock.now() + timedelta(seconds=2)
    assert "503" in (first.last_error or "")
    assert second.attempts == 0 and second.status == "pending"  # given back untouched

    # A new round before the retry is due, with a third message queued meanwhile: the
    # conversation stays blocked behind its first message.
    queue(desk, "alice", "third")
    clock.advance(timedelta(seconds=1))
    assert run(dispatcher) == 0
    clock.advance(timedelta(seconds=1))
    assert run(dispatcher) == 3
    assert shown(channel, "alice") == ["first", "second", "third"]
    assert [r.status for r in rows(desk)] == ["sent"] * 4


def test_retry_after_is_honoured_pauses_the_channel_and_is_not_counted(
    make_desk, clock: FixedClock
):
    desk = make_desk(dispatch={"max_attempts": 2})
    channel = MemoryChannel("memory")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    queue(desk, "alice", "hello")
    queue(desk, "bob", "hi")
    for _ in range(5):  # five 429s in a row: more than max_attempts, still not a dead letter
        channel.failures = [DeliveryError("HTTP 429", retry_after=30)]
        assert run(dispatcher) == 0
        # The whole channel waits: bob's message was not even tried during the pause.
        assert channel.failures == []
        clock.advance(timedelta(seconds=29))
        assert run(dispatcher) == 0
        clock.advance(timedelta(seconds=1))
    assert run(dispatcher) == 2
    assert shown(channel, "alice") == ["hello"] and shown(channel, "bob") == ["hi"]


def test_dead_letter_after_max_attempts_alerts_admins_and_can_be_retried(
    make_desk, clock: FixedClock
):
    desk = make_desk(dispatch={"max_attempts": 3})
    channel, console = MemoryChannel("memory"), MemoryChannel("console")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel, "console": console})
    queue(desk, "alice", "doomed")
    channel.failures = [DeliveryError("HTTP 500")] * 3
    for _ in range(3):
        run(dispatcher)
        clock.advance(timedelta(minutes=1))
    doomed = rows(desk)[0]
    assert doomed.status == "dead" and doomed.attempts == 3
    # Priya is the admin; she never talked to the bot, so the alert reaches her console.
    run(dispatcher)
    [alert] = console.in_conversation("priya")
    assert f"dead letter #{doomed.id}" in to_plain(alert.text)
    assert "Alice Morgan" in to_plain(alert.text) and "HTTP 500" in to_plain(alert.text)

    # A dead letter does not block the conversation, and an admin can send it again.
    queue(desk, "alice", "later")
    run(dispatcher)
    assert shown(channel, "alice") == ["later"]
    with desk.store.begin() as session:
        assert outbox.requeue(session=session, message_ids=None, now=clock.now()) == 1
    run(dispatcher)
    assert shown(channel, "alice") == ["later", "doomed"]


def test_permanent_error_is_a_dead_letter_at_once(desk: Desk):
    channel = MemoryChannel("memory")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    queue(desk, "alice", "to a deleted chat")
    channel.failures = [DeliveryError("chat not found", permanent=True)]
    run(dispatcher)
    [row, alert] = rows(desk)
    assert row.status == "dead" and row.attempts == 1
    assert alert.idem_key.startswith("dead:") and alert.person_id == "priya"
    assert "chat not found" in to_plain(alert.payload["text"])


def test_age_limit_counts_from_the_first_attempt_not_from_queueing(make_desk, clock: FixedClock):
    desk = make_desk(dispatch={"give_up_after": "1d"})
    channel = MemoryChannel("memory")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    # Held back by quiet hours over a long weekend: first tried three days after queueing.
    queue(desk, "alice", "after the weekend", at=clock.now() + timedelta(days=3))
    clock.advance(timedelta(days=3))
    channel.failures = [DeliveryError("HTTP 502")]
    run(dispatcher)
    assert rows(desk)[0].status == "pending"
    clock.advance(timedelta(hours=23))
    channel.failures = [DeliveryError("HTTP 502")]
    run(dispatcher)
    assert rows(desk)[0].status == "pending"
    clock.advance(timedelta(hours=1))
    channel.failures = [DeliveryError("HTTP 502")]
    run(dispatcher)
    assert rows(desk)[0].status == "dead"  # a day of failures since the first attempt


def test_an_undeliverable_alert_is_not_alerted_about(desk: Desk):
    console = MemoryChannel("console")
    dispatcher = Dispatcher.for_desk(desk, {"memory": MemoryChannel("memory"), "console": console})
    dispatcher.channels["memory"].failures = [DeliveryError("gone", permanent=True)]  # type: ignore[attr-defined]
    queue(desk, "alice", "x")
    console.failures = [DeliveryError("admin chat gone too", permanent=True)]
    run(dispatcher)
    run(dispatcher)
    assert [r.status for r in rows(desk)] == ["dead", "dead"]  # no third row: no alert loop


def test_same_idempotency_key_queues_one_message(desk: Desk):
    assert queue(desk, "alice", "once") is True
    assert queue(desk, "alice", "once") is False
    assert len(rows(desk)) == 1


def test_adapter_bug_is_retried_not_lost(desk: Desk, clock: FixedClock):
    class Broken(MemoryChannel):
        calls = 0

        async def send(self, out: Outbound, *, edit: str | None = None) -> str:
            Broken.calls += 1
            if Broken.calls == 1:
                raise KeyError("blocks")
            return await super().send(out, edit=edit)

    channel = Broken("memory")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    queue(desk, "alice", "survives a bug")
    assert run(dispatcher) == 0
    assert "KeyError" in (rows(desk)[0].last_error or "")
    clock.advance(timedelta(seconds=2))
    assert run(dispatcher) == 1


def test_expired_lease_lets_another_replica_take_over_in_order(desk: Desk, clock: FixedClock):
    policy = DispatchPolicy(lease=timedelta(seconds=30))
    crashed = MemoryChannel("memory")
    survivor = MemoryChannel("memory")
    one = Dispatcher(desk.store, {"memory": crashed}, clock, worker="one", policy=policy)
    two = Dispatcher(desk.store, {"memory": survivor}, clock, worker="two", policy=policy)
    queue(desk, "alice", "a")
    queue(desk, "alice", "b")
    with desk.store.begin() as session:  # replica one claims, then dies before sending
        claimed = outbox.claim_due(
            session=session, worker="one", now=clock.now(), lease=policy.lease, channels=["memory"]
        )
    assert [r.id for r in claimed] == [1, 2]
    assert run(two) == 0  # leased: nobody else may send them yet
    clock.advance(timedelta(seconds=31))
    assert run(two) == 2
    assert shown(survivor, "alice") == ["a", "b"]
    assert run(one) == 0 and crashed.shown == []


def test_a_message_scheduled_for_later_does_not_hold_back_later_ones(desk: Desk, clock: FixedClock):
    channel = MemoryChannel("memory")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    queue(desk, "alice", "tomorrow morning", at=clock.now() + timedelta(hours=20))
    queue(desk, "alice", "urgent now")
    assert run(dispatcher) == 1
    assert shown(channel, "alice") == ["urgent now"]
    clock.advance(timedelta(hours=20))
    assert run(dispatcher) == 1
    assert shown(channel, "alice") == ["urgent now", "tomorrow morning"]


class OutageChannel(MemoryChannel):
    """A chat API that answers 503 and 429 until `until` on the test's clock."""

    def __init__(self, clock: FixedClock, until: datetime) -> None:
        super().__init__("memory")
        self.clock, self.until, self.refused = clock, until, 0

    async def send(self, out: Outbound, *, edit: str | None = None) -> str:
        if self.clock.now() < self.until:
            self.refused += 1
            if self.refused % 3 == 0:
                raise DeliveryError("HTTP 429 Too Many Requests", retry_after=20)
            raise DeliveryError("HTTP 503 Service Unavailable")
        return await super().send(out, edit=edit)


def test_chat_api_down_for_minutes_then_everything_arrives_in_order(desk: Desk, clock: FixedClock):
    start = clock.now()
    channel = OutageChannel(clock, until=start + timedelta(minutes=12))
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    people = ["alice", "bob", "wang.fang"]
    expected: dict[str, list[str]] = {p: [] for p in people}
    step = 0
    while clock.now() < start + timedelta(minutes=15):  # messages keep coming meanwhile
        person = people[step % 3]
        text = f"{person} #{len(expected[person])}"
        queue(desk, person, text)
        expected[person].append(text)
        run(dispatcher)
        clock.advance(timedelta(seconds=10))
        step += 1
    with desk.store.read() as session:
        assert outbox.pending_count(session=session) > 0
    while clock.now() < start + timedelta(minutes=40):
        run(dispatcher)
        with desk.store.read() as session:
            if outbox.pending_count(session=session) == 0:
                break
        clock.advance(timedelta(seconds=10))
    assert channel.refused > 20
    for person in people:
        assert shown(channel, person) == expected[person]
    assert {r.status for r in rows(desk)} == {"sent"}


def test_a_reply_the_adapter_could_not_send_keeps_its_place(desk: Desk, clock: FixedClock):
    channel = MemoryChannel("memory")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    replies = [
        Outbound(Address("memory", "alice", "alice"), Message(text=t)) for t in ("one", "two")
    ]
    channel.failures = [DeliveryError("HTTP 429", retry_after=30)]
    asyncio.run(deliver_replies(channel, replies, store=desk.store, now=clock.now(), origin="ev-1"))
    first = rows(desk)[0]
    assert first.attempts == 1 and "429" in (first.last_error or "")
    # Had it been queued to wait out the Retry-After, a notice queued after it still waits.
    with desk.store.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == first.id)
            .values(available_at=clock.now() + timedelta(seconds=30))
        )
    queue(desk, "alice", "three")
    assert run(dispatcher) == 0
    clock.advance(timedelta(seconds=30))
    assert run(dispatcher) == 3
    assert shown(channel, "alice") == ["one", "two", "three"]
