"""Starting the Slack channel: Slack answering 5xx is waited for; a refused token stops the
start with the setting to fix, and neither leaves a traceback in the log."""

from __future__ import annotations

import logging

import pytest

from bot.adapters.slack import SlackChannel
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.base.yamlfile import ProblemsError
from bot.chat.engine import Engine
from bot.desk import Desk
from tests.desks import build_desk
from tests.slack.conftest import slack_settings
from tests.slack.fake_slack import TEAM, FakeSlack
from tests.start_retry import connect_retry, waits


async def test_slack_answering_5xx_at_start_is_tried_again(
    slack_desk: Desk, fake: FakeSlack, caplog: pytest.LogCaptureFixture
):
    fake.fail_next("auth.test", status=503, error="service_unavailable")
    fake.fail_next("auth.test", status=500, error="internal_error")
    slack_desk.settings = connect_retry(slack_desk.settings, 0.1)
    channel = SlackChannel(slack_desk, Engine(slack_desk))
    with caplog.at_level(logging.DEBUG):
        await channel.start()
    try:
        assert len(fake.called("auth.test")) == 3
        assert channel.identity.teams == {TEAM}
        assert channel.url is not None, "listening once Slack answered"
    finally:
        await channel.stop()
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(";")[0] for r in loud] == [
        f"Slack ({fake.api_url}) cannot be reached (SlackApiError: The request to the Slack "
        f"API failed. (url: {fake.api_url}auth.test, status: 503) The server responded with: "
        "{'ok': False, 'error': 'service_unavailable'})"
    ]
    assert not [r for r in caplog.records if r.exc_info]
    # channels.connect_retry, then twice as long.
    assert waits(caplog.records, f"Slack ({fake.api_url})") == [0.1, 0.2]


async def test_a_refused_bot_token_names_the_setting(slack_desk: Desk, fake: FakeSlack):
    fake.fail_next("auth.test", status=200, error="invalid_auth")
    channel = SlackChannel(slack_desk, Engine(slack_desk))
    try:
        with pytest.raises(ProblemsError) as refused:
            await channel.start()
    finally:
        await channel.stop()
    [problem] = refused.value.problems
    assert problem.field == "channels.slack.bot_token"
    assert "Slack refused this token (invalid_auth)" in problem.message
    assert len(fake.called("auth.test")) == 1, "a refused token is not tried again"


async def test_a_refused_app_token_names_the_setting(
    settings: Settings, clock: FixedClock, fake: FakeSlack, caplog: pytest.LogCaptureFixture
):
    desk = build_desk(
        slack_settings(settings, fake.api_url, mode="socket"), clock=clock, migrate=False
    )
    fake.fail_next("apps.connections.open", status=200, error="invalid_auth")
    channel = SlackChannel(desk, Engine(desk))
    try:
        with pytest.raises(ProblemsError) as refused:
            await channel.start()
    finally:
        await channel.stop()
        desk.store.dispose()
    [problem] = refused.value.problems
    assert problem.field == "channels.slack.app_token"
    # The Socket Mode client would have gone on trying, with a traceback every 10 s.
    assert len(fake.called("apps.connections.open")) == 1
    assert not [r for r in caplog.records if r.exc_info]
