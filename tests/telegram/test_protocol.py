"""Bot API duties: update_id dedupe (persisted), flood control and pacing without losing a
message, long messages split, edits that cannot happen, Telegram refusing our HTML."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.base.channel import DeliveryError
from bot.base.clock import FixedClock
from bot.base.messages import Address, Choice, Message, Outbound
from bot.desk import Desk
from store.models import OutboxMessage
from store.outbox import notify
from tests.telegram.conftest import TRIAGE, FakeTime, Harness, started
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_html import utf16_len

ALICE, BOB = 1001, 1002


def to(chat: int, person: str | None = None) -> Address:
    return Address("telegram", str(chat), person)


async def test_duplicate_update_is_handled_once_even_after_a_restart(
    tg: Harness, tg_desk: Desk, fake: FakeBotAPI
):
    update = fake.message_update(ALICE, "/status")
    await tg.deliver(update)
    await tg.deliver(update)
    await asyncio.gather(tg.deliver(update), tg.deliver(update))
    assert len(fake.in_chat(ALICE)) == 1

    # A new process (same database) must not answer it again either.
    other, harness = await started(tg_desk, fake)
    try:
        await harness.deliver(update)
    finally:
        await other.stop()
    assert len(fake.in_chat(ALICE)) == 1


async def test_duplicate_button_press_is_answered_once_and_acts_once(tg: Harness):
    fake = tg.fake
    prompt = (await tg.say(ALICE, "I forgot my password"))[-1]
    press = fake.press_update(ALICE, prompt, prompt.button("VPN"))
    await tg.deliver(press)
    shown = len(fake.in_chat(ALICE))
    await tg.deliver(press)
    assert len(fake.in_chat(ALICE)) == shown
    assert len(fake.calls_of("answerCallbackQuery")) == 1  # a second answer would be refused


async def test_retry_after_then_success_loses_nothing(
    tg_desk: Desk, fake: FakeBotAPI, clock: FixedClock
):
    time = FakeTime()
    channel, tg = await started(tg_desk, fake, monotonic=time.monotonic, sleep=time.sleep)
    try:
        fake.fail("sendMessage", retry_after=5)
        assert await tg.say(ALICE, "/start") == []  # 429: the reply went to the outbox
        with tg_desk.store.read() as session:
            [row] = session.exec(select(OutboxMessage)).all()
        assert (row.status, row.conversation) == ("pending", str(ALICE))

        # Too early: the chat is still under flood control, Telegram is not even asked.
        assert await tg.flush() == 0
        assert len(fake.calls_of("sendMessage")) == 1
        with tg_desk.store.read() as session:
            row = session.exec(select(OutboxMessage)).one()
        assert row.status == "pending" and row.available_at > clock.now()

        time.now += 6
        clock.advance(timedelta(seconds=6))
        assert await tg.flush() == 1
        [hello] = fake.in_chat(ALICE)
        assert hello.text.startswith("Hi Alice!")
        assert await tg.flush() == 0  # delivered exactly once
    finally:
        await channel.stop()


async def test_retry_after_midway_through_a_long_message_resumes_after_sent_parts(
    tg_desk: Desk, fake: FakeBotAPI
):
    time = FakeTime()
    channel, _tg = await started(tg_desk, fake, monotonic=time.monotonic, sleep=time.sleep)
    long = Outbound(
        to(ALICE, "alice"), Message(text="\n".join(f"line {i} " + "x" * 90 for i in range(100)))
    )
    try:
        fake.fail("sendMessage", retry_after=1, after=1)  # the second part is refused
        with pytest.raises(DeliveryError) as failed:
            await channel.send(long)
        assert failed.value.retry_after == 1
        assert len(fake.in_chat(ALICE)) == 1
        time.now += 1.5
        await channel.send(long)  # the outbox's retry
    finally:
        await channel.stop()
    parts = fake.in_chat(ALICE)
    assert len(parts) == 3  # the first part was not sent twice
    assert parts[0].text.startswith("line 0 ") and "line 99 " in parts[-1].text


async def test_long_message_is_split_with_balanced_html_and_buttons_last(
    tg: Harness, fake: FakeBotAPI
):
    body = "<b>" + " ".join(f"word{i}&amp;" for i in range(1000)) + "</b> end 👋"
    ref = await tg.channel.send(
        Outbound(to(ALICE), Message(text=body, choices=(Choice("OK", "m:ok"),)))
    )
    parts = fake.in_chat(ALICE)
    assert len(parts) >= 3
    assert all(utf16_len(p.text) <= 4096 for p in parts)
    assert all(p.html.startswith("<b>") for p in parts)  # bold re-opened after each cut
    assert [p.buttons for p in parts[:-1]] == [[]] * (len(parts) - 1)
    assert parts[-1].buttons == [("OK", "m:ok")]
    assert ref == f"{ALICE}:{parts[-1].message_id}"
    words = " ".join(p.text for p in parts).split()
    assert words[0] == "word0&" and words[999] == "word999&" and words[-1] == "👋"


async def test_edit_that_changes_nothing_or_lost_message(tg: Harness, fake: FakeBotAPI):
    out = Outbound(to(TRIAGE), Message(text="<b>IT-1</b> card"), key="card:IT-1")
    ref = await tg.channel.send(out)
    assert ref is not None
    assert await tg.channel.send(out, edit=ref) == ref  # "message is not modified" is fine
    gone = f"{TRIAGE}:9999"
    new_ref = await tg.channel.send(out, edit=gone)  # deleted meanwhile: sent anew
    assert new_ref != gone and len(fake.in_chat(TRIAGE)) == 2


async def test_html_refused_by_telegram_falls_back_to_plain_text(
    tg: Harness, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
):
    fake.fail("sendMessage", code=400, description="Bad Request: can't parse entities: oops")
    with caplog.at_level(logging.ERROR):
        await tg.channel.send(Outbound(to(ALICE), Message(text="<b>Hello</b> &amp; bye")))
    [shown] = fake.in_chat(ALICE)
    assert shown.text == "Hello & bye"
    assert "parse_mode" not in fake.calls_of("sendMessage")[-1].params
    assert "refused our HTML" in caplog.text


async def test_blocked_user_is_a_permanent_failure(tg: Harness, fake: FakeBotAPI):
    fake.blocked.add(BOB)
    with pytest.raises(DeliveryError) as failed:
        await tg.channel.send(Outbound(to(BOB), Message(text="hello")))
    assert failed.value.permanent


async def test_overlong_button_value_is_left_out_not_the_message(
    tg: Harness, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
):
    choices = (Choice("Fine", "m:ok"), Choice("Too long", "m:" + "x" * 80))
    with caplog.at_level(logging.ERROR):
        await tg.channel.send(Outbound(to(ALICE), Message(text="Pick", choices=choices)))
    [shown] = fake.in_chat(ALICE)
    assert shown.buttons == [("Fine", "m:ok")]
    assert "over 64 bytes" in caplog.text


async def test_buttons_without_text_still_show(tg: Harness, fake: FakeBotAPI):
    await tg.channel.send(Outbound(to(ALICE, "alice"), Message(choices=(Choice("A", "m:a"),))))
    [shown] = fake.in_chat(ALICE)
    assert shown.text == "Choose:" and shown.buttons == [("A", "m:a")]


async def test_image_is_uploaded_after_the_text(tg: Harness, fake: FakeBotAPI, tmp_path: Path):
    png = tmp_path / "report.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    await tg.channel.send(Outbound(to(ALICE), Message(text="Your report", image=str(png))))
    text, photo = fake.in_chat(ALICE)
    assert text.text == "Your report" and photo.photo
    sends = [c.method for c in fake.calls if c.method.startswith("send")]
    assert sends == ["sendMessage", "sendPhoto"]


async def test_pacing_private_chat_bursts_then_one_per_second(tg_desk: Desk, fake: FakeBotAPI):
    time = FakeTime()
    from bot.adapters.telegram import Pacing

    channel, _tg = await started(
        tg_desk, fake, pacing=Pacing(), monotonic=time.monotonic, sleep=time.sleep
    )
    try:
        for i in range(5):
            await channel.send(Outbound(to(ALICE), Message(text=f"message {i}")))
    finally:
        await channel.stop()
    assert [s.text for s in fake.in_chat(ALICE)] == [f"message {i}" for i in range(5)]
    assert time.slept == [1.0, 1.0]  # three at once, then one a second


async def test_pacing_group_twenty_per_minute_through_the_outbox(
    tg_desk: Desk, fake: FakeBotAPI, clock: FixedClock
):
    time = FakeTime()
    from bot.adapters.telegram import Pacing

    channel, tg = await started(
        tg_desk, fake, pacing=Pacing(), monotonic=time.monotonic, sleep=time.sleep
    )
    try:
        with tg_desk.store.begin() as session:
            for i in range(25):
                notify(
                    session=session,
                    to=to(TRIAGE),
                    message=Message(text=f"card {i}"),
                    idem_key=f"t{i}",
                    now=clock.now(),
                )
        assert await tg.flush() == 20  # then the group's minute is full: rescheduled
        with tg_desk.store.read() as session:
            waiting = session.exec(
                select(OutboxMessage).where(OutboxMessage.status == "pending")
            ).all()
        assert len(waiting) == 5  # none dead, none lost
        # A deferred card waits for the minute to pass (pacing said about 40 s more).
        assert max(w.available_at for w in waiting) >= clock.now() + timedelta(seconds=40)

        time.now += 60
        clock.advance(timedelta(seconds=60))
        assert await tg.flush() == 5
    finally:
        await channel.stop()
    assert [s.text for s in fake.in_chat(TRIAGE)] == [f"card {i}" for i in range(25)]


async def test_image_refused_once_is_retried_without_repeating_the_text(
    tg: Harness, fake: FakeBotAPI, tmp_path: Path
):
    png = tmp_path / "report.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    out = Outbound(to(ALICE), Message(text="Your report", image=str(png)))
    fake.fail("sendPhoto", code=502, description="Bad Gateway")
    with pytest.raises(DeliveryError) as failed:
        await tg.channel.send(out)
    assert not failed.value.permanent
    ref = await tg.channel.send(out)  # the outbox's retry
    text, photo = fake.in_chat(ALICE)
    assert text.text == "Your report" and photo.photo
    assert ref == f"{ALICE}:{text.message_id}"  # the text (and its buttons) is the reference
