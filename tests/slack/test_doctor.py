"""`deskbot doctor` asks Slack itself, through slack_sdk, against the fake Slack: the bot
token, the app token, and that every triage channel exists with the bot in it."""

from __future__ import annotations

import asyncio
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.base.findings import Finding
from bot.cli.doctor import diagnose
from tests.configs import config_file
from tests.slack.fake_slack import BOT_USER, FakeSlack

NETWORK = "C0NET"
DESK = "C0DESK"
MONDAY = date(2026, 11, 23)


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "deskbot.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


async def doctor(fake: FakeSlack, folder: Path, database: str, **slack: Any) -> list[Finding]:
    config = config_file(
        folder,
        {
            "channels": {
                "slack": {
                    "mode": "socket",
                    "bot_token": "${SLACK_BOT_TOKEN:-}",
                    "app_token": "${SLACK_APP_TOKEN:-}",
                    "api_url": fake.api_url,
                    **slack,
                }
            },
            "queues": {
                "network": {"triage": {"slack": NETWORK}},
                "service_desk": {"triage": {"slack": DESK}},
                "workplace": {"triage": {"slack": DESK}},
            },
        },
    )
    env = {
        "SLACK_BOT_TOKEN": "xoxb-good",
        "SLACK_APP_TOKEN": "xapp-good",
        "DATABASE_URL": database,
    }
    # diagnose runs its own event loop; the fake serves on this one.
    return await asyncio.to_thread(diagnose, config, env, MONDAY)


def slack_findings(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.check == "slack"]


async def test_good_tokens_and_triage_channels_with_the_bot(
    fake: FakeSlack, tmp_path: Path, database: str
):
    fake.channels = {
        NETWORK: {"name": "it-network", "members": {BOT_USER}},
        DESK: {"name": "it-desk", "members": {BOT_USER, "U0DANA"}},
    }
    found = await doctor(fake, tmp_path, database)
    assert [f for f in found if not f.ok] == []
    details = [f.detail for f in slack_findings(found)]
    assert details == [
        "bot token: @deskbot in team T0DESK",
        "app token: Socket Mode may connect",
        "triage channel #it-desk (C0DESK): the bot is in it",  # in config.yaml's queue order
        "triage channel #it-network (C0NET): the bot is in it",
    ]
    asked = [(c.method, c.token) for c in fake.calls]
    assert ("auth.test", "xoxb-good") in asked and ("apps.connections.open", "xapp-good") in asked
    # One look per channel, however many queues post there; nothing posted.
    assert len(fake.called("conversations.info")) == 2 and fake.posts() == []


async def test_a_refused_bot_token_says_which_setting_to_fix(
    fake: FakeSlack, tmp_path: Path, database: str
):
    fake.refused_tokens = {"xoxb-good"}
    [finding] = slack_findings(await doctor(fake, tmp_path, database))
    assert not finding.ok
    assert finding.detail == "Slack refused channels.slack.bot_token (invalid_auth)"
    assert "set SLACK_BOT_TOKEN" in finding.fix


async def test_a_refused_app_token(fake: FakeSlack, tmp_path: Path, database: str):
    fake.refused_tokens = {"xapp-good"}
    fake.channels = {n: {"name": n.lower(), "members": {BOT_USER}} for n in (NETWORK, DESK)}
    found = slack_findings(await doctor(fake, tmp_path, database))
    [bad] = [f for f in found if not f.ok]
    assert "app_token (invalid_auth)" in bad.detail and "set SLACK_APP_TOKEN" in bad.fix


async def test_missing_triage_channel_and_bot_not_in_channel(
    fake: FakeSlack, tmp_path: Path, database: str
):
    fake.channels = {NETWORK: {"name": "it-network", "members": {"U0ALEX"}}}
    found = await doctor(fake, tmp_path, database)
    problems = [f for f in found if not f.ok]
    assert [f.check for f in problems] == ["slack", "slack"]
    missing, not_in = problems
    assert not_in.detail.startswith("triage channel #it-network (C0NET): the bot is not in it")
    assert not_in.fix == "invite the bot to #it-network: /invite @deskbot"
    assert missing.detail == (
        "triage channel C0DESK (channel_not_found) for queues.service_desk.triage.slack, "
        "queues.workplace.triage.slack"
    )
    assert "channel's id" in missing.fix and "/invite @deskbot" in missing.fix


async def test_slack_unreachable_is_a_problem_not_a_crash(tmp_path: Path, database: str):
    fake = FakeSlack()  # never started: nothing listens at its address
    fake.url = "http://127.0.0.1:9"
    [finding] = slack_findings(await doctor(fake, tmp_path, database))
    assert not finding.ok and finding.detail.startswith("cannot reach Slack at http://127.0.0.1:9")
