"""Finding the ticket and the person a verb names, with the permission check on the way."""

from __future__ import annotations

import re

from bot import permissions
from bot.desk import Desk
from bot.directory import Person
from bot.tickets import status_label
from bot.turn import Turn
from store import tickets as repo
from store.models import Ticket

_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


def split_number(args: str) -> tuple[str, str]:
    """`"IT-1042 the rest"` -> ("IT-1042", "the rest"); a bare 1042 gets the desk prefix."""
    first, _, rest = args.strip().partition(" ")
    return first.strip().lstrip("#").upper(), rest.strip()


def normalise_number(desk: Desk, raw: str) -> str:
    raw = raw.strip().lstrip("#").upper()
    return f"{desk.settings.ticket_prefix}-{raw}" if raw.isdigit() else raw


def visible_ticket(turn: Turn, raw: str, action: str) -> Ticket | None:
    """The ticket if this person may see it. Otherwise say it can't be found (never whether
    it exists) and audit the attempt when it does exist."""
    number = normalise_number(turn.desk, raw)
    ticket = repo.get_ticket(session=turn.session, number=number) if number else None
    if ticket is None:
        turn.say("verbs.no_such_ticket", number=number or "?")
        return None
    if not permissions.may_view(turn.person, ticket):
        permissions.refuse(turn, action, ticket, key="verbs.no_such_ticket", number=number)
        return None
    return ticket


def staff_only(turn: Turn, action: str) -> bool:
    """True for technicians and admins; everyone else is refused politely (audited)."""
    if permissions.is_staff(turn.person):
        return True
    permissions.refuse(turn, action, key="perm.staff_only", verb=action)
    return False


def workable_ticket(turn: Turn, raw: str, action: str, *, final_ok: bool = False) -> Ticket | None:
    """The ticket if this person works its queue and it is not closed, cancelled or rejected
    (`final_ok`: `/reopen` explains itself); refuses (audited, with the ticket) otherwise."""
    number = normalise_number(turn.desk, raw)
    ticket = repo.get_ticket(session=turn.session, number=number) if number else None
    if not permissions.is_staff(turn.person):
        permissions.refuse(turn, action, ticket, key="perm.staff_only", verb=action)
        return None
    if not number:
        turn.say("tickets.usage", verb=action)
        return None
    if ticket is None:
        turn.say("verbs.no_such_ticket", number=number)
        return None
    if not permissions.may_work(turn.person, ticket):
        permissions.refuse(
            turn,
            action,
            ticket,
            key="perm.not_your_queue",
            number=ticket.number,
            queue=turn.desk.queue_name(ticket.queue, turn.language),
        )
        return None
    if ticket.status in repo.FINAL and not final_ok:
        permissions.refuse(
            turn,
            action,
            ticket,
            key="tickets.not_active",
            number=ticket.number,
            status=status_label(turn.desk, ticket.status, turn.language),
        )
        return None
    return ticket


def requester_ticket(turn: Turn, raw: str, action: str) -> Ticket | None:
    """The ticket if this person raised it (requester verbs); refuses (audited) otherwise."""
    ticket = visible_ticket(turn, raw, action)
    if ticket is None:
        return None
    if not permissions.is_requester(turn.person, ticket):
        permissions.refuse(turn, action, ticket, key="perm.not_requester", number=ticket.number)
        return None
    return ticket


def find_person(desk: Desk, text: str) -> Person | None:
    """A person by id, email, Slack mention or id, Telegram id, or an unambiguous name."""
    text = text.strip()
    mention = _SLACK_MENTION.match(text)
    if mention:
        return desk.directory.by_slack(mention.group(1))
    text = text.lstrip("@")
    if not text:
        return None
    found = (
        desk.directory.get(text)
        or desk.directory.get(text.lower())
        or desk.directory.by_email(text)
        or desk.directory.by_slack(text)
        or desk.directory.by_telegram(text)
    )
    if found is not None:
        return found
    wanted = text.casefold()
    for attribute in ("name", "first_name"):
        matches = [p for p in desk.directory if getattr(p, attribute).casefold() == wanted]
        if len(matches) == 1:
            return matches[0]
    return None
