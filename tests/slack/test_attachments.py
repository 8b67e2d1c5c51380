"""Files on Slack, through slack-bolt and slack_sdk against the fake Slack: a file shared in
the DM or a ticket's thread is downloaded with the bot token and kept with the ticket; a
technician gets it back in their DM by the files.upload v2 flow."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from bot.adapters.slack import SlackChannel
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.chat.engine import Engine
from store import attachments as files_repo
from store import tickets as repo
from store.models import OutboxMessage
from tests.desks import build_desk
from tests.s3server import (
    SECRET,
    S3Server,
    s3_config,
)
from tests.slack.conftest import TRIAGE, Driver, slack_settings
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_staff import open_password_ticket

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16
LOG = b"09:00 vpn handshake failed\n" * 100


def with_files(body: dict[str, Any], *files: dict[str, Any]) -> dict[str, Any]:
    body["event"].update(subtype="file_share", files=list(files))
    return body


def kept(slack: Driver, number: str) -> list[tuple[str, str, str]]:
    with slack.desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.id is not None
        rows = files_repo.attachments_of(session=session, ticket_id=ticket.id)
        return [(r.name, r.sha256, r.added_by) for r in rows]


async def test_a_file_in_the_dm_is_downloaded_with_the_bot_token_and_kept(slack: Driver) -> None:
    number = await open_password_ticket(slack)
    shot = slack.fake.host_file("error.png", PNG, "image/png")
    await slack.event(with_files(slack.dm_event("U0ALICE", f"/add {number}"), shot))
    assert f"Added error.png to *{number}*" in slack.last("D0ALICE").block_text()
    assert slack.fake.downloads == [(shot["id"], "xoxb-test-token")]
    assert kept(slack, number) == [("error.png", hashlib.sha256(PNG).hexdigest(), "alice")]


async def test_too_big_or_the_wrong_type_is_refused_without_downloading(slack: Driver) -> None:
    number = await open_password_ticket(slack)
    huge = slack.fake.host_file("huge.png", PNG, "image/png", size=30 * 1024 * 1024)
    exe = slack.fake.host_file("fix.exe", b"MZ" * 100, "application/x-msdownload")
    log = slack.fake.host_file("vpn.log", LOG, "text/plain")
    body = with_files(slack.dm_event("U0ALICE", f"/add {number} it fails every morning"), huge)
    body["event"]["files"] += [exe, log]
    await slack.event(body)
    said = "\n".join(c.block_text() for c in slack.fake.posts("D0ALICE")[-2:])
    assert "couldn't keep *huge.png*: it is 30.0 MB, and the limit is 20.0 MB" in said
    assert "couldn't keep *fix.exe*: files of that type (application/x-msdownload)" in said
    assert f"Added vpn.log to *{number}*" in said
    assert [d[0] for d in slack.fake.downloads] == [log["id"]]  # nothing else was fetched
    assert [k[0] for k in kept(slack, number)] == ["vpn.log"]


async def test_a_file_in_the_cards_thread_goes_to_the_ticket_and_back_privately(
    slack: Driver,
) -> None:
    number = await open_password_ticket(slack)
    card = slack.last(TRIAGE)
    thread = card.result["ts"]
    log = slack.fake.host_file("router.log", LOG, "text/plain")
    body = slack.dm_event("U0DANA", "from the router, see line 40")
    body["event"].update(channel=TRIAGE, channel_type="channel", thread_ts=thread)
    await slack.event(with_files(body, log))  # no @mention: a ticket's thread, with a file
    said = slack.last(TRIAGE)
    assert said.params["thread_ts"] == thread and f"Added router.log to *{number}*" in (
        said.block_text()
    )
    assert [k[0] for k in kept(slack, number)] == ["router.log"]

    await slack.flush()
    updates = [c for c in slack.fake.called("chat.update") if c.params["ts"] == thread]
    assert "router.log" in updates[-1].block_text()
    await slack.press("U0ALEX", updates[-1], "Get files")
    assert "sent the files" in slack.last(TRIAGE).block_text()
    await slack.flush()
    [uploaded] = slack.fake.files
    assert uploaded["filename"] == "router.log" and uploaded["data"] == LOG
    assert uploaded["channel"] == "D0ALEX"  # Alex's DM, never the triage channel
    assert slack.fake.called("files.getUploadURLExternal")[-1].params["length"] in (
        len(LOG),
        str(len(LOG)),
    )


async def test_chatter_without_files_in_a_cards_thread_is_still_ignored(slack: Driver) -> None:
    await open_password_ticket(slack)
    card = slack.last(TRIAGE)
    before = len(slack.fake.posts(TRIAGE))
    await slack.thread_reply("U0DANA", TRIAGE, card.result["ts"], "looking at it now")
    assert len(slack.fake.posts(TRIAGE)) == before


async def test_a_slow_download_holds_up_nobody_else(slack: Driver) -> None:
    number = await open_password_ticket(slack)
    slack.fake.download_gate = gate = asyncio.Event()
    shot = slack.fake.host_file("error.png", PNG, "image/png")
    alice = with_files(slack.dm_event("U0ALICE", f"/add {number}"), shot)
    assert (await slack.post(json.dumps(alice)))[0] == 200  # acked while the file waits
    # Bob is answered while Alice's file is still coming (no settling: that would wait for
    # Alice's message too).
    assert (await slack.post(json.dumps(slack.dm_event("U0BOB", "/help"))))[0] == 200
    await slack.fake.wait_until(lambda: bool(slack.fake.posts("D0BOB")))
    assert "/status" in slack.last("D0BOB").block_text()
    assert slack.fake.downloads == [] and kept(slack, number) == []
    gate.set()
    await slack.settle()
    assert f"Added error.png to *{number}*" in slack.last("D0ALICE").block_text()


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@asynccontextmanager
async def slack_with(
    settings: Settings, clock: FixedClock, fake: FakeSlack, **policy: Any
) -> AsyncIterator[Driver]:
    """A started Slack channel whose `attachments:` settings differ (`policy`)."""
    changed = settings.attachments.model_copy(update=policy)
    desk = build_desk(
        slack_settings(settings.model_copy(update={"attachments": changed}), fake.api_url),
        clock=clock,
    )
    channel = SlackChannel(desk, Engine(desk))
    await channel.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Driver(channel, fake, http)
    finally:
        await channel.stop()
        desk.store.dispose()


async def test_a_download_that_takes_too_long_is_given_up_and_the_words_kept(
    settings: Settings, clock: FixedClock, fake: FakeSlack
) -> None:
    async with slack_with(settings, clock, fake, download_timeout=timedelta(seconds=0.2)) as slack:
        number = await open_password_ticket(slack)
        fake.download_gate = asyncio.Event()  # never opened
        shot = fake.host_file("error.png", PNG, "image/png")
        body = with_files(slack.dm_event("U0ALICE", f"/add {number} it says error 809"), shot)
        await slack.event(body)
        said = "\n".join(c.block_text() for c in fake.posts("D0ALICE")[-2:])
        assert "couldn't download *error.png* just now. Please send it again." in said
        assert kept(slack, number) == []
        with slack.desk.store.read() as session:
            ticket = repo.get_ticket(session=session, number=number)
            assert ticket is not None and ticket.id is not None
            notes = [e.note for e in repo.events_of(session=session, ticket_id=ticket.id)]
        assert "it says error 809" in notes  # the rest of the message was not lost
        fake.download_gate.set()


async def test_a_file_bigger_than_it_said_is_cut_off_and_refused(
    settings: Settings, clock: FixedClock, fake: FakeSlack
) -> None:
    async with slack_with(settings, clock, fake, max_size=1024) as slack:
        number = await open_password_ticket(slack)
        liar = fake.host_file("small.png", PNG, "image/png", size=100)  # PNG is 4 KB
        await slack.event(with_files(slack.dm_event("U0ALICE", f"/add {number}"), liar))
        said = slack.last("D0ALICE").block_text()
        assert "couldn't keep *small.png*: it is larger than the limit of 1 KB" in said
        assert kept(slack, number) == []
        assert not await asyncio.to_thread(stored_files, Path(settings.attachments.folder))


async def test_a_file_with_no_ticket_in_a_channel_is_asked_about_without_titles(
    slack: Driver,
) -> None:
    await open_password_ticket(slack)  # Alice has an open request, "Password reset..."
    shot = slack.fake.host_file("error.png", PNG, "image/png")
    body = slack.dm_event("U0ALICE", "<@UBOT> here")
    body["event"].update(type="app_mention", channel="C0GENERAL", channel_type="channel")
    body["event"].pop("channel_type")
    await slack.event(with_files(body, shot))
    said = slack.last("C0GENERAL").block_text()
    assert "Which request is error.png for?" in said and "/add IT-1042" in said
    assert "IT-1000" not in said  # her requests are not listed where others read


async def test_files_go_to_an_s3_bucket_and_back_to_a_technician(
    settings: Settings, clock: FixedClock, fake: FakeSlack, s3_server: S3Server
) -> None:
    bucket = await asyncio.to_thread(s3_server.bucket)
    config = s3_config(s3_server, bucket)
    async with slack_with(settings, clock, fake, store="s3", s3=config) as slack:
        number = await open_password_ticket(slack)
        log = fake.host_file("router.log", LOG, "text/plain")
        await slack.event(with_files(slack.dm_event("U0ALICE", f"/add {number}"), log))
        assert f"Added router.log to *{number}*" in slack.last("D0ALICE").block_text()
        sha = hashlib.sha256(LOG).hexdigest()
        assert await asyncio.to_thread(s3_server.keys, bucket) == [f"deskbot/files/{sha[:2]}/{sha}"]
        assert not await asyncio.to_thread(stored_files, Path(settings.attachments.folder))
        await slack.command("U0DANA", f"file {number}")
        await slack.flush()
        [uploaded] = fake.files
        assert uploaded["filename"] == "router.log" and uploaded["data"] == LOG
        assert uploaded["channel"] == "D0DANA"


async def test_an_s3_outage_delays_files_and_loses_nothing(
    settings: Settings,
    clock: FixedClock,
    fake: FakeSlack,
    own_s3_server: S3Server,
    caplog: pytest.LogCaptureFixture,
) -> None:
    s3 = own_s3_server
    bucket = await asyncio.to_thread(s3.bucket)
    async with slack_with(settings, clock, fake, store="s3", s3=s3_config(s3, bucket)) as slack:
        number = await open_password_ticket(slack)
        await asyncio.to_thread(s3.stop)
        # Sent while the bucket does not answer: told so; the words still reach the ticket.
        shot = fake.host_file("error.png", PNG, "image/png")
        body = with_files(slack.dm_event("U0ALICE", f"/add {number} it says error 809"), shot)
        await slack.event(body)
        said = "\n".join(c.block_text() for c in fake.posts("D0ALICE")[-2:])
        assert "got *error.png* but couldn't store it just now" in said
        assert "send the file again in a few minutes" in said
        assert kept(slack, number) == []
        with slack.desk.store.read() as session:
            ticket = repo.get_ticket(session=session, number=number)
            assert ticket is not None and ticket.id is not None
            notes = [e.note for e in repo.events_of(session=session, ticket_id=ticket.id)]
        assert "it says error 809" in notes
        # Sent again once it is back: kept.
        await asyncio.to_thread(s3.start)
        again = fake.host_file("error.png", PNG, "image/png")
        await slack.event(with_files(slack.dm_event("U0ALICE", f"/add {number}"), again))
        assert [k[0] for k in kept(slack, number)] == ["error.png"]
        # A technician asks for it while the bucket is down again: the message waits.
        await asyncio.to_thread(s3.stop)
        await slack.command("U0DANA", f"file {number}")
        await slack.flush()
        assert fake.files == []
        with slack.desk.store.read() as session:
            waiting = [
                m
                for m in session.exec(select(OutboxMessage)).all()
                if m.status == "pending" and m.conversation.startswith("D0DANA")
            ]
        [row] = waiting
        assert row.last_error and "attachment store unavailable" in row.last_error
        await asyncio.to_thread(s3.start)
        clock.advance(timedelta(minutes=5))
        await slack.flush()
        [uploaded] = fake.files
        assert uploaded["data"] == PNG and uploaded["channel"] == "D0DANA"
        # The text went out once, with its file, after the outage.
        assert len([c for c in fake.posts("D0DANA") if "error.png" in c.block_text()]) == 1
    assert SECRET not in caplog.text
