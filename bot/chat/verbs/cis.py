"""`/ci NAME`: what is known about a configuration item (its open tickets, recent changes,
problems, owner and relations); `/ci IT-1042` the items a ticket concerns; `/ci IT-1042 add
NAME` and `/ci IT-1042 remove NAME` link and unlink one (audited). Technicians only, and
answered privately: a shared place never sees it (docs/cis.md)."""

from __future__ import annotations

from sqlmodel import col, select

from bot import ci_tickets, incidents, permissions, workflow
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.chat.verbs.related import looks_like_ticket
from bot.cis import ConfigurationItem
from bot.lookup import staff_only, visible_ticket, workable_ticket
from bot.turn import Turn
from store.models import MajorIncident, Ticket

ADD = ("add", "link", "+")
REMOVE = ("remove", "rm", "unlink", "-")


def ci_verb(turn: Turn, args: str) -> None:
    if not staff_only(turn, "ci"):
        return
    words = args.split(None, 2)
    if not words:
        turn.say("ci.usage")
        return
    if len(words) >= 2 and words[1].lower() in ADD + REMOVE:
        if len(words) < 3:
            turn.say("ci.usage")
            return
        change_link(turn, words[0], words[1].lower() in ADD, words[2].strip())
        return
    item = turn.desk.content.cis.find(args)
    if item is not None:
        show_item(turn, item)
    elif len(words) == 1 and looks_like_ticket(words[0]):
        ticket_items(turn, words[0])
    else:
        unknown(turn, args)


def show_item(turn: Turn, item: ConfigurationItem) -> None:
    found = ci_tickets.report(
        turn.desk, turn.session, item, lambda t: permissions.may_view(turn.person, t)
    )
    turn.say("ci.show", **ci_tickets.as_record(turn.desk, found, turn.language))


def ticket_items(turn: Turn, number: str) -> None:
    ticket = visible_ticket(turn, number, "ci")
    if ticket is None:
        return
    items = ci_tickets.item_rows(turn.desk, turn.session, ticket, turn.language)
    turn.say("ci.on_ticket", items=items, number=ticket.number, empty=not items)


def unknown(turn: Turn, name: str) -> None:
    turn.say("ci.unknown", name=name, suggestions=turn.desk.content.cis.similar(name))


def change_link(turn: Turn, number: str, adding: bool, name: str) -> None:
    ticket = workable_ticket(turn, number, "ci")
    if ticket is None:
        return
    item = turn.desk.content.cis.find(name)  # exactly: a near miss gets suggestions
    if adding:
        if item is None:
            unknown(turn, name)
            return
        event = ci_tickets.link(
            turn.session, ticket, item.id, "technician", turn.person.id, turn.now
        )
        said = "ci.added" if event is not None else "ci.already"
    else:
        ci_id = item.id if item is not None else _linked_id(turn, ticket, name)
        if ci_id is None:
            unknown(turn, name)
            return
        event = ci_tickets.unlink(turn.session, ticket, ci_id, turn.person.id, turn.now)
        said = "ci.removed" if event is not None else "ci.not_linked"
    if event is not None:
        workflow.refresh_triage(turn.desk, turn.session, ticket, turn.now, event)
        _refresh_incident(turn, ticket, f"ev{event.id}")
    shown = item.name(turn.language) if item is not None else name
    turn.say(said, number=ticket.number, name=shown)


def _refresh_incident(turn: Turn, ticket: Ticket, reason: str) -> None:
    """The problem ticket of a major incident: its alert names what the items are now."""
    if ticket.type != "problem":
        return
    found = turn.session.exec(
        select(MajorIncident).where(col(MajorIncident.problem_ticket_id) == ticket.id)
    ).first()
    if found is not None and found.status in incidents.OPEN:
        incidents.post_alert(turn.desk, turn.session, found, turn.now, reason)


def _linked_id(turn: Turn, ticket: Ticket, name: str) -> str | None:
    """An id linked to the ticket that is no longer in cis.yaml, typed as it is."""
    rows = ci_tickets.item_rows(turn.desk, turn.session, ticket, turn.language)
    return next((r["id"] for r in rows if r["id"] == name.strip().lower()), None)


def register(verbs: Verbs) -> None:
    verbs.add(Verb("ci", ci_verb, staff=True, audience=Audience.ASKER))
