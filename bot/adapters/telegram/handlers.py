"""Receiving: each update becomes one `Inbound` for the engine (or, for someone the
directory does not know, the linking conversation), and the replies go back out.

Blocking work (store, engine) runs in the channel's worker threads (one hop per update),
so the event loop keeps polling, answering callback queries and sending meanwhile.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from telegram import CallbackQuery, Chat, Update
from telegram import Message as TgMessage
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.adapters import downloads
from bot.adapters.telegram.polling import Poller
from bot.adapters.telegram.render import utf16_len
from bot.adapters.telegram.updates import chat_of, conversation_key, group_text, language_of
from bot.base import logcontext
from bot.base.channel import Channel, turn_origin
from bot.base.markup import to_plain
from bot.base.messages import Address, Inbound, InboundFile, Message, Outbound, run_together
from bot.base.outages import Unavailable, patiently
from bot.chat.engine import Engine
from bot.chat.workers import Workers
from bot.desk import Desk
from bot.directory import Person
from notifications.replies import deliver_replies

log = logging.getLogger(__name__)
T = TypeVar("T")

TOAST_LIMIT = 200  # answerCallbackQuery text
Context = ContextTypes.DEFAULT_TYPE


@dataclass(frozen=True)
class SentFile:
    """A photo or document on a message, as Telegram describes it (fetched with getFile)."""

    file_id: str
    name: str
    mime: str
    size: int


def files_of(message: TgMessage) -> tuple[SentFile, ...]:
    """The photo (its largest size) or document of a message."""
    if message.photo:
        largest = message.photo[-1]
        name = f"photo-{largest.file_unique_id}.jpg"
        return (SentFile(largest.file_id, name, "image/jpeg", largest.file_size or 0),)
    document = message.document
    if document is not None:
        name = document.file_name or f"file-{document.file_unique_id}"
        mime = document.mime_type or ""
        return (SentFile(document.file_id, name, mime, document.file_size or 0),)
    return ()


@dataclass(frozen=True)
class Received:
    """What the worker thread needs from an update (no telegram objects cross over)."""

    event_id: str
    user_id: str
    language_code: str | None
    conversation: str
    private: bool
    text: str = ""
    action: str | None = None
    files: tuple[SentFile, ...] = ()
    about: str | None = None  # the ticket of the bot's message this replies to


class Host(Channel, Protocol):
    """What the handlers need of the channel that installs them (`TelegramChannel`)."""

    desk: Desk
    engine: Engine
    app: Application  # type: ignore[type-arg]
    workers: Workers
    poller: Poller | None
    failed_updates: set[int]

    def event_id(self, update: Update) -> str: ...

    async def blocking(self, work: Callable[..., T], *args: Any) -> T: ...

    def original(self, chat: int | str) -> int | str: ...

    async def follow(self, old: int | str, new: int | str) -> None: ...


class Handlers:
    def __init__(self, channel: Host) -> None:
        self.channel = channel
        self.desk = channel.desk
        self.engine = channel.engine
        # Technician commands show ticket titles; only configured triage groups may see them.
        self.triage_chats = {
            chat_of(queue.triage.telegram)
            for queue in self.desk.settings.queues.values()
            if queue.triage.telegram
        }

    def install(self, app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(filters.ChatType.PRIVATE, self.on_private))
        said = filters.TEXT | filters.CAPTION | filters.PHOTO | filters.Document.ALL
        app.add_handler(MessageHandler(filters.ChatType.GROUPS & said, self.on_group))
        app.add_error_handler(self.on_error)

    # -- handlers -------------------------------------------------------------------

    async def gate(self, update: Update, _context: Context) -> None:
        """Drop what we never handle: bots, chatless updates, and buttons already pressed.

        Exactly-once handling comes from claiming the update_id in the same transaction as
        its effects (engine, linking). The early look here is only for a redelivered
        button press, so its callback query is not answered twice.
        """
        user, chat = update.effective_user, update.effective_chat
        message = update.message
        if message is not None and (message.migrate_to_chat_id or message.migrate_from_chat_id):
            return  # Telegram's own notice, possibly without a sender
        if update.callback_query is not None and chat is None:
            await self._answer(update.callback_query)  # not from our messages; still answered
            raise ApplicationHandlerStop
        if user is None or user.is_bot or chat is None:
            raise ApplicationHandlerStop
        if update.callback_query is None:
            return
        event_id = self.channel.event_id(update)
        if await self._patiently(
            lambda: self.channel.blocking(self.engine.seen, "telegram", event_id), event_id
        ):
            log.info("telegram: update %s already handled; skipped", update.update_id)
            raise ApplicationHandlerStop

    async def on_private(self, update: Update, _context: Context) -> None:
        message, user, chat = update.effective_message, update.effective_user, update.effective_chat
        assert message is not None and user is not None and chat is not None
        received = Received(
            event_id=self.channel.event_id(update),
            user_id=str(user.id),
            language_code=user.language_code,
            conversation=conversation_key(chat),
            private=True,
            text=message.text or message.caption or "",
            files=files_of(message),
            about=self._replied_ticket(message),
        )
        with _turn(received):
            await self._deliver(await self._handle(received), received)

    async def on_group(self, update: Update, _context: Context) -> None:
        message, user, chat = update.effective_message, update.effective_user, update.effective_chat
        assert message is not None and user is not None and chat is not None
        bot = self.channel.app.bot
        text = group_text(message, bot.username, bot.id)
        if text is None:
            return
        received = Received(
            event_id=self.channel.event_id(update),
            user_id=str(user.id),
            language_code=user.language_code,
            conversation=conversation_key(chat),
            private=False,
            text=text,
            files=files_of(message),
            about=self._replied_ticket(message),
        )
        with _turn(received):
            if self.is_triage(chat.id):
                replies = await self._handle(received)
            else:
                replies = await self._outside_triage(received)
            await self._deliver(replies, received)

    async def on_migrate(self, update: Update, _context: Context) -> None:
        """A group became a supergroup: both chats announce it; either is enough."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None
        if message.migrate_to_chat_id:
            await self.channel.follow(chat.id, message.migrate_to_chat_id)
        elif message.migrate_from_chat_id:
            await self.channel.follow(message.migrate_from_chat_id, chat.id)

    def _replied_ticket(self, message: TgMessage) -> str | None:
        """The ticket number in the bot's message that `message` replies to (files sent as
        a reply to "Dana from IT about IT-1042: ..." are for IT-1042)."""
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or not replied.from_user.is_bot:
            return None
        pattern = rf"\b{re.escape(self.desk.settings.ticket_prefix)}-\d+\b"
        found = re.search(pattern, replied.text or replied.caption or "")
        return found.group(0) if found else None

    def is_triage(self, chat: int) -> bool:
        return self.channel.original(chat) in self.triage_chats

    async def on_button(self, update: Update, _context: Context) -> None:
        """A pressed inline button. Every callback query is answered, whatever happens.

        In a private chat the button's keyboard is removed (it has done its job). In a
        group (triage) a short single reply is shown as a toast to the presser instead of
        a message everyone sees; the card itself is updated by the outbox.
        """
        query, user, chat = update.callback_query, update.effective_user, update.effective_chat
        assert query is not None and user is not None and chat is not None
        pressed = Received(
            event_id=self.channel.event_id(update),
            user_id=str(user.id),
            language_code=user.language_code,
            conversation=conversation_key(chat),
            private=chat.type == Chat.PRIVATE,
            action=query.data,
        )
        with _turn(pressed):
            await self._on_button(query, chat, pressed)

    async def _on_button(self, query: CallbackQuery, chat: Chat, received: Received) -> None:
        private = received.private
        answered = False
        try:
            if not query.data:
                return
            if private:
                answered = True
                await self._answer(query)
                await self._clear_keyboard(query)
            if private or self.is_triage(chat.id):
                replies = await self._handle(received)
            else:
                replies = await self._outside_triage(received)
            toast = None if private else _toast(replies)
            if toast is not None and await self._answer(query, toast):
                answered = True
                return
            await self._deliver(replies, received)
        finally:
            if not answered:
                await self._answer(query)

    async def on_error(self, update: object, context: Context) -> None:
        if isinstance(context.error, Unavailable):
            number = update.update_id if isinstance(update, Update) else update
            log.error(
                "telegram: update %s not handled: the database stayed unavailable (%s); %s",
                number,
                context.error,
                "kept for the next start" if self.channel.poller else "Telegram sends it again",
            )
        else:
            # The update's number, not the update: it holds what the person wrote.
            number = update.update_id if isinstance(update, Update) else type(update).__name__
            log.error("telegram: update %s failed", number, exc_info=context.error)
        if self.channel.poller is not None:
            self.channel.poller.failed(update)
        elif isinstance(update, Update):
            self.channel.failed_updates.add(update.update_id)

    # -- helpers --------------------------------------------------------------------

    async def _answer(self, query: CallbackQuery, text: str | None = None) -> bool:
        """Answer the query (stops the spinner); False when Telegram did not take it."""
        try:
            await query.answer(text=text)
        except TelegramError as exc:  # too late or flood control: nothing to redo
            log.warning("telegram: callback query not answered: %s", exc)
            return False
        return True

    async def _clear_keyboard(self, query: CallbackQuery) -> None:
        message = query.message
        if not isinstance(message, TgMessage) or message.reply_markup is None:
            return
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramError as exc:  # cosmetic; the press itself still counts
            log.info("telegram: keyboard not removed: %s", exc)

    async def _deliver(self, replies: list[Outbound], received: Received) -> None:
        await deliver_replies(
            self.channel,
            run_together(replies),
            store=self.desk.store,
            now=self.desk.clock.now(),
            origin=turn_origin("telegram", received.event_id),
        )

    async def _patiently(self, work: Callable[[], Awaitable[T]], event_id: str) -> T:
        """`work()`; when polling, tried again while the database cannot be reached (for
        `engine.retry_for`): Telegram was told the update arrived. A webhook update fails
        at once instead, and Telegram sends it again after our 500."""
        if self.channel.poller is None:
            return await work()
        return await patiently(
            work,
            what=f"telegram update {event_id}",
            within=self.desk.settings.engine.retry_for.total_seconds(),
        )

    async def _outside_triage(self, received: Received) -> list[Outbound]:
        return await self._patiently(
            lambda: self.channel.blocking(self.outside_triage, received), received.event_id
        )

    async def _handle(self, received: Received) -> list[Outbound]:
        return await self._patiently(lambda: self._turn(received), received.event_id)

    async def _turn(self, received: Received) -> list[Outbound]:
        """Identify the sender and hand the message to the engine; strangers get linking.

        People in the directory are known without the store, so their messages go straight
        to the engine's workers (a child process under `deskbot serve`); the rest is store
        work on the worker thread.
        """
        person = self.desk.directory.by_telegram(received.user_id)
        logcontext.set_person(person.id if person else None)
        if person is None or _nothing_typed(received):
            ready = await self.channel.blocking(self.receive, received)
        else:
            ready = self._inbound(received, person)
        if isinstance(ready, Inbound):
            if received.files:
                ready = replace(ready, files=await self._download(received.files))
            return await self.channel.workers.run(ready)
        return ready

    async def _download(self, files: tuple[SentFile, ...]) -> tuple[InboundFile, ...]:
        """Keep the message's files (bot/adapters/downloads.py): getFile, then the file's
        URL, which carries the bot token (so it is never logged)."""
        return await downloads.keep_all(
            self.desk.settings,
            (
                downloads.Offered(
                    f.name, f.mime, f.size, f.file_id, functools.partial(self._fetch, f.file_id)
                )
                for f in files
            ),
        )

    async def _fetch(self, file_id: str, limit: int) -> bytes:
        found = await self.channel.app.bot.get_file(file_id)
        if found.file_size and found.file_size > limit:
            raise downloads.TooBig
        return bytes(await found.download_as_bytearray())

    @staticmethod
    def _inbound(received: Received, person: Person) -> Inbound:
        return Inbound(
            "telegram",
            received.conversation,
            person.id,
            text=received.text,
            action=received.action,
            event_id=received.event_id,
            account=received.user_id,
            correlation=logcontext.correlation_id(),
            about=received.about,
        )

    # -- in the worker thread --------------------------------------------------------

    def receive(self, received: Received) -> Inbound | list[Outbound]:
        """Who sent it (a linked account needs the store): the engine's input, or replies
        for a stranger (linking) or a message without text."""
        person = self._identify(received.user_id)
        if person is None:
            return self._stranger(received)
        if _nothing_typed(received):
            return self._text_only(received, person)
        return self._inbound(received, person)

    def _identify(self, user_id: str) -> Person | None:
        person = self.desk.directory.by_telegram(user_id)
        if person is not None:
            return person
        return self.engine.identify("telegram", user_id)

    def outside_triage(self, received: Received) -> list[Outbound]:
        """A group that is no queue's triage group: point people to a private chat."""
        desk = self.desk
        lang = language_of(received.language_code, desk.settings.language)
        text = desk.texts.render(lang, "telegram.not_triage")
        out = Outbound(Address("telegram", received.conversation), Message(text=text))
        return self.engine.answer_once("telegram", received.event_id, [out])

    def _text_only(self, received: Received, person: Person) -> list[Outbound]:
        text = self.desk.texts.render(person.language, "telegram.text_only")
        to = Address("telegram", received.conversation, person.id)
        return self.engine.answer_once("telegram", received.event_id, [Outbound(to, Message(text))])

    def _stranger(self, received: Received) -> list[Outbound]:
        """Someone the directory does not know: the engine links them with a code, or says
        whom to ask."""
        return self.engine.stranger(
            channel="telegram",
            event_id=received.event_id,
            external_id=received.user_id,
            conversation=received.conversation,
            private=received.private,
            text=received.text,
            pressed=received.action is not None,
            language=language_of(received.language_code, self.desk.settings.language),
        )


@contextmanager
def _turn(received: Received) -> Iterator[None]:
    """One turn from here, with its own correlation id; its receipt is logged (what was
    pressed or typed is not)."""
    with logcontext.turn(event=received.event_id):
        log.info(
            "telegram: %s %s from %s in %s received",
            "button" if received.action is not None else "message",
            received.event_id,
            received.user_id,
            received.conversation,
        )
        yield


def _toast(replies: list[Outbound]) -> str | None:
    """The reply as callback-answer text when it is one short plain message."""
    if len(replies) != 1:
        return None
    message = replies[0].message
    if message.choices or message.card or message.image or message.progress:
        return None
    text = to_plain(message.text).strip()
    # Telegram counts the toast's 200 characters in UTF-16 units, as it does texts.
    return text if 0 < utf16_len(text) <= TOAST_LIMIT else None


def _nothing_typed(received: Received) -> bool:
    """A sticker, a voice message...: no text, no file we keep and no button."""
    return received.action is None and not received.text.strip() and not received.files
