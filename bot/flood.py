"""Flood control per person: messages per minute and new requests per hour.

One person (a stuck key, a script, a bad day) must not be able to fill the queues, post
hundreds of triage cards or page the queue lead. Past a limit they are told once, politely,
with when it lifts; the refusal is audited; the rest of the window is ignored. Limits count
in the store, so several engine processes share them, and lift by themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.base.metrics import RATE_LIMITED, TALLY
from bot.base.timefmt import describe_time
from bot.turn import Turn
from store import pace
from store import tickets as repo

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def over_message_limit(turn: Turn) -> bool:
    """Count this message; True when the person is past `limits.messages_per_minute` (and
    then, the first time in the minute, the notice is the turn's only reply)."""
    desk = turn.desk
    desk.store.lock(turn.session, f"pace:{turn.person.id}")
    count = pace.count_message(turn.session, turn.person.id, turn.now, MINUTE)
    limit = desk.settings.limits.messages_per_minute
    if count.messages <= limit:
        return False
    TALLY.count(RATE_LIMITED, "messages")
    if not count.warned:
        pace.mark_warned(turn.session, turn.person.id)
        _audit(turn, "messages", limit)
        turn.say("flood.messages", until=_when(turn, count.window_start + MINUTE))
    return True


def may_open_request(turn: Turn) -> bool:
    """Whether the person may open one more ticket themself this hour; if not, say when they
    can and audit the refusal."""
    limit = turn.desk.settings.limits.requests_per_hour
    opened = pace.tickets_since(turn.session, turn.person.id, turn.now - HOUR)
    if len(opened) < limit:
        return True
    TALLY.count(RATE_LIMITED, "requests")
    _audit(turn, "requests", limit)
    turn.say("flood.requests", limit=limit, until=_when(turn, opened[-limit] + HOUR))
    return False


def _when(turn: Turn, moment: datetime) -> str:
    return describe_time(turn.desk.texts, turn.language, moment, turn.person.timezone)


def _audit(turn: Turn, what: str, limit: int) -> None:
    repo.add_event(
        session=turn.session,
        ticket=None,
        at=turn.now,
        actor_id=turn.person.id,
        kind="rate_limited",
        note=what,
        data={"limit": what, "max": limit, "channel": turn.inbound.channel},
    )
