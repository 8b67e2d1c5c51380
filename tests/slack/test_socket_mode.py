"""Socket Mode: the real slack_sdk client connects to a local WebSocket stand-in and acks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.adapters.slack import SlackChannel
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.chat.engine import Engine
from store import tickets as repo
from tests.desks import build_desk
from tests.slack.conftest import payload, slack_settings
from tests.slack.fake_slack import FakeSlack


@pytest.fixture
async def socket_channel(
    settings: Settings, clock: FixedClock, fake: FakeSlack
) -> AsyncIterator[SlackChannel]:
    desk = build_desk(
        slack_settings(settings, fake.api_url, mode="socket"), clock=clock, migrate=False
    )
    channel = SlackChannel(desk, Engine(desk))
    await channel.start()
    yield channel
    await channel.stop()
    desk.store.dispose()


async def deliver(fake: FakeSlack, channel: SlackChannel, envelope: dict) -> dict:
    await fake.push(envelope)
    ack = await fake.wait_ack(envelope["envelope_id"])
    await channel.idle()
    return ack


def event_envelope(envelope_id: str, body: dict, retry: int = 0) -> dict:
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "payload": body,
        "accepts_response_payload": False,
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
    }


async def test_socket_mode_events_commands_and_buttons(
    socket_channel: SlackChannel, fake: FakeSlack
):
    [opened] = fake.called("apps.connections.open")
    assert opened.token.startswith("xapp-")  # the app-level token, not the bot token

    dm = payload("event_dm")
    await deliver(fake, socket_channel, event_envelope("env-1", dm))
    question = fake.posts("D0ALICE")[-1]
    assert "Which account is it?" in question.block_text()

    click = payload("action_button")
    click["container"]["message_ts"] = question.result["ts"]
    click["message"].update(ts=question.result["ts"], blocks=question.blocks)
    click["actions"][0].update(value=question.buttons()["VPN"], action_id="deskbot:2")
    click["actions"][0]["text"]["text"] = "VPN"
    await deliver(
        fake,
        socket_channel,
        {"envelope_id": "env-2", "type": "interactive", "payload": click},
    )
    assert "locked out" in fake.posts("D0ALICE")[-1].block_text()

    command = payload("command_desk")
    command.update(user_id="U0ALICE", channel_id="C0GENERAL", channel_name="general", text="help")
    ack = await deliver(
        fake,
        socket_channel,
        {
            "envelope_id": "env-3",
            "type": "slash_commands",
            "payload": command,
            "accepts_response_payload": True,
        },
    )
    # The ack carries the ephemeral note; the answer itself goes to the DM.
    assert "direct messages" in ack["payload"]["text"]
    assert "Ask anything in your own words" in fake.posts("D0ALICE")[-1].block_text()


async def test_socket_mode_redelivery_is_acked_and_ignored(
    socket_channel: SlackChannel, fake: FakeSlack
):
    body = payload("event_dm")
    body["event"]["text"] = "talk to a human"
    await deliver(fake, socket_channel, event_envelope("env-a", body))
    body = payload("event_dm")
    body.update(event_id="Ev0HANDOFF")
    body["event"].update(text="printer on floor 3 is jammed", ts="1795000001.000100")
    await deliver(fake, socket_channel, event_envelope("env-b", body))
    posts = len(fake.posts())
    # Slack retries the same event on a new envelope.
    await deliver(fake, socket_channel, event_envelope("env-c", body, retry=1))
    assert len(fake.posts()) == posts
    with socket_channel.desk.store.read() as session:
        assert len(repo.list_tickets(session=session)) == 1
