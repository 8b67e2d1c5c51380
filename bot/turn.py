"""One inbound message being handled (`Turn`): who, where, the open transaction, the replies.

Every handler and operation that acts for a person receives the turn; the engine makes one
per message and saves its conversation when the handlers are done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.base.messages import Address, Inbound, Message, Outbound
from bot.desk import Desk
from bot.directory import Person
from store import conversations
from store.conversations import Conversation
from store.models import Ticket
from store.outbox import notify

ActionHandler = Callable[["Turn", str], None]
# Free text that answers something the bot asked: (turn, argument after the colon, text).
ReplyHandler = Callable[["Turn", str, str], None]


@dataclass
class Turn:
    """One inbound message being handled: who, where, the open transaction, the replies."""

    desk: Desk
    session: Session
    inbound: Inbound
    person: Person
    now: datetime
    language: str
    row: Conversation | None
    data: dict[str, Any]
    replies: list[Outbound] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)  # created during this turn

    @property
    def address(self) -> Address:
        return self.inbound.address

    def reply(self, message: Message, *, key: str | None = None) -> None:
        self.replies.append(Outbound(self.address, message, key))

    def say(self, key: str, **params: Any) -> None:
        self.reply(Message(text=self.desk.texts.render(self.language, key, **params)))

    def t(self, key: str, **params: Any) -> str:
        return self.desk.texts.render(self.language, key, **params)

    def plain(self, key: str, **params: Any) -> str:
        return self.desk.texts.plain(self.language, key, **params)

    def send(self, to: Address, message: Message, *, idem: str, key: str | None = None) -> None:
        """Queue a message for someone else (or another chat) in this transaction."""
        notify(session=self.session, to=to, message=message, idem_key=idem, now=self.now, key=key)


def save_turn(turn: Turn) -> None:
    """Persist the conversation after every step, so a restart resumes at the same step."""
    if turn.row is None and not turn.data and turn.language == turn.person.language:
        return  # nothing to remember (a language other than theirs is: a button pressed
        # next carries no text to read it from, and must not switch languages)
    settings = turn.desk.settings
    active = bool(turn.data.get("journey")) or bool(turn.data.get("awaiting"))
    turn.row = conversations.save_conversation(
        session=turn.session,
        channel=turn.inbound.channel,
        person_id=turn.person.id,
        conversation=turn.inbound.conversation,
        service_id=(turn.data.get("journey") or {}).get("service_id"),
        language=turn.language,
        data=turn.data,
        now=turn.now,
        expires_at=turn.now + settings.conversation.idle_timeout if active else None,
        row=turn.row,
        loaded=True,  # every turn starts by loading its row, under the conversation lock
    )
