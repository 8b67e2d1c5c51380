"""Where to reach a person who did not just write to us (approvers, technicians...)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.base.messages import Address
from bot.desk import Desk
from bot.directory import Person
from bot.linking import account
from store.models import ConversationState

# Direct-message conversations; threads and group chats are not a person's home.
_PRIVATE_HINT = ":"


def home_address(desk: Desk, session: Session, person: Person) -> Address:
    """The chat a person last used with the bot privately, else the first configured one.

    Order of fallbacks: Slack DM (if Slack is on and they have a slack_id), Telegram
    private chat (telegram_id, or a linked Telegram account), then the console.
    """
    stmt = (
        select(ConversationState)
        .where(ConversationState.person_id == person.id)
        .order_by(col(ConversationState.updated_at).desc())
    )
    for row in session.exec(stmt).all():
        if _PRIVATE_HINT not in row.conversation:
            return Address(row.channel, row.conversation, person.id)
    channels = desk.settings.channels
    if channels.slack.active and person.slack_id:
        return Address("slack", person.slack_id, person.id)
    if channels.telegram.active:
        telegram_id = account(desk, session=session, person=person, channel="telegram")
        if telegram_id:
            return Address("telegram", telegram_id, person.id)
    return Address("console", person.id, person.id)
