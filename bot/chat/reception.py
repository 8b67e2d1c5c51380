"""The desk's front door: what adapters ask before a message becomes a turn, the answers to
messages no turn handles (from someone the desk does not know, in a place it does not serve,
without any text), and the records a platform needs kept (updates fetched but not yet
handled, group chats that moved).

Adapters only translate; everything here reads or writes the store, so they ask the engine
(`Engine.seen`, `Engine.first_time`, ...), which calls these.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot import linking
from bot.base.messages import Address, Message, Outbound
from bot.desk import Desk
from bot.directory import Person
from store import attachments, chat_moves, conversations, inbox
from store.events import claim_event, was_claimed

log = logging.getLogger(__name__)


def seen(desk: Desk, channel: str, event_id: str) -> bool:
    """Whether the event was handled already (a redelivered button press, say)."""
    with desk.store.read() as session:
        return was_claimed(session=session, channel=channel, event_id=event_id)


def first_time(desk: Desk, channel: str, event_id: str) -> bool:
    """Record an event no turn handles, so a redelivery is not answered twice; True the
    first time it arrives."""
    with desk.store.begin() as session:
        return claim_event(
            session=session, channel=channel, event_id=event_id, now=desk.clock.now()
        )


def answer_once(desk: Desk, channel: str, event_id: str, replies: list[Outbound]) -> list[Outbound]:
    """`replies` the first time the event arrives, nothing on a redelivery."""
    return replies if first_time(desk, channel, event_id) else []


def in_conversation(desk: Desk, channel: str, person_id: str, conversation: str) -> bool:
    """Whether the person is in the middle of something with the desk in that conversation
    (a journey, or a question the desk asked): a thread reply without a mention is for us."""
    with desk.store.read() as session:
        row = conversations.load_conversation(
            session=session, channel=channel, person_id=person_id, conversation=conversation
        )
    return row is not None and bool(row.data.get("journey") or row.data.get("awaiting"))


def ticket_thread(desk: Desk, channel: str, conversation: str) -> bool:
    """Whether a shared thread is a ticket's (raised there, or its triage card heads it):
    files sent there without a mention are for that ticket."""
    with desk.store.read() as session:
        found = attachments.ticket_of_thread(
            session=session, channel=channel, conversation=conversation
        )
    return found is not None


def identify(desk: Desk, channel: str, external_id: str) -> Person | None:
    """The person behind a chat account: the directory's id, else a linked account."""
    with desk.store.read() as session:
        return linking.resolve(desk, session=session, channel=channel, external_id=external_id)


def stranger(
    desk: Desk,
    *,
    channel: str,
    event_id: str,
    external_id: str,
    conversation: str,
    private: bool,
    text: str,
    pressed: bool,
    language: str,
) -> list[Outbound]:
    """Someone the directory does not know: link them with a one-time code (`/link CODE`,
    or `/start CODE` from a deep link), or say whom to ask. Only a code proves who they
    are; their name on the platform is never trusted. Texts: `<channel>.linked`,
    `<channel>.bad_code`, `<channel>.unknown_user`, `<channel>.unknown_user_short`."""
    now = desk.clock.now()
    to = Address(channel, conversation)
    command, _, code = text.strip().partition(" ")
    command = command.split("@", 1)[0].lower()  # Telegram groups append @botname
    with desk.store.begin() as session:
        if not claim_event(session=session, channel=channel, event_id=event_id, now=now):
            return []
        if not private or pressed:
            key = f"{channel}.unknown_user_short"
        elif command in ("/link", "/start") and code.strip():
            person = linking.redeem(
                desk, session=session, code=code, channel=channel, external_id=external_id, now=now
            )
            key = f"{channel}.bad_code"
            if person is not None:
                log.info("%s: account %s linked to %s", channel, external_id, person.id)
                return [_linked(desk, channel, conversation, person)]
        else:
            key = f"{channel}.unknown_user"
    admins = [p.name for p in desk.directory.admins()]
    whom = ", ".join(admins) if admins else desk.texts.plain(language, f"{channel}.it_team")
    return [Outbound(to, Message(text=desk.texts.render(language, key, admins=whom)))]


def _linked(desk: Desk, channel: str, conversation: str, person: Person) -> Outbound:
    text = desk.texts.render(person.language, f"{channel}.linked", name=person.first_name)
    return Outbound(Address(channel, conversation, person.id), Message(text))


def keep_updates(
    desk: Desk, channel: str, updates: Sequence[tuple[str, dict[str, Any]]], done: Sequence[str]
) -> None:
    """Keep a fetched batch of (event id, payload) until handled, and forget the handled
    ones, in one transaction (so the platform may be told the batch arrived)."""
    kept = [(event_id, _storable(payload)) for event_id, payload in updates]
    with desk.store.begin() as session:
        inbox.handled(session, channel, done)
        inbox.keep(session, channel, kept, desk.clock.now())


def _storable(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without U+0000, which PostgreSQL cannot store (the text a person typed
    loses nothing else: the engine cleans it again when it handles the message)."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\x00", "")
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    cleaned: dict[str, Any] = clean(payload)
    return cleaned


def waiting_updates(desk: Desk, channel: str) -> list[dict[str, Any]]:
    """Payloads fetched and kept but not handled yet (a process died with them)."""
    with desk.store.read() as session:
        return inbox.waiting(session, channel)


def moved_chats(desk: Desk, channel: str) -> dict[str, str]:
    """Group chats that became others (Telegram supergroups): old id -> new id."""
    with desk.store.read() as session:
        return chat_moves.all_moves(session, channel)


def record_move(desk: Desk, channel: str, old: str, new: str) -> None:
    with desk.store.begin() as session:
        chat_moves.record(session, channel, old, new, desk.clock.now())
