"""Reading updates: where a message belongs, what it says to us, and in which order to
process updates (concurrently across chats, strictly in order within one chat)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Chat, Message, Update
from telegram.ext import BaseUpdateProcessor


def conversation_key(chat: Chat) -> str:
    """Private chat: its id. Groups are shared places, so the key carries a ':'."""
    return str(chat.id) if chat.type == Chat.PRIVATE else f"{chat.id}:group"


def chat_of(conversation: str) -> int | str:
    """The Bot API chat id behind a conversation key or triage target (`-100123:group`)."""
    raw = conversation.split(":", 1)[0]
    try:
        return int(raw)
    except ValueError:
        return raw  # "@channelusername"


def group_text(message: Message, bot_username: str, bot_id: int) -> str | None:
    """What a group message says to us, or None when it is not for us.

    Groups are noisy, so we only take commands (without another bot's @name), messages
    that mention us and replies to our own messages; the mention itself is removed. A photo
    or document says it in its caption; one without a caption counts when it replies to us.
    """
    text = (message.text or message.caption or "").strip()
    if not text:
        replied = message.reply_to_message
        sender = replied.from_user if replied is not None else None
        if sender is not None and sender.id == bot_id and (message.photo or message.document):
            return ""
        return None
    mention = f"@{bot_username}".lower()
    if text.startswith("/"):
        command, _, rest = text.partition(" ")
        name, _, target = command.partition("@")
        if target and target.lower() != bot_username.lower():
            return None
        return f"{name} {rest}".strip()
    if mention in text.lower():
        at = text.lower().index(mention)
        return (text[:at] + text[at + len(mention) :]).strip() or None
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text
    return None


def language_of(code: str | None, default: str) -> str:
    """Telegram's interface language for people the directory does not know yet."""
    return "zh" if code and code.lower().startswith("zh") else default


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Process updates of different chats concurrently, those of one chat in order.

    A person who types two lines quickly must get answers in order; other people must not
    wait for them.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        # Called with each update once it has been handled (the poller forgets it then).
        self.after: Callable[[object], Awaitable[None]] | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self._in_chat_order(update, coroutine)
        if self.after is not None:
            await self.after(update)

    async def _in_chat_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._locks.get(chat.id, (asyncio.Lock(), 0))
        self._locks[chat.id] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[chat.id]
            if users <= 1:
                del self._locks[chat.id]
            else:
                self._locks[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
