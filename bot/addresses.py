"""Where to reach a person who did not just write to us (approvers, technicians...)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot import linking
from bot.base.messages import Address
from bot.desk import Desk
from bot.directory import Person
from store.models import ConversationState, Ticket

# Direct-message conversations; threads and group chats are not a person's home.
_PRIVATE_HINT = ":"


def is_shared(conversation: str) -> bool:
    """A Slack channel thread (`C1:1700.1`) or a Telegram group (`-100123:group`): a place
    others read too."""
    return _PRIVATE_HINT in conversation


def private_address(
    desk: Desk, session: Session, person: Person, channel: str, account: str | None = None
) -> Address:
    """Where only `person` reads, on `channel` when possible: the account they wrote from
    (a Slack user id or Telegram user id is also their private chat with the bot), their last
    private conversation there, the account the directory or a link gives, else their home."""
    if account:
        return Address(channel, account, person.id)
    last = _last_private_chat(session, person, channel)
    if last is not None:
        return last
    known = linking.account(desk, session=session, person=person, channel=channel)
    if known:
        return Address(channel, known, person.id)
    return home_address(desk, session, person)


def home_address(desk: Desk, session: Session, person: Person) -> Address:
    """The chat a person last used with the bot privately, else the first configured one.

    Order of fallbacks: Slack DM (if Slack is on and they have a slack_id), Telegram
    private chat (telegram_id, or a linked Telegram account), then the console.
    """
    last = _last_private_chat(session, person)
    if last is not None:
        return last
    channels = desk.settings.channels
    if channels.slack.active and person.slack_id:
        return Address("slack", person.slack_id, person.id)
    if channels.telegram.active:
        telegram_id = linking.account(desk, session=session, person=person, channel="telegram")
        if telegram_id:
            return Address("telegram", telegram_id, person.id)
    return Address("console", person.id, person.id)


def requester_address(desk: Desk, session: Session, ticket: Ticket, person: Person) -> Address:
    """Where a requester hears about their ticket: the chat they raised it in when only they
    read it; privately on the same platform when that was a channel thread or a group (a
    technician's reply or question is for them, not for everyone there); else their home."""
    if ticket.channel and ticket.conversation:
        if not is_shared(ticket.conversation):
            return Address(ticket.channel, ticket.conversation, person.id)
        return private_address(desk, session, person, ticket.channel)
    return home_address(desk, session, person)


def _last_private_chat(
    session: Session, person: Person, channel: str | None = None
) -> Address | None:
    """The private conversation `person` last used with the bot (on `channel` if given)."""
    stmt = select(ConversationState).where(ConversationState.person_id == person.id)
    if channel is not None:
        stmt = stmt.where(ConversationState.channel == channel)
    for row in session.exec(stmt.order_by(col(ConversationState.updated_at).desc())).all():
        if not is_shared(row.conversation):
            return Address(row.channel, row.conversation, person.id)
    return None
