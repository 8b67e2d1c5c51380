"""The Telegram channel: a python-telegram-bot `Application` that only translates.

Inbound: updates (long polling or webhook) become `Inbound`s for `Engine.handle`; the
update_id is the event id, so the engine's transaction records it and a redelivery is a
no-op. Outbound: `send` renders a `Message` as Telegram HTML plus an inline keyboard,
splits long texts, paces per chat and turns Telegram's refusals into `DeliveryError`s
the outbox understands (429 -> retry_after, blocked/unknown chat -> permanent).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ApplicationBuilder

from bot.adapters import downloads
from bot.adapters.telegram import render
from bot.adapters.telegram.handlers import Handlers
from bot.adapters.telegram.pacing import Pacer, Pacing
from bot.adapters.telegram.polling import RETRY, Poller, transient
from bot.adapters.telegram.updates import ChatOrderedProcessor, chat_of
from bot.adapters.telegram.webhook import WebhookServer
from bot.base import fitting
from bot.base.channel import DeliveryError
from bot.base.messages import Choice, Message, Outbound, SharedFile
from bot.base.outages import START, until_reachable
from bot.base.yamlfile import ProblemsError
from bot.chat.engine import Engine
from bot.chat.workers import Workers, engine_threads
from bot.desk import Desk

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
DEFAULT_API_URL = "https://api.telegram.org"
STYLES = {"primary": "primary", "danger": "danger"}  # Bot API button styles
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def api_base(api_url: str | None) -> tuple[str, str] | None:
    """PTB's (base_url, base_file_url) for a Bot API server root such as
    `https://api.telegram.org` or a self-hosted telegram-bot-api; a root given with
    PTB's `/bot` suffix is accepted too."""
    if not api_url:
        return None
    root = api_url.rstrip("/").removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


class _Unparsable(Exception):
    """Telegram could not parse our HTML (it should never happen; we fall back to text)."""


class _Moved(Exception):
    """The chat became a supergroup with a new id."""

    def __init__(self, new_chat: int) -> None:
        super().__init__(new_chat)
        self.new_chat = new_chat


class TelegramChannel:
    """Telegram as a deskbot channel: `start`/`stop` receive, `send` shows."""

    name = "telegram"

    def __init__(
        self,
        desk: Desk,
        engine: Engine,
        workers: Workers | None = None,
        *,
        pacing: Pacing | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        concurrency: int = 8,
        poll_timeout: float = 10.0,
    ) -> None:
        # python-telegram-bot 22 is migrating durations (RetryAfter.retry_after...) from int
        # to timedelta and warns on every read unless this opt-in is set; we want the
        # timedelta. Set when a channel is built, not on import: importing changes nothing.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self.desk = desk
        self.engine = engine
        # Given by `deskbot serve` (shared with Slack, closed by it); else our own threads.
        self._own_workers = workers is None
        self.workers = workers or engine_threads(desk, engine, name="telegram-engine")
        self.settings = desk.settings.channels.telegram
        self.pacer = Pacer(pacing or Pacing(), now=monotonic)
        self._sleep = sleep
        self._connect = START.starting(desk.settings.channels.connect_retry)
        self._poll_timeout = poll_timeout
        self._chat_locks: dict[int | str, asyncio.Lock] = {}
        # Store and engine work runs here. SQLite serialises writers anyway, and several
        # threads queueing on its lock only add busy-wait sleeps (measured: 30% slower).
        threads = 1 if desk.store.is_sqlite else concurrency
        self._workers = ThreadPoolExecutor(threads, thread_name_prefix="telegram-store")
        # Parts of a message already shown (and the last one's ref), for a retry midway.
        self._partial: dict[tuple[int | str, str], tuple[int, str | None]] = {}
        self.processor = ChatOrderedProcessor(concurrency)
        # No Updater: our Poller (polling mode) or WebhookServer feeds the Application.
        builder: ApplicationBuilder = (  # type: ignore[type-arg]
            Application.builder()
            .token(self.settings.token)
            .concurrent_updates(self.processor)
            .job_queue(None)
            .updater(None)
        )
        base = api_base(self.settings.api_url)
        if base is not None:
            builder = builder.base_url(base[0]).base_file_url(base[1])
        self.app: Application = builder.build()  # type: ignore[type-arg]
        self.handlers = Handlers(self)
        self.handlers.install(self.app)
        self.webhook: WebhookServer | None = None
        self.failed_updates: set[int] = set()  # webhook mode: answered 500, to come again
        self.poller: Poller | None = None
        # Groups upgraded to supergroups: old id -> new id (kept in the store, see follow).
        self.moves: dict[int | str, int | str] = {}

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (getMe, tried again with backoff while Telegram cannot be reached),
        announce the commands, then receive by polling or webhook."""
        where = f"Telegram ({self.settings.api_url or DEFAULT_API_URL})"
        try:
            await until_reachable(
                self.app.initialize, what=where, transient=transient, backoff=self._connect
            )
        except (InvalidToken, Forbidden) as exc:
            problem = self.desk.settings.problem(
                ("channels", "telegram", "token"),
                f"Telegram refused this token ({type(exc).__name__})",
            )
            raise ProblemsError([problem]) from exc
        self.moves = await self.blocking(self._load_moves)
        await self._announce_commands()
        await self.app.start()
        if self.settings.mode == "webhook":
            hook = self.settings.webhook
            self.webhook = WebhookServer(
                self.app, secret=hook.secret_token, path=hook.path, process=self.process
            )
            await self.webhook.start(hook.listen, hook.port)
            await until_reachable(
                lambda: self.app.bot.set_webhook(
                    url=hook.url, secret_token=hook.secret_token, allowed_updates=ALLOWED_UPDATES
                ),
                what=where,
                transient=transient,
                backoff=self._connect,
            )
        else:
            self.poller = Poller(
                self.app.bot,
                self.app.update_queue,
                self.engine,
                blocking=self.blocking,
                event_id=self.event_id,
                timeout=self._poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                retry=RETRY.starting(self.settings.poll_retry),
                connect=self._connect,
                sleep=self._sleep,
            )
            self.processor.after = self.poller.handled
            await self.poller.start()

    async def receiving(self) -> str | None:
        """None while updates arrive (polling, or the webhook listening); else why not
        (for /readyz)."""
        if self.webhook is not None:
            return None
        if self.poller is not None and self.poller.running:
            return self.poller.failing
        return "not connected yet"

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        if self.webhook is not None:
            await self.webhook.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        # A start refused at getMe left the bot's HTTP clients open, which app.shutdown
        # skips (it was never initialised); this does nothing when that went well.
        await self.app.bot.shutdown()
        self._workers.shutdown(wait=True)
        if self._own_workers:
            await self.workers.close()

    async def blocking(self, work: Callable[..., T], *args: Any) -> T:
        """Run store or engine work off the event loop."""
        # In a copy of this task's context: what it logs and queues keeps the turn's id.
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._workers, context.run, work, *args
        )

    async def process(self, update: Update) -> bool:
        """Handle one update now (webhook mode), keeping per-chat order; False if it failed."""
        await self.app.update_processor.process_update(update, self.app.process_update(update))
        if update.update_id in self.failed_updates:
            self.failed_updates.discard(update.update_id)
            return False
        return True

    @property
    def bot_id(self) -> int:
        return int(self.app.bot.id)

    def event_id(self, update: Update) -> str:
        """update_ids are per bot, so two bots sharing a database never collide."""
        return f"{self.bot_id}:{update.update_id}"

    async def _announce_commands(self) -> None:
        """The command menu (both languages); cosmetic, so a failure is only logged."""
        texts = self.desk.texts
        private = ("start", "help", "status", "cancel", "human")
        group = ("queue", "claim", "kb", "status", "help")
        try:
            for lang in ("en", "zh"):
                code = None if lang == self.desk.settings.language else lang
                for names, scope in (
                    (private, BotCommandScopeAllPrivateChats()),
                    (group, BotCommandScopeAllGroupChats()),
                ):
                    commands = [
                        BotCommand(n, texts.plain(lang, f"telegram.commands.{n}")) for n in names
                    ]
                    await self.app.bot.set_my_commands(commands, scope=scope, language_code=code)
        except TelegramError as exc:
            log.warning("telegram: could not set the command menu: %s", exc)

    # -- chats that moved -----------------------------------------------------------

    def current(self, chat: int | str) -> int | str:
        """Where messages for `chat` go now (a group may have become a supergroup)."""
        for _ in range(4):  # a chain of moves is possible, a cycle is not; stay bounded
            if chat not in self.moves:
                break
            chat = self.moves[chat]
        return chat

    def original(self, chat: int | str) -> int | str:
        """The configured id behind `chat` if it is a group that moved here."""
        for _ in range(4):
            older = next((old for old, new in self.moves.items() if new == chat), None)
            if older is None:
                break
            chat = older
        return chat

    async def follow(self, old: int | str, new: int | str) -> None:
        """Remember that `old` is now `new`: sends go there, and a triage group stays one."""
        if self.moves.get(old) == new:
            return
        self.moves[old] = new
        log.warning(
            "telegram: chat %s became supergroup %s; messages go there now. Put %s in the "
            "config where %s is (queues.<queue>.triage.telegram).",
            old,
            new,
            new,
            old,
        )
        try:
            await self.blocking(self._save_move, str(old), str(new))
        except Exception:  # followed for now all the same; the next send refused re-learns it
            log.exception("telegram: could not store the move of chat %s", old)

    def _load_moves(self) -> dict[int | str, int | str]:
        saved = self.engine.moved_chats(self.name)
        return {chat_of(old): chat_of(new) for old, new in saved.items()}

    def _save_move(self, old: str, new: str) -> None:
        self.engine.record_move(self.name, old, new)

    # -- sending --------------------------------------------------------------------

    def _lock(self, chat: int | str) -> asyncio.Lock:
        lock = self._chat_locks.get(chat)
        if lock is None:
            lock = self._chat_locks[chat] = asyncio.Lock()
        return lock

    def keyboard(self, choices: tuple[Choice, ...]) -> InlineKeyboardMarkup | None:
        """Choices as inline buttons; a value Telegram cannot carry is left out, loudly
        (values are short codes: `bot.base.buttons`)."""
        for choice in choices:
            if not render.fits_callback(choice.value):
                log.error("telegram: button %r dropped: value over 64 bytes", choice.value)
        rows = render.button_rows(choices)
        if not rows:
            return None
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(c.label, callback_data=c.value, style=STYLES.get(c.style))
                    for c in row
                ]
                for row in rows
            ]
        )

    def _language(self, out: Outbound) -> str:
        person = self.desk.directory.get(out.to.person_id)
        return person.language if person else self.desk.settings.language

    def parts(self, out: Outbound, *, most: int = fitting.MAX_PARTS) -> list[list[render.Run]]:
        """`out` as at most `most` texts within Telegram's limits; a cut says where the
        rest is, and buttons that do not fit are counted in a note."""
        texts, lang, message = self.desk.texts, self._language(out), out.message
        pointer = fitting.cut_pointer(texts, lang, message)
        hidden = len(message.choices) - len(render.shown_choices(message.choices))
        note = texts.plain(lang, "limits.more_choices", n=hidden) if hidden else None
        empty = texts.plain(lang, "telegram.empty")
        return render.parts(message, empty=empty, pointer=pointer, note=note, most=most)

    async def send(self, out: Outbound, *, edit: str | None = None) -> str | None:
        """Show `out`; with `edit` ("chat_id:message_id") replace that message in place.

        Returns the "chat_id:message_id" of the message carrying the buttons.
        Raises DeliveryError when Telegram refuses or asks us to slow down.
        """
        chat = self.current(chat_of(out.to.conversation))
        chunks = self.parts(out)
        markup = self.keyboard(out.message.choices)
        try:
            async with self._lock(chat):
                if edit is not None and chunks:
                    # An edit replaces one message: the whole of it must fit in one.
                    [whole] = self.parts(out, most=1)
                    edited = await self._edit(edit, whole, markup)
                    if edited is not None:
                        log.info("telegram: editMessageText of %s done", edited)
                        return edited
                ref = await self._send_new(chat, out.message, chunks, markup)
                log.info("telegram: sendMessage to %s done: %s", chat, ref)
                return ref
        except _Moved as moved:
            new_chat = moved.new_chat
        await self.follow(chat, new_chat)
        # Message ids do not move with the chat, so the message is sent anew there.
        async with self._lock(new_chat):
            try:
                ref = await self._send_new(new_chat, out.message, chunks, markup)
            except _Moved as again:
                raise DeliveryError(f"chat {chat} moved twice ({again.new_chat})") from again
        log.info("telegram: sendMessage to %s (moved from %s) done: %s", new_chat, chat, ref)
        return ref

    async def _send_new(
        self,
        chat: int | str,
        message: Message,
        chunks: list[list[render.Run]],
        markup: InlineKeyboardMarkup | None,
    ) -> str | None:
        # The parts go out one by one (text chunks, then the image). A retry after a
        # failure midway resumes after the parts already shown instead of repeating them.
        key = (chat, hashlib.sha256(repr((chunks, message)).encode()).hexdigest())
        done, ref = self._partial.get(key, (0, None))
        # A ticket's files are read first: a store that does not answer delays the whole
        # message (the outbox tries again) rather than sending it without them.
        files = await downloads.shared_bytes(self.desk.settings, message.files)
        try:
            for i, chunk in enumerate(chunks):
                if i >= done:
                    last = i == len(chunks) - 1
                    sent = await self._send_chunk(chat, chunk, markup if last else None)
                    ref = f"{sent.chat_id}:{sent.message_id}"
                    self._partial[key] = (i + 1, ref)
            if message.image:
                await self._send_image(chat, message.image)
            for shared, data in files:
                await self._send_document(chat, shared, data)
        except DeliveryError as exc:
            if exc.permanent:
                self._partial.pop(key, None)
            raise
        self._partial.pop(key, None)
        return ref

    async def _send_chunk(
        self, chat: int | str, chunk: list[render.Run], markup: InlineKeyboardMarkup | None
    ) -> Any:
        bot = self.app.bot
        try:
            return await self._call(
                chat,
                lambda: bot.send_message(
                    chat,
                    render.to_html(chunk),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                ),
            )
        except _Unparsable:
            log.error("telegram refused our HTML; sending the text without formatting")
            plain = "".join(r.text for r in chunk)
            return await self._call(
                chat,
                lambda: bot.send_message(
                    chat, plain, reply_markup=markup, link_preview_options=NO_PREVIEW
                ),
            )

    async def _send_image(self, chat: int | str, path: str) -> None:
        try:
            data = await self.blocking(Path(path).read_bytes)
        except OSError as exc:
            log.error("telegram: image %s not sent: %s", path, exc)
            return
        await self._call(chat, lambda: self.app.bot.send_photo(chat, data))

    async def _send_document(self, chat: int | str, shared: SharedFile, data: bytes) -> None:
        """A ticket's file, re-shared (sendDocument, uploaded under its own name)."""
        bot = self.app.bot
        await self._call(chat, lambda: bot.send_document(chat, data, filename=shared.name))

    async def _edit(
        self, ref: str, chunk: list[render.Run], markup: InlineKeyboardMarkup | None
    ) -> str | None:
        """Edit in place; None when the old message is gone, so a new one is sent."""
        raw_chat, _, raw_id = ref.rpartition(":")
        chat = chat_of(raw_chat)
        if self.current(chat) != chat:
            return None  # its chat moved: the old message cannot be edited
        if not raw_id.isdigit():
            return None
        try:
            await self._call(
                chat,
                lambda: self.app.bot.edit_message_text(
                    render.to_html(chunk),
                    chat_id=chat,
                    message_id=int(raw_id),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                ),
            )
        except _Unparsable:
            return None
        except DeliveryError as exc:
            if "not modified" in str(exc).lower():
                return ref  # the same content again: nothing to change
            if exc.permanent:
                log.info("telegram: cannot edit %s (%s); sending it anew", ref, exc)
                return None
            raise
        return ref

    async def _call(self, chat: int | str, request: Callable[[], Awaitable[T]]) -> T:
        """One API call to `chat`: paced, and with Telegram's errors translated."""
        wait = self.pacer.wait(chat)
        if wait > self.pacer.pacing.max_wait:
            raise DeliveryError(f"pacing chat {chat}: next slot in {wait:.1f}s", retry_after=wait)
        if wait > 0:
            await self._sleep(wait)
        try:
            result = await request()
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            self.pacer.block(chat, seconds)
            raise DeliveryError(f"telegram flood control: {exc}", retry_after=seconds) from exc
        except ChatMigrated as exc:
            raise _Moved(exc.new_chat_id) from exc
        except Forbidden as exc:
            raise DeliveryError(f"telegram refused: {exc}", permanent=True) from exc
        except BadRequest as exc:
            if "parse entities" in exc.message.lower():
                raise _Unparsable(exc.message) from exc
            raise DeliveryError(f"telegram bad request: {exc.message}", permanent=True) from exc
        except NetworkError as exc:  # includes TimedOut: worth another try later
            raise DeliveryError(f"telegram unreachable: {exc}") from exc
        except TelegramError as exc:
            raise DeliveryError(f"telegram error: {exc}") from exc
        self.pacer.sent(chat)
        return result


def build(desk: Desk, engine: Engine, workers: Workers | None = None) -> TelegramChannel:
    """Entry point used by `deskbot serve` when channels.telegram is active."""
    return TelegramChannel(desk, engine, workers)
