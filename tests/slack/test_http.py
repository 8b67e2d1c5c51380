"""HTTP mode over a real socket: signatures, url_verification, redeliveries, what is ignored."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest

from bot.adapters.slack import SlackChannel
from bot.chat.engine import Engine
from bot.desk import Desk
from store import tickets as repo
from tests.slack.conftest import Driver, payload


async def test_signed_request_is_accepted(slack: Driver):
    status, _ = await slack.post(json.dumps(slack.dm_event("U0ALICE", "hello")))
    await slack.settle()
    assert status == 200
    assert "Hi Alice" in slack.last("D0ALICE").block_text()


async def test_wrong_signature_is_rejected_with_401_and_nothing_happens(slack: Driver):
    body = json.dumps(slack.dm_event("U0ALICE", "hello"))
    status, text = await slack.post(body, secret="not-the-signing-secret")
    await slack.settle()
    assert status == 401 and "invalid request" in text
    assert slack.fake.posts() == []


async def test_stale_timestamp_is_rejected_with_401(slack: Driver):
    body = json.dumps(slack.dm_event("U0ALICE", "hello"))
    # A correct signature over a timestamp more than five minutes old: a replay.
    status, _ = await slack.post(body, timestamp=int(time.time()) - 301)
    await slack.settle()
    assert status == 401
    assert slack.fake.posts() == []


async def test_unsigned_request_is_rejected_with_401(slack: Driver):
    status, _ = await slack.post(json.dumps(slack.dm_event("U0ALICE", "hello")), signed=False)
    assert status == 401


async def test_url_verification_challenge_is_echoed(slack: Driver):
    body = payload("url_verification")
    status, text = await slack.post(json.dumps(body))
    assert status == 200 and body["challenge"] in text


async def test_redelivered_event_is_handled_once(slack: Driver):
    await slack.dm("U0ALICE", "I forgot my password")
    await slack.press("U0ALICE", slack.last("D0ALICE"), "Email (Outlook)")
    await slack.press("U0ALICE", slack.last("D0ALICE"), "No")
    last_step = slack.dm_event("U0ALICE", "+44 20 7946 0000", event_id="Ev0FINAL")
    assert await slack.event(last_step) == 200
    replies = len(slack.fake.posts("D0ALICE"))
    # Slack did not see our 200 in time and sends the same event again (twice).
    assert await slack.event(last_step, retry=1) == 200
    assert await slack.event(last_step, retry=2) == 200
    assert len(slack.fake.posts("D0ALICE")) == replies
    with slack.desk.store.read() as session:
        assert len(repo.list_tickets(session=session)) == 1


async def test_same_click_delivered_twice_counts_once(slack: Driver):
    await slack.dm("U0ALICE", "I forgot my password")
    body = slack.action_body("U0ALICE", slack.last("D0ALICE"), "VPN")
    form = urlencode({"payload": json.dumps(body)})
    for _ in range(2):
        status, _ = await slack.post(form, content_type="application/x-www-form-urlencoded")
        assert status == 200
    await slack.settle()
    asks = [c for c in slack.fake.posts("D0ALICE") if "locked out" in c.block_text()]
    assert len(asks) == 1


async def test_edits_bot_messages_and_our_own_messages_are_ignored(slack: Driver):
    for name in ("event_message_changed", "event_bot_message", "event_own_message"):
        assert await slack.event(payload(name)) == 200
    assert slack.fake.posts() == []


async def test_two_quick_messages_are_answered_in_order(slack: Driver):
    """Both arrive before the first is handled; the conversation is served one at a time."""
    first = slack.dm_event("U0ALICE", "I forgot my password")
    second = slack.dm_event("U0ALICE", "Email")
    for body in (first, second):
        status, _ = await slack.post(json.dumps(body))
        assert status == 200
    await slack.settle()
    texts = [c.block_text() for c in slack.fake.posts("D0ALICE")]
    assert "Which account" in texts[-2] and "locked out" in texts[-1]
    assert len(slack.channel._locks) == 0  # per-conversation locks are not leaked


def test_starting_with_the_token_in_the_environment_logs_no_warning(
    slack_desk: Desk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # config.yaml and bolt both read SLACK_BOT_TOKEN; bolt used to warn on every start.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    with caplog.at_level(logging.INFO):
        SlackChannel(slack_desk, Engine(slack_desk))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_bodies_not_from_slack_are_refused_with_4xx_and_no_traceback(
    slack: Driver, caplog: pytest.LogCaptureFixture
):
    hello = json.dumps(slack.dm_event("U0ALICE", "hello"))
    big = json.dumps({"type": "event_callback", "padding": "x" * (2 * 1024 * 1024)})
    # (what, body, how it is sent, the status Slack's endpoint must answer)
    cases: list[tuple[str, str | bytes, dict[str, object], int]] = [
        ("bad JSON, unsigned", "{not json", {"signed": False}, 401),
        ("no signature headers", hello, {"signed": False}, 401),
        ("wrong signature", hello, {"secret": "not-the-signing-secret"}, 401),
        (
            "a timestamp that is not a number",
            hello,
            {
                "signed": False,
                "headers": {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
            },
            401,
        ),
        ("bad JSON, signed", "{not json", {}, 400),
        ("a JSON list, signed", "[1, 2]", {}, 400),
        ("a JSON string, signed", '"hello"', {}, 400),
        (
            "a form whose payload is not JSON, signed",
            "payload=%7Bnope",
            {"content_type": "application/x-www-form-urlencoded"},
            400,
        ),
        ("not UTF-8", b'{"type": "\xff\xfe"}', {"signed": False}, 400),
        ("2 MiB, unsigned", big, {"signed": False}, 413),
        ("2 MiB, signed", big, {}, 413),
    ]
    with caplog.at_level(logging.DEBUG):
        for what, body, how, status in cases:
            got, _ = await slack.post(body, **how)  # type: ignore[arg-type]
            assert got == status, what
        await slack.settle()
        # Slack's own requests still go through.
        assert await slack.dm("U0ALICE", "hello") == 200
    assert "Hi Alice" in slack.last("D0ALICE").block_text()
    assert len(slack.fake.posts()) == 1
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [r.getMessage() for r in loud]
