"""The real `deskbot -v serve`, with Slack (HTTP mode) and Telegram (polling) against the
fakes and a database URL with a password: people are answered on both platforms, and the
log - at DEBUG, with every library's chatter - holds no token, secret or password, and no
line at INFO or above holds what people wrote."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.slack.conftest import payload, sign
from tests.slack.fake_slack import FakeSlack, dm_of
from tests.telegram.fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "987654321:AAF-secretTelegramTokenForLogs_x"
SLACK_BOT = "xoxb-9999-8888-secretslacktokenforlogs"
SIGNING = "0123456789abcdef0123456789abcdef"
WEBHOOK_SECRET = "never-log-this-webhook-secret"
PASSWORD = "s3cret-db-passw0rd"
ALICE_TG, BOB_SLACK = 1001, "U0BOB"
SAID_ON_TELEGRAM = "I forgot my password"
SAID_ON_SLACK = "my monitor keeps flickering"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp: Path, db_url: str, telegram: str, slack: str, port: int) -> Path:
    """The repository's config with both platforms on, content read from the repository,
    and a people file that is not the demo one (company addresses, not example.com)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    people = (ROOT / "directory" / "people.csv").read_text(encoding="utf-8")
    (tmp / "people.csv").write_text(people.replace("@example.com", "@corp.test"), "utf-8")
    paths = config.setdefault("paths", {})
    for key, value in list(paths.items()):
        if isinstance(value, str) and key != "people":
            paths[key] = str(ROOT / value)
    paths["people"] = str(tmp / "people.csv")
    config.setdefault("insight", {})["charts"] = str(tmp / "reports")
    config["database"] = {"url": db_url}
    config["channels"] = {
        "telegram": {
            "enabled": True,
            "token": TOKEN,
            "api_url": telegram,
            "mode": "polling",
            "webhook": {"secret_token": WEBHOOK_SECRET},  # unused in polling; still a secret
        },
        "slack": {
            "enabled": True,
            "mode": "http",
            "bot_token": SLACK_BOT,
            "signing_secret": SIGNING,
            "api_url": slack,
            "http": {"host": "127.0.0.1", "port": port, "path": "/slack/events"},
        },
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def with_password(db_url: str) -> str:
    """The test database's URL with a password in it (trust auth ignores it on PostgreSQL)."""
    if db_url.startswith("postgresql"):
        scheme, rest = db_url.split("://", 1)
        return f"{scheme}://postgres:{PASSWORD}@{rest.split('@', 1)[-1]}"
    return db_url


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeBotAPI, FakeSlack]]:
    telegram = await FakeBotAPI(token=TOKEN).start()
    slack = await FakeSlack().start()
    yield telegram, slack
    await slack.stop()
    await telegram.close()


async def slack_dm(port: int, user: str, text: str) -> int:
    body = payload("event_dm")
    body["event_id"] = "EvLogs0001"
    body["event"].update(user=user, channel=dm_of(user), text=text, ts="1795000000.000100")
    raw = json.dumps(body)
    headers = {"Content-Type": "application/json", **sign(raw, secret=SIGNING)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/slack/events", data=raw, headers=headers) as resp,
    ):
        return resp.status


async def test_verbose_serve_logs_no_secret_and_no_message_text_at_info(
    fakes: tuple[FakeBotAPI, FakeSlack], db_url: str, tmp_path: Path
) -> None:
    telegram, slack = fakes
    port = free_port()
    config = write_config(tmp_path, with_password(db_url), telegram.api_url, slack.api_url, port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    serve = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "-v", "serve", "--config", str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )  # fmt: skip
    log = b""
    try:
        await telegram.wait_for(lambda: telegram.calls_of("getUpdates"), within=60)
        telegram.push(telegram.message_update(ALICE_TG, SAID_ON_TELEGRAM))
        await telegram.wait_for(lambda: telegram.in_chat(ALICE_TG), within=60)

        for _ in range(200):  # the HTTP listener comes up with the Slack adapter
            try:
                status = await slack_dm(port, BOB_SLACK, SAID_ON_SLACK)
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        assert status == 200
        await slack.wait_until(lambda: bool(slack.posts(dm_of(BOB_SLACK))), within=60)
    finally:
        if serve.returncode is None:
            serve.send_signal(signal.SIGINT)
        assert serve.stdout is not None
        log = await asyncio.wait_for(serve.stdout.read(), 60)
        await asyncio.wait_for(serve.wait(), 60)
    text = log.decode("utf-8", "replace")
    assert "getUpdates" in text, "the log is verbose: library lines are in it"
    for secret in (TOKEN, SLACK_BOT, SIGNING, WEBHOOK_SECRET, PASSWORD, TOKEN.split(":")[1]):
        assert secret not in text
    loud = above_debug(text)
    assert loud, "warnings and errors are there to be read"
    for said in (SAID_ON_TELEGRAM, SAID_ON_SLACK):
        assert not [line for line in loud if said in line], f"{said!r} logged above DEBUG"


RECORD = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ ([A-Z]+) ")


def above_debug(log: str) -> list[str]:
    """The lines of records at INFO or above (a record's continuation lines included)."""
    lines, level = [], "DEBUG"
    for line in log.splitlines():
        start = RECORD.match(line)
        if start:
            level = start.group(1)
        if level != "DEBUG":
            lines.append(line)
    return lines
