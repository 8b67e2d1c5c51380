"""`deskbot serve` at start: it will not let the demo people meet real chat accounts, and a
chat platform that cannot be reached yet is waited for (one log line, no traceback)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_desk, load_config
from bot.base.config import Paths, Settings
from bot.chat.engine import Engine
from bot.serve import run_service
from tests.foundation.helpers import ROOT, config_copy, deskbot
from tests.slack.conftest import SECRET, payload, sign, slack_settings
from tests.slack.fake_slack import FakeSlack, dm_of
from tests.start_retry import connect_retry, waits
from tests.telegram.conftest import telegram_settings
from tests.telegram.fake_bot_api import FakeBotAPI

# Tokens shaped like real ones (nothing here is a real token).
REAL_LOOKING = {
    "SLACK_BOT_TOKEN": "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
    "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
    "TELEGRAM_BOT_TOKEN": "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0",
}


def serve_config(tmp_path: Path) -> Path:
    """config.yaml, with Slack in HTTP mode and both platforms pointed at a closed port."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("mode: socket ", "mode: http   ")
    text = text.replace(
        "    signing_secret: ${SLACK_SIGNING_SECRET:-}\n",
        "    signing_secret: ${SLACK_SIGNING_SECRET:-}\n"
        "    api_url: http://127.0.0.1:9/api/\n"
        "    http: {host: 127.0.0.1, port: 0}\n",
    )
    text = text.replace(
        "    token: ${TELEGRAM_BOT_TOKEN:-}\n",
        "    token: ${TELEGRAM_BOT_TOKEN:-}\n    api_url: http://127.0.0.1:9\n",
    )
    return config_copy(tmp_path, text)


def test_serve_refuses_the_demo_directory_when_real_tokens_are_set(tmp_path: Path):
    config = serve_config(tmp_path)
    db = {"DATABASE_URL": f"sqlite:///{tmp_path / 'deskbot.db'}"}
    result = deskbot("serve", "--config", str(config), env={**REAL_LOOKING, **db})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert "people.csv: email: 11 of 11 people have example addresses" in line
    assert "this is the demo directory" in line and "(priya: admin)" in line
    assert f"Put your own people in {ROOT / 'directory' / 'people.csv'}" in line
    assert "unset SLACK_BOT_TOKEN and TELEGRAM_BOT_TOKEN" in line
    assert "nothing was started" in result.stderr

    only_telegram = {"TELEGRAM_BOT_TOKEN": REAL_LOOKING["TELEGRAM_BOT_TOKEN"], **db}
    result = deskbot("serve", "--config", str(config), env=only_telegram)
    assert result.returncode == 2 and "telegram would let whoever" in result.stderr
    assert "unset TELEGRAM_BOT_TOKEN to try" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def own_people(tmp_path: Path) -> Path:
    """The demo people with addresses of a real-looking organisation."""
    text = (ROOT / "directory" / "people.csv").read_text(encoding="utf-8")
    path = tmp_path / "people.csv"
    path.write_text(text.replace("@example.com", "@deskbot-tests.org"), encoding="utf-8")
    return path


def service_settings(
    tmp_path: Path, slack_api: int, slack_http: int, telegram_api: int
) -> Settings:
    base = load_config(ROOT / "config.yaml", {"DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"})
    base = base.model_copy(
        update={
            "paths": Paths(**{**base.paths.model_dump(), "people": str(own_people(tmp_path))}),
            "engine": base.engine.model_copy(update={"run_in": "thread"}),
        }
    )
    with_slack = slack_settings(base, f"http://127.0.0.1:{slack_api}/api/", triage=False)
    http = with_slack.channels.slack.http.model_copy(update={"port": slack_http})
    slack = with_slack.channels.slack.model_copy(update={"http": http})
    with_slack = with_slack.model_copy(
        update={"channels": with_slack.channels.model_copy(update={"slack": slack})}
    )
    return telegram_settings(with_slack, f"http://127.0.0.1:{telegram_api}")


async def test_serve_waits_for_platforms_that_are_not_up_yet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    slack_api, slack_http, telegram_api = free_port(), free_port(), free_port()
    settings = service_settings(tmp_path, slack_api, slack_http, telegram_api)
    desk = build_desk(connect_retry(settings, 0.1))
    slack, telegram = FakeSlack(), FakeBotAPI()
    caplog.set_level(logging.DEBUG)
    slack_at = f"Slack (http://127.0.0.1:{slack_api}/api/)"
    telegram_at = f"Telegram (http://127.0.0.1:{telegram_api})"
    service = asyncio.create_task(run_service(desk, Engine(desk)))
    try:
        # Neither answers: each is tried at once, after 0.1 s, 0.2 s more...; each comes up
        # once it has failed twice.
        down: dict[str, Callable[[], Awaitable[object]]] = {
            slack_at: lambda: slack.start(port=slack_api),
            telegram_at: lambda: telegram.start(port=telegram_api),
        }
        for _ in range(1500):
            for at in [at for at in down if len(waits(caplog.records, at)) >= 2]:
                assert not service.done()
                await down.pop(at)()
            if not down:
                break
            await asyncio.sleep(0.02)
        assert not down, f"not tried twice: {sorted(down)}"

        telegram.push(telegram.message_update(1001, "/start"))
        await telegram.wait_for(lambda: "Hi Alice" in telegram.texts(1001), within=30)

        event = payload("event_dm")
        event["event_id"] = "Ev0LATE"
        event["event"].update(user="U0BOB", channel="D0BOB", text="hello")
        body = json.dumps(event)
        url = f"http://127.0.0.1:{slack_http}/slack/events"
        async with aiohttp.ClientSession() as http:
            for _ in range(300):  # the endpoint listens once Slack answered auth.test
                try:
                    headers = {"Content-Type": "application/json", **sign(body, secret=SECRET)}
                    async with http.post(url, data=body, headers=headers) as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.1)
        await slack.wait_until(lambda: bool(slack.posts(dm_of("U0BOB"))), within=30)
        assert "Hi Bob" in slack.posts("D0BOB")[-1].block_text()
    finally:
        service.cancel()
        with pytest.raises(asyncio.CancelledError):
            await service
        await slack.stop()
        await telegram.close()
        desk.store.dispose()
    assert slack.violations == [] and telegram.problems == []

    # One line for each platform while it could not be reached, and no traceback.
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sorted(line.split(" cannot be reached ")[0] for line in loud) == [
        f"Slack (http://127.0.0.1:{slack_api}/api/)",
        f"Telegram (http://127.0.0.1:{telegram_api})",
    ], loud
    assert all("trying again with backoff" in line for line in loud), loud
    # channels.connect_retry, then twice as long each time.
    assert waits(caplog.records, slack_at)[:2] == [0.1, 0.2]
    assert waits(caplog.records, telegram_at)[:2] == [0.1, 0.2]
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
