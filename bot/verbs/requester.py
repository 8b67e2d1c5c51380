"""Verbs every employee has: help, status of their requests, cancel, talk to a person."""

from __future__ import annotations

from bot import conversation
from bot.engine import Turn
from bot.messages import Message
from bot.tickets import status_label, ticket_card
from bot.verbs import Verb, Verbs
from journeys.state import Press
from store import tickets as repo
from store.models import Ticket


def help_verb(turn: Turn, _args: str) -> None:
    staff = turn.person.has_role("technician")
    turn.say("verbs.help", staff=staff)


def start_verb(turn: Turn, _args: str) -> None:
    turn.say("builtin.greet", name=turn.person.first_name)


def _find_visible(turn: Turn, number: str) -> Ticket | None:
    """The ticket if this person may see it (their own, or their queue's); else None."""
    ticket = repo.get_ticket(session=turn.session, number=number.strip())
    if ticket is None:
        return None
    if ticket.requester_id == turn.person.id or turn.person.works_queue(ticket.queue):
        return ticket
    return None


def my_tickets(turn: Turn, args: str) -> None:
    """`/status [IT-1042]`: one ticket's card, or all of the person's open tickets."""
    if args:
        ticket = _find_visible(turn, args)
        if ticket is None:
            turn.say("verbs.no_such_ticket", number=args.upper())
            return
        turn.reply(
            Message(
                text=turn.t("verbs.ticket_status", number=ticket.number, title=ticket.title),
                card=ticket_card(turn.desk, ticket, turn.language),
            )
        )
        return
    tickets = repo.list_tickets(
        session=turn.session, requester_id=turn.person.id, statuses=repo.ACTIVE
    )
    if not tickets:
        turn.say("verbs.no_open_tickets")
        return
    rows = [
        {
            "number": t.number,
            "title": t.title,
            "status": status_label(turn.desk, t.status, turn.language),
        }
        for t in tickets
    ]
    turn.say("verbs.my_tickets", tickets=rows)


def cancel_verb(turn: Turn, _args: str) -> None:
    found = conversation.active_journey(turn)
    if found is None:
        turn.data.pop("awaiting", None)
        turn.say("builtin.nothing_to_cancel")
        return
    journey, state = found
    conversation.run(turn, journey, state, Press("_", "cancel"))


def human_verb(turn: Turn, args: str) -> None:
    found = conversation.active_journey(turn)
    if found is not None:
        journey, state = found
        conversation.run(turn, journey, state, Press("_", "human"))
    elif args:
        conversation.handoff_without_journey(turn, args)
    else:
        turn.data["awaiting"] = "handoff_text"
        turn.say("understand.ask_for_text")


def register(verbs: Verbs) -> None:
    verbs.add(Verb("help", help_verb, aliases=("?",)))
    verbs.add(Verb("start", start_verb))
    verbs.add(Verb("status", my_tickets, aliases=("tickets", "my")))
    verbs.add(Verb("cancel", cancel_verb))
    verbs.add(Verb("human", human_verb, aliases=("agent", "person")))
