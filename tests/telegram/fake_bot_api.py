"""A local stand-in for the Telegram Bot API: a real HTTP server on 127.0.0.1 (port 0).

It answers the methods deskbot uses, checks every call against the published spec
(method, parameter names, required parameters, types, nested objects), enforces
Telegram's own rules where they matter to us (HTML parse mode, 4096 characters,
64-byte callback data, "message is not modified", one answer per callback query), and
can be told to fail (429 with retry_after, 403 blocked). Everything wrong is collected
in `problems`; the fixture fails the test when any remain.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.telegram.spec import Upload, check_call, check_object
from tests.telegram.tg_html import HtmlError, utf16_len, visible_text

TOKEN = "123456:TEST-TOKEN"
# Inline keyboards: at most 100 buttons, 8 to a row (python-telegram-bot's
# InlineKeyboardMarkupLimit); Telegram also refuses a keyboard of about 10 kB of JSON
# (tginfo/Telegram-Limits#187), all three with "reply markup is too long".
MAX_BUTTONS = 100
PER_ROW = 8
MARKUP_BYTES = 10_000
TOAST_LIMIT = 200  # answerCallbackQuery text: "0-200 characters" (the spec)
CAPTION_LIMIT = 1024  # sendPhoto caption: "0-1024 characters after entities parsing"
BOT = {"id": 999000, "is_bot": True, "first_name": "Desk", "username": "deskbot_test_bot"}


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to = migrate_to

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        if self.migrate_to is not None:
            body["parameters"] = {"migrate_to_chat_id": self.migrate_to}
        return body


@dataclass
class Call:
    method: str
    params: dict[str, Any]

    def json(self, name: str) -> Any:
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value


@dataclass
class Shown:
    """A message as the chat shows it now (edits change it in place)."""

    chat_id: int
    message_id: int
    html: str
    text: str
    reply_markup: dict[str, Any] | None = None
    edits: int = 0
    photo: bool = False

    @property
    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def button(self, label: str) -> str:
        for text, data in self.buttons:
            if text == label:
                return data
        raise AssertionError(f"no button {label!r} in {self.buttons}")


@dataclass
class FakeBotAPI:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    migrated: dict[int, int] = field(default_factory=dict)  # group id -> its supergroup's
    webhook: dict[str, Any] | None = None
    answers: dict[str, str | None] = field(default_factory=dict)  # query id -> toast text
    # Groups that exist: chat id -> {"title": ..., "members": {user ids}, "public": bool}.
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._queue: list[dict[str, Any]] = []
        self._forced: set[int] = set()
        self._open_queries: set[str] = set()
        self.delivered: list[int] = []  # update_ids as returned by getUpdates
        self._update_ids = itertools.count(5001)
        self._query_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._failures: dict[str, list[tuple[int, ApiError]]] = defaultdict(list)
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._holds: dict[str, asyncio.Event] = {}
        # Files people sent, by file_id: what getFile describes and /file/bot<token>/ serves.
        self.hosted: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.downloads: list[str] = []  # file_ids downloaded (with the right token)
        self.documents: list[tuple[int, str, bytes]] = []  # sendDocument: chat, name, bytes

    # -- server --------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> FakeBotAPI:
        """Serve on 127.0.0.1 (`port` 0: any free one; a given one: Telegram coming up late)."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._route)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        self._closing.set()
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _route(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params = await self._params(request)
        self.calls.append(Call(method, params))
        # Waiters look again as each call arrives, not only once it is answered: a long
        # poll that asks for a higher offset has confirmed the updates before its answer.
        async with self._changed:
            self._changed.notify_all()
        held = self._holds.get(method)
        if held is not None:
            await held.wait()
        try:
            problems = check_call(method, params)
            if problems:
                self.problems += problems
                raise ApiError(400, f"Bad Request: {problems[0]}")
            pending = self._failures[method]
            if pending:
                ok_left, error = pending[0]
                if ok_left == 0:
                    pending.pop(0)
                    raise error
                pending[0] = (ok_left - 1, error)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                self.problems.append(f"{method}: the fake does not implement it")
                raise ApiError(404, "Not Found")
            result = await handler(params)
            returns = _spec_returns(method)
            if returns and returns not in ("Boolean", "True"):
                self.problems += check_object(returns, result, f"{method} result")
            body: dict[str, Any] = {"ok": True, "result": result}
            status = 200
        except ApiError as exc:
            body, status = exc.body(), exc.code
        async with self._changed:
            self._changed.notify_all()
        return web.json_response(body, status=status)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = value
            elif isinstance(value, web.FileField):  # an uploaded file part
                data = value.file.read()
                params[key] = Upload(value.filename, len(data), data)
            else:
                params[key] = bytes(value).decode()
        return params

    async def _file(self, request: web.Request) -> web.Response:
        """A file's bytes at https://api.telegram.org/file/bot<token>/<file_path>."""
        if request.match_info["token"] != self.token:
            self.problems.append("file download without the bot's token")
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        for file_id, (file_path, data) in self.hosted.items():
            if file_path == path:
                self.downloads.append(file_id)
                return web.Response(body=data, content_type="application/octet-stream")
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    # -- driving it from tests -------------------------------------------------------

    def host_file(self, data: bytes, kind: str = "documents", ext: str = "bin") -> str:
        """A file someone sent: its file_id, for a `photo` or `document` in an update."""
        n = len(self.hosted) + 1
        file_id = f"AgAD{n:04d}file"
        self.hosted[file_id] = (f"{kind}/file_{n}.{ext}", data)
        return file_id

    def photo(self, data: bytes) -> list[dict[str, Any]]:
        """A `photo` as Telegram sends it: sizes from small to large (the last is this one)."""
        thumb = self.host_file(data[:64], "photos", "jpg")
        full = self.host_file(data, "photos", "jpg")
        return [
            {
                "file_id": thumb,
                "file_unique_id": "t" + thumb,
                "width": 90,
                "height": 60,
                "file_size": 64,
            },
            {
                "file_id": full,
                "file_unique_id": "u" + full,
                "width": 1280,
                "height": 800,
                "file_size": len(data),
            },
        ]

    def document(
        self, data: bytes, name: str, mime: str, *, size: int | None = None
    ) -> dict[str, Any]:
        file_id = self.host_file(data, "documents", name.rpartition(".")[2] or "bin")
        return {
            "file_id": file_id,
            "file_unique_id": "u" + file_id,
            "file_name": name,
            "mime_type": mime,
            "file_size": len(data) if size is None else size,
        }

    def fail(
        self,
        method: str,
        *,
        code: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make `times` calls of `method` fail like Telegram does, once `after` calls
        have succeeded."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}" if code == 429 else "Bad Request"
            )
        for i in range(times):
            self._failures[method].append(
                (after if i == 0 else 0, ApiError(code, description, retry_after))
            )

    def hold(self, method: str) -> asyncio.Event:
        """Answer calls of `method` only once the returned event is set (a slow Telegram)."""
        held = self._holds[method] = asyncio.Event()
        return held

    def user(self, uid: int, first_name: str = "Someone", language: str = "en") -> dict[str, Any]:
        return {"id": uid, "is_bot": False, "first_name": first_name, "language_code": language}

    def chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": "IT triage"}

    def migrate(self, group: int, supergroup: int) -> list[dict[str, Any]]:
        """Upgrade `group` to `supergroup` as Telegram does: the old id is refused from now
        on, and each chat gets a service message (returned as updates, not yet pushed)."""
        self.migrated[group] = supergroup
        admin = self.user(1006, "Alex")
        return [
            {
                "update_id": next(self._update_ids),
                "message": {
                    "message_id": next(self._message_ids[chat]),
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": kind, "title": "IT triage"},
                    "from": admin,
                    key: other,
                },
            }
            for chat, kind, key, other in (
                (group, "group", "migrate_to_chat_id", supergroup),
                (supergroup, "supergroup", "migrate_from_chat_id", group),
            )
        ]

    def message_update(
        self,
        uid: int,
        text: str | None,
        *,
        chat_id: int | None = None,
        language: str = "en",
        reply_to: Shown | None = None,
        photo: bool = False,
        sender: dict[str, Any] | None = None,
        caption: str | None = None,
        attached: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        chat = chat_id if chat_id is not None else uid
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat]),
            "date": int(time.time()),
            "chat": self.chat(chat),
            "from": sender or self.user(uid, language=language),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(" ", 1)[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if photo:
            message["photo"] = [
                {"file_id": "ph1", "file_unique_id": "u1", "width": 10, "height": 10}
            ]
        if caption is not None:
            message["caption"] = caption
            if caption.startswith("/"):
                length = len(caption.split(" ", 1)[0])
                message["caption_entities"] = [
                    {"type": "bot_command", "offset": 0, "length": length}
                ]
        message.update(attached or {})  # {"photo": [...]} or {"document": {...}}
        if reply_to is not None:
            message["reply_to_message"] = self._as_message(reply_to)
        return {"update_id": next(self._update_ids), "message": message}

    def press_update(self, uid: int, shown: Shown, data: str) -> dict[str, Any]:
        """A callback query from pressing a button of a message the bot showed."""
        query_id = f"q{next(self._query_ids)}"
        self._open_queries.add(query_id)
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": query_id,
                "from": self.user(uid),
                "message": self._as_message(shown),
                "chat_instance": f"ci{shown.chat_id}",
                "data": data,
            },
        }

    def push(self, update: dict[str, Any], *, redeliver: bool = False) -> dict[str, Any]:
        """Queue an update for getUpdates; `redeliver` sends it again even if confirmed
        (what happens when a bot crashed before confirming)."""
        self.problems += check_object("Update", update, "pushed update")
        self._queue.append(update)
        if redeliver:
            self._forced.add(update["update_id"])
        asyncio.get_running_loop().create_task(self._notify())
        return update

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], object], within: float = 10.0) -> None:
        """Wait until `predicate()` holds (re-checked as each API call arrives and once it
        is answered); the time limit only turns a hang into a failure."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def in_chat(self, chat_id: int) -> list[Shown]:
        return [s for s in self.shown if s.chat_id == chat_id]

    def texts(self, chat_id: int) -> str:
        return "\n".join(s.text for s in self.in_chat(chat_id))

    # -- methods ----------------------------------------------------------------------

    async def _m_getMe(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {**BOT, "can_join_groups": True, "can_read_all_group_messages": False}

    async def _m_deleteWebhook(self, _p: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _m_setWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = dict(p)
        return True

    def _group(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = self._chat_id(p)
        group = self.groups.get(chat_id)
        if group is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id, group

    async def _m_getChat(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id, group = self._group(p)
        if BOT["id"] not in group["members"] and not group.get("public"):
            # A bot outside a private group cannot look it up (Telegram says the same).
            raise ApiError(400, "Bad Request: chat not found")
        return {
            "id": chat_id,
            "type": "supergroup",
            "title": group["title"],
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(
                (
                    "unlimited_gifts",
                    "limited_gifts",
                    "unique_gifts",
                    "premium_subscription",
                    "gifts_from_channels",
                ),
                False,
            ),
        }

    async def _m_getChatMember(self, p: dict[str, Any]) -> dict[str, Any]:
        _chat_id, group = self._group(p)
        user_id = int(p["user_id"])
        user = BOT if user_id == BOT["id"] else self.user(user_id)
        status = "member" if user_id in group["members"] else "left"
        return {"status": status, "user": user}

    async def _m_setMyCommands(self, _p: dict[str, Any]) -> bool:
        return True

    async def _m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset", 0) or 0)
        timeout = int(p.get("timeout", 0) or 0)
        limit = int(p.get("limit", 100) or 100)

        def confirm() -> list[dict[str, Any]]:
            # An update is confirmed once getUpdates is called with a higher offset.
            self._queue = [
                u for u in self._queue if u["update_id"] >= offset or u["update_id"] in self._forced
            ]
            return self._queue[:limit]

        ready = confirm()
        if not ready and timeout > 0 and not self._closing.is_set():
            async with self._changed:
                try:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(confirm()) or self._closing.is_set()),
                        timeout,
                    )
                except TimeoutError:
                    pass
            ready = confirm()
        for u in ready:
            self._forced.discard(u["update_id"])
            self.delivered.append(u["update_id"])
        return ready

    def _check_text(self, p: dict[str, Any], name: str = "text") -> str:
        raw = p.get(name, "")
        if p.get("parse_mode") == "HTML":
            try:
                text = visible_text(raw)
            except HtmlError as exc:
                self.problems.append(f"HTML refused: {exc}: {raw!r:.200}")
                raise ApiError(400, f"Bad Request: {exc}") from exc
        elif p.get("parse_mode"):
            raise ApiError(400, "Bad Request: unsupported parse_mode in this fake")
        else:
            text = raw
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            self.problems.append(f"message too long: {utf16_len(text)} characters")
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _check_markup(self, p: dict[str, Any]) -> dict[str, Any] | None:
        if "reply_markup" not in p:
            return None
        markup: dict[str, Any] = json.loads(p["reply_markup"])
        rows = markup.get("inline_keyboard", [])
        buttons = sum(len(row) for row in rows)
        size = len(json.dumps(markup, ensure_ascii=False, separators=(",", ":")).encode())
        if buttons > MAX_BUTTONS or any(len(row) > PER_ROW for row in rows) or size > MARKUP_BYTES:
            self.problems.append(
                f"keyboard of {buttons} buttons, rows of {[len(r) for r in rows]}, {size} bytes"
            )
            raise ApiError(400, "Bad Request: reply markup is too long")
        for row in rows:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    self.problems.append(f"callback_data of {len(data.encode())} bytes")
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _chat_id(self, p: dict[str, Any]) -> int:
        chat_id = int(p["chat_id"])
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to=self.migrated[chat_id],
            )
        return chat_id

    def _as_message(self, shown: Shown) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": shown.message_id,
            "date": int(time.time()),
            "chat": self.chat(shown.chat_id),
            "from": BOT,
        }
        if shown.photo:
            message["photo"] = [
                {"file_id": "ph1", "file_unique_id": "u1", "width": 10, "height": 10}
            ]
        else:
            message["text"] = shown.text
        if shown.reply_markup:
            message["reply_markup"] = shown.reply_markup
        if shown.edits:
            message["edit_date"] = int(time.time())
        return message

    def _find(self, p: dict[str, Any]) -> Shown:
        chat_id, message_id = self._chat_id(p), int(p.get("message_id", 0))
        for s in self.shown:
            if s.chat_id == chat_id and s.message_id == message_id:
                return s
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(p)
        text = self._check_text(p)
        markup = self._check_markup(p)
        shown = Shown(chat_id, next(self._message_ids[chat_id]), p["text"], text, markup)
        self.shown.append(shown)
        return self._as_message(shown)

    async def _m_sendPhoto(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(p)
        if not isinstance(p["photo"], Upload) or p["photo"].size == 0:
            raise ApiError(400, "Bad Request: photo must be an uploaded file here")
        if "caption" in p:
            caption = visible_text(p["caption"]) if p.get("parse_mode") == "HTML" else p["caption"]
            if utf16_len(caption) > CAPTION_LIMIT:
                self.problems.append(f"caption of {utf16_len(caption)} characters")
                raise ApiError(400, "Bad Request: message caption is too long")
        shown = Shown(chat_id, next(self._message_ids[chat_id]), "", "", None, photo=True)
        self.shown.append(shown)
        return self._as_message(shown)

    async def _m_getFile(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = p["file_id"]
        if file_id not in self.hosted:
            raise ApiError(400, "Bad Request: invalid file_id")
        file_path, data = self.hosted[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": "u" + file_id,
            "file_size": len(data),
            "file_path": file_path,
        }

    async def _m_sendDocument(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(p)
        document = p["document"]
        if not isinstance(document, Upload) or document.size == 0:
            raise ApiError(400, "Bad Request: document must be an uploaded file here")
        self.documents.append((chat_id, document.name, document.data))
        shown = Shown(chat_id, next(self._message_ids[chat_id]), "", "", None)
        self.shown.append(shown)
        message = self._as_message(shown)
        message.pop("text", None)
        message["document"] = {
            "file_id": f"doc{shown.message_id}",
            "file_unique_id": f"udoc{shown.message_id}",
            "file_name": document.name,
            "file_size": document.size,
        }
        return message

    async def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        shown = self._find(p)
        text = self._check_text(p)
        markup = self._check_markup(p)
        if p["text"] == shown.html and markup == shown.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        shown.html, shown.text, shown.reply_markup = p["text"], text, markup
        shown.edits += 1
        return self._as_message(shown)

    async def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        shown = self._find(p)
        markup = self._check_markup(p)
        if markup == shown.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        shown.reply_markup = markup
        shown.edits += 1
        return self._as_message(shown)

    async def _m_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        query_id = p["callback_query_id"]
        if query_id not in self._open_queries:
            self.problems.append(f"answerCallbackQuery for unknown or answered query {query_id}")
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = p.get("text") or ""
        if utf16_len(text) > TOAST_LIMIT:
            self.problems.append(f"answerCallbackQuery text of {utf16_len(text)} characters")
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self.answers[query_id] = p.get("text")
        return True

    def unanswered(self) -> set[str]:
        return set(self._open_queries)


def _spec_returns(method: str) -> str | None:
    from tests.telegram.spec import spec

    returns = spec()["methods"][method].get("returns", [])
    if len(returns) != 1:
        return None
    name: str = returns[0]
    return None if name.startswith("Array of") and name != "Array of Update" else name
