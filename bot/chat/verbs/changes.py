"""Change control from chat: `/change IT-1042 start` (the implementer reports a stage; the
same as the buttons on their notices) and `/changes [week]` (the change calendar, for
technicians, in private). docs/changes.md."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot import changes, permissions
from bot.base.messages import Message
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.lookup import normalise_number, split_number, staff_only
from bot.turn import Turn
from store import changes as changes_repo
from store import tickets as repo


def change_verb(turn: Turn, args: str) -> None:
    """`/change IT-1042 schedule [YYYY-MM-DD HH:MM-HH:MM] | start | done | failed |
    rolledback [note] | review [note]`."""
    raw, rest = split_number(args)
    action, _, note = rest.partition(" ")
    action = action.lower().replace("_", "").replace("-", "")
    action = {"succeeded": "done", "success": "done", "reviewed": "review"}.get(action, action)
    if not raw or action not in changes.ACTIONS:
        turn.say("changes.usage")
        return
    number = normalise_number(turn.desk, raw)
    ticket = repo.get_ticket(session=turn.session, number=number)
    if ticket is None:
        turn.say("verbs.no_such_ticket", number=number)
        return
    record = changes_repo.change_of(turn.session, ticket.id)
    allowed = permissions.may_view(turn.person, ticket) or changes.may_review(
        turn.desk, turn.person
    )
    if record is not None:
        allowed = allowed or changes.may_report(turn.desk, turn.person, ticket, record)
    if not allowed:  # never say whether it exists
        permissions.refuse(
            turn, f"change {action}", ticket, key="verbs.no_such_ticket", number=number
        )
        return
    changes.report(turn, ticket, action, note)


def calendar_verb(turn: Turn, args: str) -> None:
    """`/changes [next | +N | -N | YYYY-MM-DD]`: a week of change windows, with conflicts."""
    if not staff_only(turn, "changes"):
        return
    today = turn.now.astimezone(ZoneInfo(turn.person.timezone)).date()
    monday = changes.week_of(today, args)
    if monday is None:
        turn.say("changes.bad_week", value=args.strip())
        return
    text = changes.calendar_message(
        turn.desk, turn.session, monday, turn.language, turn.person.timezone
    )
    turn.reply(Message(text=text))


def register(verbs: Verbs) -> None:
    verbs.add(Verb("change", change_verb, staff=True, audience=Audience.TICKET))
    verbs.add(
        Verb("changes", calendar_verb, staff=True, aliases=("calendar",), audience=Audience.ASKER)
    )
