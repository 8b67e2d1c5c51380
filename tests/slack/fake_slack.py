"""A local stand-in for Slack: Web API on 127.0.0.1 (port 0) plus a Socket Mode WebSocket.

It is honest in the ways that matter to us: every call's method name and required
parameters are checked against Slack's published OpenAPI spec (tests/specs/slack), tokens
must be bot tokens (app tokens for apps.connections.open), Block Kit payloads are checked
against Slack's documented limits, chat.update only works on a message that was posted,
and any method can be told to fail (429 with Retry-After, or an error). Anything wrong is
answered like Slack would and also recorded in `violations`, which tests assert is empty.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

SPECS = Path(__file__).resolve().parents[1] / "specs" / "slack"
WEB_API_SPEC = SPECS / "slack_web_openapi_v2_without_examples.json"

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T0DESK"

# Methods newer than the 2021 spec, with what Slack documents as required.
NEWER_METHODS: dict[str, list[str]] = {
    "apps.connections.open": [],
    "files.getUploadURLExternal": ["filename", "length"],
    "files.completeUploadExternal": ["files"],
}
APP_TOKEN_METHODS = {"apps.connections.open"}
# Parameters Slack enforces that the spec does not mark as required.
ALSO_REQUIRED: dict[str, list[str]] = {"users.info": ["user"], "conversations.open": ["users"]}

BLOCK_TYPES = {"section", "actions", "context", "header", "divider", "image", "rich_text"}
# The top-level `text` of a message: Slack cuts it at 40,000 characters; `msg_too_long` is
# the error the spec lists for chat.postMessage and chat.update.
TEXT_LIMIT = 40_000
# All the text in one message's blocks. Slack refuses more with `msg_blocks_too_long`; the
# number is undocumented: a maintainer spoke of "12,000 text characters with a buffer for
# block containers" (slackapi/bolt-js#2509) and a message of 11,341 was refused
# (slackapi/bolt-js#2867), so the fake refuses anything over 11,000.
BLOCKS_TEXT_LIMIT = 11_000


@lru_cache(maxsize=1)
def required_params() -> dict[str, list[str]]:
    """method -> required parameters (without `token`), from the OpenAPI spec."""
    spec = json.loads(WEB_API_SPEC.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for path, ops in spec["paths"].items():
        params: list[str] = []
        for op in ops.values():
            params += [
                p["name"]
                for p in op.get("parameters", [])
                if p.get("required") and p["name"] != "token"
            ]
        out[path.lstrip("/")] = params
    for method, params in NEWER_METHODS.items():
        out.setdefault(method, params)
    for method, params in ALSO_REQUIRED.items():
        out[method] = [*out.get(method, []), *params]
    return out


def dm_of(user: str) -> str:
    """The DM channel id the fake gives the bot's conversation with `user` (U0ALICE -> D0ALICE)."""
    return "D" + user[1:]


def _text_ok(obj: Any, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("type") in kinds
        and isinstance(obj.get("text"), str)
        and 0 < len(obj["text"]) <= limit
    )


def blocks_text(node: Any) -> int:
    """Characters of text in every text object under `node` (mrkdwn and plain_text)."""
    if isinstance(node, dict):
        own = len(node["text"]) if node.get("type") in ("plain_text", "mrkdwn") else 0
        return (own if isinstance(node.get("text"), str) else 0) + sum(
            blocks_text(v) for v in node.values()
        )
    if isinstance(node, list):
        return sum(blocks_text(v) for v in node)
    return 0


def block_problems(blocks: Any, *, limit: int = 50) -> list[str]:
    """Problems Slack would answer `invalid_blocks` for (documented Block Kit limits)."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"{len(blocks)} blocks (max {limit})")
    action_ids: list[str] = []
    for i, block in enumerate(blocks):
        kind = block.get("type")
        where = f"block {i} ({kind})"
        if kind not in BLOCK_TYPES:
            problems.append(f"{where}: unknown type")
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: needs text or fields")
            if "text" in block and not _text_ok(block["text"], 3000):
                problems.append(f"{where}: bad text")
            fields = block.get("fields", [])
            if len(fields) > 10 or not all(_text_ok(f, 2000) for f in fields):
                problems.append(f"{where}: bad fields")
            if "accessory" in block:
                problems += _element_problems(block["accessory"], where, action_ids)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                problems.append(f"{where}: {len(elements)} elements")
            for element in elements:
                problems += _element_problems(element, where, action_ids)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10 or not all(_text_ok(e, 3000) for e in elements):
                problems.append(f"{where}: bad elements")
        elif kind == "header" and not _text_ok(block.get("text"), 150, ("plain_text",)):
            problems.append(f"{where}: header needs plain_text up to 150 characters")
    if len(action_ids) != len(set(action_ids)):
        problems.append(f"duplicate action_id in {action_ids}")
    return problems


def _element_problems(element: dict[str, Any], where: str, action_ids: list[str]) -> list[str]:
    problems: list[str] = []
    kind = element.get("type")
    action_id = element.get("action_id", "")
    action_ids.append(action_id)
    if not 0 < len(action_id) <= 255:
        problems.append(f"{where}: bad action_id")
    if kind == "button":
        if not _text_ok(element.get("text"), 75, ("plain_text",)):
            problems.append(f"{where}: button text must be plain_text up to 75 characters")
        if len(element.get("value", "")) > 2000:
            problems.append(f"{where}: button value too long")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}: bad style {element.get('style')}")
    elif kind == "static_select":
        options = element.get("options", [])
        if not 1 <= len(options) <= 100:
            problems.append(f"{where}: {len(options)} options")
        for option in options:
            if not _text_ok(option.get("text"), 75, ("plain_text",)):
                problems.append(f"{where}: option text")
            if not 0 < len(option.get("value", "")) <= 150:
                problems.append(f"{where}: option value")
        if not _text_ok(element.get("placeholder"), 150, ("plain_text",)):
            problems.append(f"{where}: placeholder")
    else:
        problems.append(f"{where}: unexpected element {kind}")
    return problems


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered

    @property
    def blocks(self) -> list[dict[str, Any]]:
        raw = self.params.get("blocks") or []
        return json.loads(raw) if isinstance(raw, str) else list(raw)

    def block_text(self) -> str:
        """All visible text of the blocks, one piece per line (for assertions)."""
        out: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
                    out.append(node["text"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.blocks or self.params.get("view", {}).get("blocks", []))
        return "\n".join(out)

    def buttons(self) -> dict[str, str]:
        """label -> value of every button and select option."""
        found: dict[str, str] = {}
        for block in self.blocks or self.params.get("view", {}).get("blocks", []):
            elements = block.get("elements", [])
            if "accessory" in block:
                elements = [block["accessory"]]
            for e in elements:
                if e.get("type") == "button":
                    found[e["text"]["text"]] = e["value"]
                for option in e.get("options", []):
                    found[option["text"]["text"]] = option["value"]
        return found


@dataclass
class Failure:
    status: int
    error: str
    retry_after: int | None = None


@dataclass
class FakeSlack:
    """Start with `await fake.start()`; point the app at `fake.api_url`."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    # Called with every answered call (the benchmark uses it to time replies).
    observers: list[Callable[[Call], None]] = field(default_factory=list)
    # Tokens Slack no longer accepts (revoked, or from an uninstalled app): invalid_auth.
    refused_tokens: set[str] = field(default_factory=set)
    # Channels that exist: id -> {"name": ..., "members": {user ids}, "private": bool}.
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._failures: dict[str, list[Failure]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.uploads: dict[str, bytes] = {}  # file id -> bytes received at its upload URL
        self._upload_names: dict[str, tuple[str, int]] = {}  # file id -> (filename, length)
        # Files people "shared" in Slack, served at url_private_download to the bot token.
        self.hosted: dict[str, tuple[str, bytes]] = {}  # file id -> (mimetype, bytes)
        self.downloads: list[tuple[str, str]] = []  # (file id, token) of each download
        self.download_gate: asyncio.Event | None = None  # set: downloads wait until it is
        self.files: list[dict[str, Any]] = []  # completed uploads, with channel and thread
        self._changed = asyncio.Condition()
        self._outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self.url = ""

    # ---- lifecycle ---------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeSlack:
        """Serve on 127.0.0.1 (`port` 0: any free one; a given one: Slack coming up late)."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_get("/link", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # ---- test controls -----------------------------------------------------------------

    def fail_next(
        self, method: str, *, status: int = 429, error: str = "ratelimited", retry_after: int = 1
    ) -> None:
        """Make the next call of `method` fail (429 carries Retry-After)."""
        self._failures.setdefault(method, []).append(
            Failure(status, error, retry_after if status == 429 else None)
        )

    def delete_message(self, channel: str, ts: str) -> None:
        """Someone deleted a message the bot posted."""
        del self._messages[(channel, ts)]

    def host_file(
        self, name: str, data: bytes, mimetype: str, *, size: int | None = None
    ) -> dict[str, Any]:
        """A file someone shares: the file object of the `files` list on their message event
        (as Slack sends it; `size` may claim other than the bytes, as a lie would)."""
        file_id = f"F{next(self._file_ids):07d}"
        self.hosted[file_id] = (mimetype, data)
        url = f"{self.url}/files-pri/{TEAM}-{file_id}/download/{name}"
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rpartition(".")[2],
            "size": len(data) if size is None else size,
            "mode": "hosted",
            "url_private": url.replace("/download/", "/"),
            "url_private_download": url,
        }

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[Call]:
        """Messages posted, to `channel` as asked or as delivered (a user id lands in a DM)."""
        return [
            c
            for c in self.called("chat.postMessage")
            if channel in (None, c.params["channel"], c.result.get("channel"))
        ]

    async def wait_until(self, check: Callable[[], bool], within: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), within)

    async def wait_calls(self, method: str, count: int, within: float = 10.0) -> list[Call]:
        await self.wait_until(lambda: len(self.called(method)) >= count, within)
        return self.called(method)

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected app."""
        await self._outgoing.put(envelope)

    async def wait_ack(self, envelope_id: str, within: float = 10.0) -> dict[str, Any]:
        def acked() -> bool:
            return any(a.get("envelope_id") == envelope_id for a in self.acks)

        await self.wait_until(acked, within)
        return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    # ---- the Web API -------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            raw = await request.text()
            if request.content_type == "application/json":
                params.update(json.loads(raw or "{}"))
            else:
                params.update(parse_qsl(raw))
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        token = token or str(params.pop("token", ""))
        call = Call(method, params, token)
        self.calls.append(call)
        try:
            return await self._answer(call)
        finally:
            for observe in self.observers:
                observe(call)
            async with self._changed:
                self._changed.notify_all()

    def _reject(self, error: str, detail: str, status: int = 200) -> web.Response:
        self.violations.append(detail)
        return web.json_response({"ok": False, "error": error}, status=status)

    async def _answer(self, call: Call) -> web.Response:
        required = required_params()
        if call.method not in required:
            return self._reject("unknown_method", f"{call.method}: not a Slack Web API method")
        if call.token in self.refused_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        want = "xapp-" if call.method in APP_TOKEN_METHODS else "xoxb-"
        if not call.token.startswith(want):
            return self._reject("not_authed", f"{call.method}: needs a {want} token")
        missing = [p for p in required[call.method] if call.params.get(p) in (None, "")]
        if missing:
            return self._reject("invalid_arguments", f"{call.method}: missing {missing}")
        for key, limit in (("blocks", 50),):
            if key in call.params:
                problems = block_problems(call.blocks, limit=limit)
                if problems:
                    return self._reject("invalid_blocks", f"{call.method}: {problems}")
                if blocks_text(call.blocks) > BLOCKS_TEXT_LIMIT:
                    detail = f"{call.method}: {blocks_text(call.blocks)} characters in blocks"
                    return self._reject("msg_blocks_too_long", detail)
        if call.method in ("chat.postMessage", "chat.update"):
            if len(str(call.params.get("text") or "")) > TEXT_LIMIT:
                detail = f"{call.method}: text of {len(str(call.params['text']))} characters"
                return self._reject("msg_too_long", detail)
        if "view" in call.params:
            view = call.params["view"]
            view = json.loads(view) if isinstance(view, str) else view
            call.params["view"] = view
            problems = block_problems(view.get("blocks"), limit=100)
            if problems:
                return self._reject("invalid_blocks", f"{call.method}: {problems}")
        failures = self._failures.get(call.method)
        if failures:
            failure = failures.pop(0)
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        handler = getattr(self, "_" + call.method.replace(".", "_"), None)
        body = handler(call.params) if handler else {}
        call.result = body
        if body.get("ok") is False:
            return web.json_response(body)
        return web.json_response({"ok": True, **body})

    def _auth_test(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {"user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM, "user": "deskbot"}

    def _apps_connections_open(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.url.replace("http://", "ws://") + "/link"}

    def _chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p["channel"])
        channel = dm_of(channel) if channel.startswith("U") else channel
        ts = f"1800000000.{next(self._ts):06d}"
        message = {"ts": ts, "text": p.get("text", ""), "blocks": p.get("blocks")}
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        key = (str(p["channel"]), str(p["ts"]))
        if key not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        self._messages[key].update(text=p.get("text", ""), blocks=p.get("blocks"))
        return {"channel": key[0], "ts": key[1], "text": p.get("text", "")}

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        """A channel the bot cannot see (absent, or private without the bot) is
        channel_not_found, as Slack answers it."""
        channel = self.channels.get(str(p["channel"]))
        if channel is None or (channel.get("private") and BOT_USER not in channel["members"]):
            return {"ok": False, "error": "channel_not_found"}
        return {
            "channel": {
                "id": str(p["channel"]),
                "name": channel["name"],
                "is_channel": not channel.get("private"),
                "is_private": bool(channel.get("private")),
                "is_member": BOT_USER in channel["members"],
                "created": 1700000000,
            }
        }

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": dm_of(str(p["users"]).split(",")[0])}}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p["user"]))
        return {"user": user} if user else {"ok": False, "error": "user_not_found"}

    def _files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._file_ids):07d}"
        self._upload_names[file_id] = (str(p["filename"]), int(p["length"]))
        return {"file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self._upload_names:
            self.violations.append(f"upload to {file_id}: no such upload URL")
            return web.Response(status=404)
        data = await request.read()
        _name, length = self._upload_names[file_id]
        if len(data) != length:
            self.violations.append(f"upload {file_id}: {len(data)} bytes, {length} announced")
            return web.Response(status=400, text="length mismatch")
        self.uploads[file_id] = data
        return web.Response(text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """url_private_download: only with the bot token (Slack shows its sign-in page to
        anyone else)."""
        file_id = request.match_info["team_file"].rpartition("-")[2]
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        if not token.startswith("xoxb-"):
            self.violations.append(f"download of {file_id} without the bot token")
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        if file_id not in self.hosted:
            return web.Response(status=404)
        if self.download_gate is not None:  # a slow file server
            await self.download_gate.wait()
        self.downloads.append((file_id, token))
        mimetype, data = self.hosted[file_id]
        return web.Response(body=data, content_type=mimetype)

    def _files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(p["files"]) if isinstance(p["files"], str) else p["files"]
        missing = [f["id"] for f in files if f["id"] not in self.uploads]
        if missing:
            self.violations.append(f"files.completeUploadExternal: never uploaded {missing}")
            return {"ok": False, "error": "invalid_arguments"}
        for f in files:
            name, _length = self._upload_names.get(f["id"], ("", 0))
            self.files.append(
                {
                    **f,
                    "filename": name,
                    "data": self.uploads[f["id"]],
                    "channel": p.get("channel_id"),
                    "thread_ts": p.get("thread_ts"),
                }
            )
        return {"files": files}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"view": {"id": "V1", **p["view"]}}

    # ---- Socket Mode -------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        sender = asyncio.create_task(self._send_envelopes(ws))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    async with self._changed:
                        self.acks.append(json.loads(msg.data))
                        self._changed.notify_all()
        finally:
            sender.cancel()
        return ws

    async def _send_envelopes(self, ws: web.WebSocketResponse) -> None:
        while not ws.closed:
            envelope = await self._outgoing.get()
            await ws.send_json(envelope)
