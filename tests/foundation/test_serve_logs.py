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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from sqlmodel import select

from store.db import Store
from store.models import OutboxMessage
from tests.configs import MODELS
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
SECRETS = (TOKEN, SLACK_BOT, SIGNING, WEBHOOK_SECRET, PASSWORD, TOKEN.split(":")[1])
TRIAGE = -100500  # every queue's triage group on Telegram


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(
    tmp: Path, db_url: str, telegram: str, slack: str, port: int, **more: dict[str, Any]
) -> Path:
    """The repository's config with both platforms on, content read from the repository,
    every queue's triage group on Telegram, and a people file that is not the demo
    one (company addresses, not example.com); `more`: other sections."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for queue in config["queues"].values():
        queue["triage"] = {"telegram": str(TRIAGE)}
    config.update(more)
    people = (ROOT / "directory" / "people.csv").read_text(encoding="utf-8")
    (tmp / "people.csv").write_text(people.replace("@example.com", "@corp.test"), "utf-8")
    paths = config.setdefault("paths", {})
    for key, value in list(paths.items()):
        if isinstance(value, str) and key != "people":
            paths[key] = str(ROOT / value)
    paths["people"] = str(tmp / "people.csv")
    config.setdefault("insight", {})["charts"] = str(tmp / "reports")
    config["database"] = {"url": db_url}
    config["matcher"]["cache"] = MODELS  # trained models shared by the run
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


async def serve_and_talk(
    config: Path,
    *options: str,
    telegram: FakeBotAPI,
    slack: FakeSlack,
    port: int,
    alice_says: str,
    serve_options: tuple[str, ...] = (),
) -> str:
    """Run `deskbot [options] serve [serve_options]`, let Alice write on Telegram and Bob
    on Slack, wait for the answers (and, when Alice files a ticket, its card in the triage
    group), stop it with Ctrl-C and return everything it printed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    serve = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *options, "serve", "--config", str(config), *serve_options,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=config.parent,
    )  # fmt: skip
    log = b""
    try:
        await telegram.wait_for(lambda: telegram.calls_of("getUpdates"), within=60)
        telegram.push(telegram.message_update(ALICE_TG, alice_says))
        await telegram.wait_for(lambda: telegram.in_chat(ALICE_TG), within=60)
        if alice_says.startswith("/human"):  # the ticket's card comes through the outbox
            await telegram.wait_for(lambda: telegram.in_chat(TRIAGE), within=60)

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
    return log.decode("utf-8", "replace")


async def test_verbose_serve_logs_no_secret_and_no_message_text_at_info(
    fakes: tuple[FakeBotAPI, FakeSlack], db_url: str, tmp_path: Path
) -> None:
    telegram, slack = fakes
    port = free_port()
    config = write_config(tmp_path, with_password(db_url), telegram.api_url, slack.api_url, port)
    text = await serve_and_talk(
        config, "-v", telegram=telegram, slack=slack, port=port, alice_says=SAID_ON_TELEGRAM
    )
    assert "getUpdates" in text, "the log is verbose: library lines are in it"
    for secret in SECRETS:
        assert secret not in text
    loud = above_debug(text)
    assert loud, "warnings and errors are there to be read"
    for said in (SAID_ON_TELEGRAM, SAID_ON_SLACK):
        assert not [line for line in loud if said in line], f"{said!r} logged above DEBUG"
    # Text lines show the turn too: Alice's message, received and handled under one id.
    [received] = [line for line in loud if "received" in line and f"from {ALICE_TG} " in line]
    found = re.search(r"\[correlation=([0-9a-f]{16}) ", received)
    assert found, received
    handled = [line for line in loud if "bot.chat.engine" in line and found.group(1) in line]
    assert handled and "person=alice" in handled[0]


FILED_ON_TELEGRAM = "/human the plotter zq7 prints only purple"


async def test_json_logs_follow_one_turn_from_receipt_to_the_platform_call(
    fakes: tuple[FakeBotAPI, FakeSlack], db_url: str, tmp_path: Path
) -> None:
    """`deskbot serve --log-format json` at logging.level info: every line is one JSON
    object, and one correlation id links Alice's message as Telegram delivered it, the
    engine's turn in its child process, the ticket it opened, the triage card's outbox row
    and its send by the dispatcher, with her person id and the ticket number on them."""
    telegram, slack = fakes
    port = free_port()
    url = with_password(db_url)
    config = write_config(
        tmp_path, url, telegram.api_url, slack.api_url, port, logging={"level": "info"}
    )
    out = await serve_and_talk(
        config,
        telegram=telegram,
        slack=slack,
        port=port,
        alice_says=FILED_ON_TELEGRAM,
        serve_options=("--log-format", "json"),
    )
    lines: list[dict[str, Any]] = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines and all(isinstance(line, dict) for line in lines)
    for line in lines:
        assert {"time", "level", "logger", "message", "process"} <= line.keys(), line
        at = datetime.fromisoformat(line["time"])
        assert at.utcoffset() == timedelta(0), line["time"]
    app = lines[0]["process"]

    def one(logger: str, *words: str, **fields: str) -> dict[str, Any]:
        found = [
            line
            for line in lines
            if line["logger"] == logger
            and all(w in line["message"] for w in words)
            and all(line.get(k) == v for k, v in fields.items())
        ]
        assert len(found) == 1, (logger, words, fields, found)
        return found[0]

    # Alice's message: received by the Telegram adapter, which gives the turn its id...
    received = one("bot.adapters.telegram.handlers", "received", f"from {ALICE_TG}")
    turn = received["correlation_id"]
    assert len(turn) == 16 and re.fullmatch(r"\d+:\d+", received["event_id"])  # bot:update
    assert received["process"] == app
    # ...handled by the engine in its child process under the same id, with her person id
    # and the ticket the turn opened...
    handled = one("bot.chat.engine", "handled", correlation_id=turn)
    assert handled["process"] != app, "engine.run_in: process"
    assert handled["person_id"] == "alice"
    number = handled["ticket"]
    opened = one("bot.tickets", f"ticket {number} opened", correlation_id=turn)
    assert opened["process"] == handled["process"] and opened["person_id"] == "alice"
    # ...her answer sent straight back by the adapter...
    one("bot.adapters.telegram.channel", f"sendMessage to {ALICE_TG} done", correlation_id=turn)
    # ...and the triage card queued in the outbox with the turn's id and ticket...
    store = Store(url)
    try:
        with store.read() as session:
            [card] = session.exec(
                select(OutboxMessage).where(OutboxMessage.conversation == str(TRIAGE))
            ).all()
    finally:
        store.dispose()
    assert (card.status, card.correlation_id, card.ticket) == ("sent", turn, number)
    # ...sent later by the dispatcher, with the platform call, still under Alice's turn.
    sent = one("notifications.dispatch", f"outbox message {card.id} sent", correlation_id=turn)
    assert sent["ticket"] == number and sent["process"] == app
    call = one("bot.adapters.telegram.channel", f"sendMessage to {TRIAGE} done")
    assert (call["correlation_id"], call["ticket"]) == (turn, number)

    # Bob's Slack message is a turn of its own, followed the same way.
    slack_received = one("bot.adapters.slack.channel", "received", f"from {BOB_SLACK}")
    bob = slack_received["correlation_id"]
    assert bob != turn and "person_id" not in slack_received  # not looked up yet
    assert one("bot.chat.engine", "handled", correlation_id=bob)["person_id"] == "bob"
    posted = one("bot.adapters.slack.channel", "chat.postMessage", "done", correlation_id=bob)
    assert posted["person_id"] == "bob"

    # Never a secret, and never what people wrote at INFO or above.
    for secret in SECRETS:
        assert secret not in out
    said = (FILED_ON_TELEGRAM, "plotter zq7", SAID_ON_SLACK)
    for line in lines:
        if line["level"] != "DEBUG":
            assert not any(s in json.dumps(line, ensure_ascii=False) for s in said), line


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
