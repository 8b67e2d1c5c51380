"""Slack says no (429, errors): messages are delayed, never dropped, and nothing sleeps."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import select

from bot.base.clock import FixedClock
from bot.base.messages import Address, Message, Outbound
from store.models import OutboxMessage
from tests.slack.conftest import TRIAGE, Driver


def outbox(slack: Driver) -> list[OutboxMessage]:
    with slack.desk.store.read() as session:
        return list(session.exec(select(OutboxMessage)).all())


async def test_rate_limited_reply_waits_for_retry_after_then_arrives(slack: Driver):
    clock = slack.desk.clock
    assert isinstance(clock, FixedClock)
    slack.fake.fail_next("chat.postMessage", retry_after=7)
    assert await slack.dm("U0ALICE", "hello") == 200
    assert [c.result for c in slack.fake.posts("D0ALICE")] == [{}]  # the 429

    [queued] = [m for m in outbox(slack) if m.status == "pending"]
    assert queued.conversation == "D0ALICE"
    assert queued.available_at == clock.now() + timedelta(seconds=7)
    assert await slack.flush() == 0  # not before Slack said so

    clock.advance(timedelta(seconds=7))
    assert await slack.flush() == 1
    assert "Hi Alice" in slack.last("D0ALICE").block_text()
    assert [m.status for m in outbox(slack)] == ["sent"]


async def test_rate_limited_triage_card_is_rescheduled_by_the_outbox(slack: Driver):
    clock = slack.desk.clock
    assert isinstance(clock, FixedClock)
    await slack.dm("U0BOB", "talk to a human")
    await slack.dm("U0BOB", "my monitor flickers")
    slack.fake.fail_next("chat.postMessage", retry_after=30)
    assert await slack.flush() == 0
    [card] = [m for m in outbox(slack) if m.conversation == TRIAGE]
    assert card.status == "pending" and card.available_at == clock.now() + timedelta(seconds=30)
    assert "rate limit" in (card.last_error or "")

    clock.advance(timedelta(seconds=30))
    assert await slack.flush() == 1
    assert "IT-1000" in slack.last(TRIAGE).block_text()


async def test_slack_outage_backs_off_and_a_dead_channel_is_given_up(slack: Driver):
    clock = slack.desk.clock
    assert isinstance(clock, FixedClock)
    slack.fake.fail_next("chat.postMessage", status=500, error="internal_error")
    await slack.dm("U0ALICE", "hello")
    [queued] = [m for m in outbox(slack) if m.status == "pending"]
    clock.advance(timedelta(minutes=1))
    assert await slack.flush() == 1  # the retry went through

    for _ in range(2):  # the direct reply, then the outbox's attempt
        slack.fake.fail_next("chat.postMessage", status=200, error="channel_not_found")
    await slack.dm("U0ALICE", "hello again")
    clock.advance(timedelta(minutes=1))
    await slack.flush()
    dead = [m for m in outbox(slack) if m.status == "dead"]
    assert len(dead) == 1 and "channel_not_found" in (dead[0].last_error or "")
    assert queued.id != dead[0].id


async def test_a_deleted_card_is_posted_again_instead_of_edited(slack: Driver):
    await slack.dm("U0BOB", "talk to a human")
    await slack.dm("U0BOB", "my monitor flickers")
    await slack.flush()
    card = slack.last(TRIAGE)
    slack.fake.delete_message(TRIAGE, card.result["ts"])
    await slack.press("U0DANA", card, "Claim")
    await slack.flush()
    cards = [c for c in slack.fake.posts(TRIAGE) if "thread_ts" not in c.params]
    assert len(cards) == 2 and "Dana Whitfield" in cards[-1].block_text()


async def test_a_broken_database_gets_an_apology_not_silence(slack: Driver):
    def rename(old: str, new: str) -> None:
        with slack.desk.store.begin() as session:
            session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))

    rename("processed_event", "processed_event_away")  # the engine's first statement fails
    try:
        body = slack.dm_event("U0ALICE", "I forgot my password")
        assert await slack.event(body) == 200
    finally:
        rename("processed_event_away", "processed_event")  # the PostgreSQL schema is shared
    assert "nothing was saved" in slack.last("D0ALICE").block_text()
    # Nothing was recorded, so Slack's redelivery of the same event is handled normally.
    await slack.event(body, retry=1)
    assert "Which account" in slack.last("D0ALICE").block_text()


async def test_a_picture_is_uploaded_under_its_message(slack: Driver, tmp_path):
    png = tmp_path / "weekly.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n fake chart")
    out = Outbound(
        Address("slack", "C0REPORTS:1795000000.000100"), Message("Weekly", image=str(png))
    )
    ref = await slack.channel.send(out)
    assert ref.startswith("C0REPORTS:")
    [uploaded] = slack.fake.files
    assert uploaded["channel"] == "C0REPORTS" and uploaded["thread_ts"] == "1795000000.000100"
    assert slack.fake.uploads[uploaded["id"]] == png.read_bytes()
