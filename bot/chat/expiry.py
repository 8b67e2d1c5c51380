"""Closing journeys nobody answered: a sweep for the scheduler, with a short note to each person.

The next message in an expired conversation also closes it (`conversation.expire_if_idle`);
the sweep makes sure people hear about it even if they never write again.
"""

from __future__ import annotations

from datetime import datetime

from bot.base.messages import Inbound
from bot.chat.conversation import expire_if_idle
from bot.desk import Desk
from bot.turn import Turn, save_turn
from store import conversations


def expire_idle(desk: Desk, now: datetime) -> int:
    """End every journey idle past `conversation.idle_timeout`; queue the note via the outbox.

    Each conversation is handled in its own transaction under the conversation lock, and
    re-checked there, so a person answering at the same moment wins over the sweep.

    Args:
        desk: the desk (store, directory, texts, catalog).
        now: the current time (aware UTC).

    Returns:
        How many journeys were ended.
    """
    with desk.store.read() as session:
        keys = [
            (row.channel, row.person_id, row.conversation)
            for row in conversations.idle_conversations(session=session, now=now)
        ]
    ended = 0
    for channel, person_id, conversation in keys:
        with desk.store.begin() as session:
            desk.store.lock(session, f"conv:{channel}:{person_id}:{conversation}")
            row = conversations.load_conversation(
                session=session, channel=channel, person_id=person_id, conversation=conversation
            )
            if row is None or row.expires_at is None or row.expires_at > now:
                continue  # answered (or already swept) since we looked
            person = desk.directory.get(person_id)
            if person is None:  # left the directory: nobody to tell, just stop the clock
                conversations.clear_expiry(session=session, row_id=row.id)
                continue
            inbound = Inbound(channel, conversation, person_id)
            turn = Turn(desk, session, inbound, person, now, row.language, row, dict(row.data))
            if expire_if_idle(turn):
                ended += 1
            turn.data.pop("awaiting", None)  # an unanswered "why reject?" lapses too
            for i, out in enumerate(turn.replies):
                turn.send(
                    out.to, out.message, idem=f"expired:{row.id}:{row.version}:{i}", key=out.key
                )
            save_turn(turn)
    return ended
