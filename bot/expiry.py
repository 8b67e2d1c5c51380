"""Closing journeys nobody answered: a sweep for the scheduler, with a short note to each person.

The next message in an expired conversation also closes it (`expire_if_idle`, from the engine);
the sweep makes sure people hear about it even if they never write again. A second request
kept from the same message as the expired journey's (bot/followup.py) is offered with the
sweep's note; when the next message closes the journey, the engine offers it after handling
that message, unless the message starts a journey of its own (then it waits for that one).
"""

from __future__ import annotations

from datetime import datetime

from bot import followup
from bot.base.messages import Inbound
from bot.base.metrics import journey_ended
from bot.desk import Desk
from bot.turn import Turn, save_turn
from journeys.model import Journey
from journeys.state import JourneyState
from store import conversations
from store import tickets as ticket_repo


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
                followup.offer(turn, "")  # a second request from the same message, if any
            turn.data.pop("awaiting", None)  # an unanswered "why reject?" lapses too
            for i, out in enumerate(turn.replies):
                turn.send(
                    out.to, out.message, idem=f"expired:{row.id}:{row.version}:{i}", key=out.key
                )
            save_turn(turn)
    return ended


def active_journey(turn: Turn) -> tuple[Journey, JourneyState] | None:
    raw = turn.data.get("journey")
    if not raw:
        return None
    state = JourneyState.from_dict(raw)
    journey = turn.desk.catalog.get(state.service_id)
    if journey is None or state.finished:
        turn.data.pop("journey", None)
        return None
    return journey, state


def expire_if_idle(turn: Turn) -> bool:
    """End a journey left idle past the configured time, with a short note. True if expired."""
    row = turn.row
    if row is None or row.expires_at is None or not turn.data.get("journey"):
        return False
    if row.expires_at > turn.now:
        return False
    found = active_journey(turn)
    turn.data.pop("journey", None)
    if found is not None:
        journey, _ = found
        turn.say("journey.expired", title=journey.title.get(turn.language))
        journey_ended(journey.id, "expired")
        ticket_repo.add_event(
            session=turn.session,
            ticket=None,
            at=turn.now,
            actor_id=turn.person.id,
            kind="journey_ended",
            note="expired",
            data={"service_id": journey.id},
        )
    return True
