"""Slack fixtures: the fake Slack, a desk configured for Slack, and a driver that plays Slack.

The driver sends what Slack would send (signed HTTP requests built from the JSON payloads in
payloads/) to the real adapter listening on 127.0.0.1, then waits for the adapter's
background work to finish, so tests read as "Alice types, the bot answers".
"""

from __future__ import annotations

import hashlib
import hmac
import io
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.adapters.slack import SlackChannel
from bot.base.clock import FixedClock
from bot.base.config import Settings, SlackHttp, Triage
from bot.base.config import SlackChannel as SlackSettings
from bot.chat.engine import Engine
from bot.desk import Desk
from notifications.dispatch import Dispatcher
from tests.desks import build_desk
from tests.s3server import own_s3_server, s3_server  # noqa: F401 - fixtures
from tests.slack.fake_slack import Call, FakeSlack, dm_of

PAYLOADS = Path(__file__).resolve().parent / "payloads"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TRIAGE = "C0TRIAGE"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def sign(
    body: str | bytes, *, secret: str = SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Slack's request signature, computed here independently of slack_sdk."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{ts}:".encode() + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slack_settings(
    settings: Settings,
    api_url: str,
    *,
    mode: Literal["socket", "http"] = "http",
    triage: bool = True,
) -> Settings:
    slack = SlackSettings(
        enabled=True,
        mode=mode,
        bot_token="xoxb-test-token",
        app_token="xapp-test-token",
        signing_secret=SECRET,
        api_url=api_url,
        http=SlackHttp(host="127.0.0.1", port=0, path="/slack/events"),
    )
    queues = dict(settings.queues)
    if triage:
        for qid in ("service_desk", "workplace"):
            queues[qid] = queues[qid].model_copy(update={"triage": Triage(slack=TRIAGE)})
    channels = settings.channels.model_copy(update={"slack": slack})
    return settings.model_copy(update={"channels": channels, "queues": queues})


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()
    assert server.violations == [], "calls Slack would have rejected"


class Driver:
    """Plays Slack against a started SlackChannel in HTTP mode."""

    def __init__(self, channel: SlackChannel, fake: FakeSlack, http: aiohttp.ClientSession):
        self.channel = channel
        self.fake = fake
        self.http = http
        self.desk = channel.desk
        self.dispatcher = Dispatcher(channel.desk.store, {"slack": channel}, channel.desk.clock)
        self._ids = itertools.count(1)

    async def post(
        self,
        body: str | bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        signed: bool = True,
        timestamp: int | None = None,
        secret: str = SECRET,
    ) -> tuple[int, str]:
        assert self.channel.url is not None
        all_headers = {"Content-Type": content_type, **(headers or {})}
        if signed:
            all_headers.update(sign(body, secret=secret, timestamp=timestamp))
        raw = body.encode() if isinstance(body, str) else body
        # As a stream: aiohttp warns that a large raw body would block the loop.
        data = io.BytesIO(raw)
        async with self.http.post(self.channel.url, data=data, headers=all_headers) as resp:
            return resp.status, await resp.text()

    async def settle(self) -> None:
        await self.channel.idle()

    async def event(self, body: dict[str, Any], *, retry: int | None = None) -> int:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        status, _ = await self.post(json.dumps(body), headers=headers if retry else None)
        await self.settle()
        return status

    def dm_event(self, user: str, text: str, *, event_id: str | None = None) -> dict[str, Any]:
        body = payload("event_dm")
        n = next(self._ids)
        body["event_id"] = event_id or f"Ev{n:08d}"
        body["event"].update(user=user, channel=dm_of(user), text=text, ts=f"1795000000.{n:06d}")
        return body

    async def dm(self, user: str, text: str, *, event_id: str | None = None) -> int:
        """`user` types `text` in their DM with the bot."""
        return await self.event(self.dm_event(user, text, event_id=event_id))

    async def mention(
        self, user: str, channel: str, text: str, *, ts: str, thread_ts: str | None = None
    ) -> int:
        body = payload("event_mention")
        body["event_id"] = f"EvM{next(self._ids):07d}"
        body["event"].update(user=user, channel=channel, text=text, ts=ts, event_ts=ts)
        if thread_ts:
            body["event"]["thread_ts"] = thread_ts
        return await self.event(body)

    async def thread_reply(self, user: str, channel: str, thread_ts: str, text: str) -> int:
        body = payload("event_thread_reply")
        n = next(self._ids)
        body["event_id"] = f"EvT{n:07d}"
        body["event"].update(
            user=user, channel=channel, thread_ts=thread_ts, text=text, ts=f"1795000150.{n:06d}"
        )
        return await self.event(body)

    def action_body(self, user: str, message: Call, label: str) -> dict[str, Any]:
        """The block_actions payload Slack sends when `user` presses `label` on `message`."""
        buttons = message.buttons()
        assert label in buttons, f"no button {label!r} in {list(buttons)}"
        channel, ts = message.result["channel"], message.result["ts"]
        select = len(buttons) > 5
        body = payload("action_select" if select else "action_button")
        body["user"]["id"] = user
        body["trigger_id"] = f"trigger-{next(self._ids)}"
        body["container"].update(channel_id=channel, message_ts=ts)
        if message.params.get("thread_ts"):
            body["container"]["thread_ts"] = message.params["thread_ts"]
        body["channel"] = {"id": channel, "name": "directmessage" if channel[0] == "D" else "it"}
        body["message"].update(ts=ts, text=message.params.get("text", ""), blocks=message.blocks)
        action = body["actions"][0]
        if select:
            action["selected_option"] = {
                "text": {"type": "plain_text", "text": label},
                "value": buttons[label],
            }
        else:
            index = list(buttons).index(label)
            action.update(action_id=f"deskbot:{index}", value=buttons[label])
            action["text"]["text"] = label
        return body

    async def press_value(self, user: str, value: str) -> int:
        """`user` presses a button worth `value` in their DM (e.g. an offered service)."""
        body = payload("action_button")
        body["user"]["id"] = user
        body["trigger_id"] = f"trigger-{next(self._ids)}"
        body["container"]["channel_id"] = body["channel"]["id"] = dm_of(user)
        body["actions"][0].update(value=value)
        form = urlencode({"payload": json.dumps(body)})
        status, _ = await self.post(form, content_type="application/x-www-form-urlencoded")
        await self.settle()
        return status

    async def press(self, user: str, message: Call, label: str) -> int:
        body = self.action_body(user, message, label)
        form = urlencode({"payload": json.dumps(body)})
        status, _ = await self.post(form, content_type="application/x-www-form-urlencoded")
        await self.settle()
        return status

    async def command(self, user: str, text: str, *, channel: str | None = None) -> tuple[int, str]:
        fields = payload("command_desk")
        fields.update(
            user_id=user,
            text=text,
            channel_id=channel or dm_of(user),
            channel_name="directmessage" if channel is None else "it-help",
            trigger_id=f"trigger-{next(self._ids)}",
        )
        status, body = await self.post(
            urlencode(fields), content_type="application/x-www-form-urlencoded"
        )
        await self.settle()
        return status, body

    async def flush(self) -> int:
        """Deliver every due outbox message (triage cards, notifications) through Slack."""
        total = 0
        while sent := await self.dispatcher.run_once():
            total += sent
        return total

    async def open_home(self, user: str) -> dict[str, Any]:
        """`user` opens the app's Home tab; returns the view the bot published."""
        body = payload("event_home_opened")
        body["event"].update(user=user, channel=dm_of(user))
        body["event_id"] = f"EvH{next(self._ids):07d}"
        assert await self.event(body) == 200
        published = [c for c in self.fake.called("views.publish") if c.params["user_id"] == user]
        view: dict[str, Any] = published[-1].params["view"]
        return view

    def last(self, channel: str) -> Call:
        posts = self.fake.posts(channel)
        assert posts, f"nothing posted to {channel}"
        return posts[-1]


@pytest.fixture
def slack_desk(settings: Settings, clock: FixedClock, fake: FakeSlack) -> Iterator[Desk]:
    desk = build_desk(slack_settings(settings, fake.api_url), clock=clock, migrate=False)
    yield desk
    desk.store.dispose()


@pytest.fixture
async def slack(slack_desk: Desk, fake: FakeSlack) -> AsyncIterator[Driver]:
    channel = SlackChannel(slack_desk, Engine(slack_desk))
    await channel.start()
    async with aiohttp.ClientSession() as http:
        yield Driver(channel, fake, http)
    await channel.stop()


def view_text(view: dict[str, Any]) -> str:
    """The visible text of a Home view, one block element per line."""
    out = []
    for block in view["blocks"]:
        for part in [block.get("text") or {}, *block.get("elements", [])]:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
    return "\n".join(out)
