"""`deskbot doctor` asks Telegram itself, through python-telegram-bot, against the fake Bot
API: the token (getMe), and that every triage group exists with the bot in it."""

from __future__ import annotations

import asyncio
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.base.findings import Finding
from bot.cli.doctor import diagnose
from tests.configs import config_file
from tests.telegram.fake_bot_api import BOT, TOKEN, FakeBotAPI

DESK = -100500
NETWORK = -100600
MONDAY = date(2026, 11, 23)


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "deskbot.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


async def doctor(
    fake: FakeBotAPI, folder: Path, database: str, token: str = TOKEN
) -> list[Finding]:
    config = config_file(
        folder,
        {
            "channels": {"telegram": {"token": "${TELEGRAM_BOT_TOKEN:-}", "api_url": fake.api_url}},
            "queues": {
                "service_desk": {"triage": {"telegram": str(DESK)}},
                "network": {"triage": {"telegram": f"{NETWORK}:group"}},
            },
        },
    )
    env = {"TELEGRAM_BOT_TOKEN": token, "DATABASE_URL": database}
    # diagnose runs its own event loop; the fake serves on this one.
    found = await asyncio.to_thread(diagnose, config, env, MONDAY)
    return [f for f in found if f.check == "telegram"]


async def test_good_token_and_groups_with_the_bot(fake: FakeBotAPI, tmp_path: Path, database: str):
    fake.groups = {
        DESK: {"title": "IT triage", "members": {BOT["id"], 1006}},
        NETWORK: {"title": "Network", "members": {BOT["id"]}},
    }
    found = await doctor(fake, tmp_path, database)
    assert [f.detail for f in found] == [
        "token: @deskbot_test_bot",
        "triage group 'IT triage' (-100500): the bot is in it",  # in config.yaml's queue order
        "triage group 'Network' (-100600:group): the bot is in it",
    ]
    assert all(f.ok for f in found)
    assert fake.calls_of("sendMessage") == []


async def test_a_refused_token_says_which_setting_to_fix(
    fake: FakeBotAPI, tmp_path: Path, database: str
):
    [finding] = await doctor(fake, tmp_path, database, token="123456:WRONG")
    assert not finding.ok
    assert finding.detail.startswith("Telegram refused channels.telegram.token")
    assert "set TELEGRAM_BOT_TOKEN" in finding.fix


async def test_missing_group_and_bot_not_in_group(fake: FakeBotAPI, tmp_path: Path, database: str):
    # The desk's group is public, so the bot can see it is not a member; the network group
    # does not exist (or is private without the bot: Telegram answers the same).
    fake.groups = {DESK: {"title": "IT triage", "members": {1006}, "public": True}}
    token, not_in, missing = await doctor(fake, tmp_path, database)
    assert token.ok
    assert not not_in.ok and not_in.detail == (
        "triage group 'IT triage' (-100500): the bot is not in it "
        "(queues.service_desk.triage.telegram)"
    )
    assert not_in.fix == "add @deskbot_test_bot to the group (group settings > Add members)"
    assert not missing.ok and "(Chat not found)" in missing.detail
    assert "queues.network.triage.telegram" in missing.detail
    assert missing.fix.startswith("add @deskbot_test_bot to the group")
