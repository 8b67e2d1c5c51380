"""Privacy by place: what a reply may show depends on who else reads the chat it lands in.

A shared place is a Slack channel thread (reached by an @mention, or a card's thread) or a
Telegram group; everyone in it reads what the bot posts there. Every verb and button
declares its `Audience`, and after a turn the engine applies the one rule below: replies
that would show a shared place more than it may see go to the asker's private chat
instead, and a short pointer stays in place. A queue's triage place may see that queue's
tickets (its members work them); nothing else is shown to a shared place.
"""

from __future__ import annotations

from enum import Enum

from bot.addresses import is_shared, private_address
from bot.base.messages import run_together
from bot.lookup import normalise_number, split_number
from bot.turn import Turn
from store import chat_moves
from store import tickets as repo
from store.models import MajorIncident


class Audience(Enum):
    """Who may read a reply, by what it shows."""

    ANYONE = "anyone"  # nothing private: help, journeys, the asker's own request where they asked
    ASKER = "asker"  # the asker's own list, approvals, reports: only where the asker alone reads
    TICKET = "ticket"  # the ticket named first in the arguments: also its queue's triage place
    QUEUES = "queues"  # the queue named, else the asker's queues: also a place triaging them all
    INCIDENT = "incident"  # a major incident (`<action>:<id>`): also its queue's triage place


def may_show_here(turn: Turn, audience: Audience, argument: str) -> bool:
    """Whether the replies of a verb or button with this `audience` may stay where it was used."""
    if audience is Audience.ANYONE or not is_shared(turn.inbound.conversation):
        return True
    if audience is Audience.ASKER:
        return False
    shown = _queues_shown(turn, audience, argument)
    return bool(shown) and shown <= triaged_here(turn)


def confine(turn: Turn, audience: Audience, argument: str) -> None:
    """Move the turn's replies to the asker's private chat when they may not stay in this
    place, and leave a pointer where they were asked for."""
    moved = turn.replies
    if not moved or may_show_here(turn, audience, argument):
        return
    turn.replies = []
    inbound = turn.inbound
    to = private_address(turn.desk, turn.session, turn.person, inbound.channel, inbound.account)
    origin = inbound.event_id or f"{inbound.conversation}:{turn.now.isoformat()}"
    for i, out in enumerate(run_together(moved)):
        turn.send(to, out.message, idem=f"private:{inbound.channel}:{origin}:{i}")
    turn.say("places.sent_privately")


def triaged_here(turn: Turn) -> frozenset[str]:
    """The queues whose triage place is the chat this turn came from (a Slack triage channel
    and its threads, a Telegram triage group, also after it became a supergroup)."""
    channel = turn.inbound.channel
    chat = turn.inbound.conversation.partition(":")[0]
    moves = chat_moves.all_moves(turn.session, channel) if channel == "telegram" else {}
    found = set()
    for queue_id, queue in turn.desk.settings.queues.items():
        target = getattr(queue.triage, channel, None)
        if target and chat in (target, moves.get(target)):
            found.add(queue_id)
    return frozenset(found)


def _queues_shown(turn: Turn, audience: Audience, argument: str) -> frozenset[str]:
    if audience is Audience.TICKET:
        number = normalise_number(turn.desk, split_number(argument)[0])
        ticket = repo.get_ticket(session=turn.session, number=number) if number else None
        return frozenset({ticket.queue}) if ticket else frozenset()
    if audience is Audience.INCIDENT:
        raw = argument.rpartition(":")[2]
        incident = turn.session.get(MajorIncident, int(raw)) if raw.isdigit() else None
        return frozenset({incident.queue}) if incident else frozenset()
    named = argument.strip()
    if named in turn.desk.settings.queues:
        return frozenset({named})
    return frozenset(turn.person.queues) or frozenset(turn.desk.settings.queues)
