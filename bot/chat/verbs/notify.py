"""`/mute [for how long]` and `/unmute`: a person's choice about non-essential notices.

Muted: no waiting-on-you reminders, no "still in progress" nudges, no surveys. Notices that
matter (a request about to be closed, approval reminders, SLA alerts for staff) still come.
"""

from __future__ import annotations

from bot.base.config import parse_duration
from bot.base.timefmt import describe_time
from bot.chat.verbs import Verb, Verbs
from bot.turn import Turn
from store import notices as repo


def mute_verb(turn: Turn, args: str) -> None:
    """`/mute` (until /unmute) or `/mute 2w` (for a while)."""
    value = args.strip().removeprefix("for ").strip()
    until = None
    if value:
        try:
            until = turn.now + parse_duration(value)
        except ValueError:
            turn.say("notices.mute.bad_duration", value=value)
            return
    repo.set_muted(
        session=turn.session, person_id=turn.person.id, muted=True, until=until, now=turn.now
    )
    when = (
        describe_time(turn.desk.texts, turn.language, until, turn.person.timezone) if until else ""
    )
    turn.say("notices.mute.muted", until=when)


def unmute_verb(turn: Turn, _args: str) -> None:
    repo.set_muted(
        session=turn.session, person_id=turn.person.id, muted=False, until=None, now=turn.now
    )
    turn.say("notices.mute.unmuted")


def register(verbs: Verbs) -> None:
    verbs.add(Verb("mute", mute_verb, aliases=("quiet",)))
    verbs.add(Verb("unmute", unmute_verb))
