"""Verbs every employee has: help, their requests and one request's status, add
information, cancel, confirm fixed / not fixed, talk to a person.

Employees only ever see their own tickets; technicians also see their queues' tickets.
"""

from __future__ import annotations

from typing import Any

from bot import approvals, attachments, ci_tickets, expiry, permissions, workflow
from bot.base.buttons import ADD_INFO, HANDOFF_TEXT, TICKET, awaiting, button
from bot.base.messages import Choice, Message
from bot.base.timefmt import describe_time
from bot.chat import conversation
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.expiry import active_journey
from bot.insight.delivery import may_see_reports
from bot.lookup import requester_ticket, split_number, visible_ticket
from bot.tickets import status_label, ticket_card
from bot.turn import Turn
from bot.workflow import waiting_ticket
from journeys.flow import CONTROL
from journeys.state import Press
from store import ticket_links
from store import tickets as repo
from store.models import Ticket, TicketEvent

# What a requester sees of the timeline; staff see every event (notes, refusals...).
PUBLIC_EVENTS = frozenset(
    {
        "created",
        "claimed",
        "assigned",
        "unclaimed",
        "reply",
        "asked",
        "answered",
        "info",
        "attached",
        "approval_requested",
        "reapproval_requested",
        "approved",
        "rejected",
        "resolved",
        "reopened",
        "not_fixed",
        "confirmed_fixed",
        "closed",
        "cancelled",
        "transferred",
        "merged",
    }
)
TIMELINE = 12  # events shown by /show


def help_verb(turn: Turn, _args: str) -> None:
    staff = permissions.is_staff(turn.person)
    reports = may_see_reports(turn.desk, turn.person)
    turn.say("tickets.help", staff=staff, reports=reports)


def start_verb(turn: Turn, _args: str) -> None:
    turn.say("builtin.greet", name=turn.person.first_name)


def my_tickets(turn: Turn, args: str) -> None:
    """`/status [IT-1042]`: one ticket's card, or all of the person's open tickets."""
    if args:
        number, _ = split_number(args)
        ticket = visible_ticket(turn, number, "status")
        if ticket is None:
            return
        turn.reply(
            Message(
                text=turn.t("tickets.ticket_status", number=ticket.number, title=ticket.title),
                card=ticket_card(turn.desk, ticket, turn.language),
            )
        )
        return
    # A resolved ticket is open until they confirm the fix (or it closes by itself).
    tickets = repo.list_tickets(
        session=turn.session, requester_id=turn.person.id, statuses=(*repo.ACTIVE, "resolved")
    )
    # A request being filled in is no ticket yet, but it is what the person is doing: where
    # it stands and its question again come after the tickets (the question stays last).
    # (One parked on an approval before its ticket exists is not told here yet.)
    found = active_journey(turn)
    filling = found if found is not None and found[1].status != "waiting" else None
    if not tickets:
        turn.say("tickets.no_open_tickets", filling=filling is not None)
    else:
        rows = [
            {
                "number": t.number,
                "title": t.title,
                "status": status_label(turn.desk, t.status, turn.language),
            }
            for t in tickets
        ]
        turn.say("tickets.my_tickets", tickets=rows)
    if filling is not None:
        conversation.run(turn, *filling, Press(CONTROL, "status"))


def show_ticket(turn: Turn, number: str, action: str) -> None:
    """The card, the details and the recent timeline, as much as this person may see."""
    ticket = visible_ticket(turn, number, action)
    if ticket is None:
        return
    assert ticket.id is not None
    staff = permissions.may_work(turn.person, ticket)
    events = [
        e
        for e in repo.events_of(session=turn.session, ticket_id=ticket.id)
        if staff or e.kind in PUBLIC_EVENTS
    ]
    files = attachments.files_of(turn, ticket)
    listed = turn.t(
        "files.list", files=attachments.rows(turn.desk, files), number=ticket.number, staff=staff
    )
    get = button(TICKET, "file", ticket.number)
    # The items it concerns: for staff (a requester's view stays as it was).
    items = ci_tickets.item_rows(turn.desk, turn.session, ticket, turn.language) if staff else []
    about = turn.t("ci.on_ticket", items=items, number=ticket.number) if items else ""
    turn.reply(
        Message(
            choices=(Choice(turn.plain("button.get_files"), get),) if files and staff else (),
            text=turn.t(
                "tickets.show",
                number=ticket.number,
                title=ticket.title,
                description=ticket.description,
                answers=[{"field": k, "value": str(v)} for k, v in ticket.answers.items()],
                source=ticket.source,
                events=[_event_row(turn, e, staff) for e in events[-TIMELINE:]],
                links=_links(turn, ticket, staff),
                links_heading=turn.plain("related.heading"),
            )
            + ("\n" + listed if files else "")
            + ("\n" + about if about else ""),
            card=ticket_card(
                turn.desk,
                ticket,
                turn.language,
                staff=staff,
                files=[f.name for f in files],
                cis=[row["name"] for row in items],
            ),
        )
    )


def _links(turn: Turn, ticket: Ticket, staff: bool) -> list[dict[str, str]]:
    """Tied tickets: all of them for staff; for the requester only where theirs went."""
    assert ticket.id is not None
    return [
        {"how": turn.plain(f"related.{kind}"), "number": other.number, "title": other.title}
        for kind, other in ticket_links.links_of(session=turn.session, ticket_id=ticket.id)
        if staff or kind == "merged_into"
    ]


def _event_row(turn: Turn, event: TicketEvent, staff: bool) -> dict[str, Any]:
    desk = turn.desk
    actor = desk.directory.get(event.actor_id)
    key = f"event.{event.kind}"
    return {
        "at": describe_time(desk.texts, turn.language, event.at, turn.person.timezone),
        "who": actor.name if actor else (event.actor_id or turn.plain("event.desk")),
        "what": turn.plain(key) if desk.texts.has(key) else event.kind,
        "to": status_label(desk, event.to_status, turn.language, staff=staff)
        if event.to_status
        else "",
        "note": event.note,
    }


def add_information(turn: Turn, raw: str, text: str) -> None:
    """Information from the requester for their ticket. When the ticket waits on their
    answer this is the answer: it goes back to the technician who asked."""
    number, _ = split_number(raw)
    ticket = requester_ticket(turn, number, "add")
    if ticket is None:
        return
    if ticket.status in ("closed", "cancelled", "rejected"):
        turn.say(
            "tickets.already_done",
            number=ticket.number,
            status=status_label(turn.desk, ticket.status, turn.language),
        )
        return
    if not text:
        turn.data["awaiting"] = awaiting(ADD_INFO, ticket.number)
        turn.say("tickets.what_to_add", number=ticket.number)
        return
    if ticket.status == "waiting_on_user":
        _answer(turn, ticket, text)
        return
    event = workflow.change(turn, ticket, "info", note=text)
    if event is None:
        return
    workflow.team_told(
        turn,
        ticket,
        event,
        "tickets.told_info",
        name=turn.person.name,
        text=text,
    )
    turn.say("tickets.info_added", number=ticket.number)


def _answer(turn: Turn, ticket: Ticket, text: str) -> None:
    asker = workflow.asker_of(turn.session, ticket)
    event = workflow.change(
        turn, ticket, "answered", to=workflow.answered_status(ticket), note=text
    )
    if event is None:
        return
    target = turn.desk.directory.get(ticket.assignee_id) or turn.desk.directory.get(asker)
    if target is not None:
        workflow.tell_person(
            turn.desk,
            turn.session,
            target,
            ticket,
            event,
            "tickets.told_answer",
            now=turn.now,
            name=turn.person.name,
            text=text,
        )
    turn.say(
        "tickets.answer_passed",
        number=ticket.number,
        name=target.first_name if target else "",
    )


def add_verb(turn: Turn, args: str) -> None:
    """`/add IT-1042 more details`: add information to my ticket."""
    number, text = split_number(args)
    if not number:
        turn.say("tickets.usage", verb="add")
        return
    add_information(turn, number, text)


def cancel_verb(turn: Turn, args: str) -> None:
    """`/cancel`: stop the current conversation; `/cancel IT-1042 [reason]`: withdraw a ticket."""
    if args.strip():
        cancel_ticket(turn, args)
        return
    found = expiry.active_journey(turn)
    if found is None:
        turn.data.pop("awaiting", None)
        turn.say("builtin.nothing_to_cancel")
        return
    journey, state = found
    conversation.run(turn, journey, state, Press("_", "cancel"))


def cancel_ticket(turn: Turn, args: str) -> None:
    number, reason = split_number(args)
    ticket = requester_ticket(turn, number, "cancel")
    if ticket is None:
        return
    event = workflow.change(turn, ticket, "cancelled", to="cancelled", note=reason)
    if event is None:
        return
    approvals.withdraw(turn.desk, turn.session, ticket, turn.now)
    workflow.team_told(
        turn,
        ticket,
        event,
        "tickets.told_cancelled",
        name=turn.person.name,
        reason=reason,
    )
    turn.say("tickets.cancelled", number=ticket.number)


def fixed_verb(turn: Turn, args: str) -> None:
    """`/fixed IT-1042` (or the Fixed button): confirm the fix; the ticket closes."""
    number, _ = split_number(args)
    ticket = requester_ticket(turn, number, "fixed")
    if ticket is None:
        return
    if ticket.status == "closed":
        turn.say("tickets.thanks_fixed", number=ticket.number)
        return
    event = workflow.change(
        turn, ticket, "confirmed_fixed", to="closed", values={"closed_at": turn.now}
    )
    if event is None:
        return
    workflow.team_told(
        turn,
        ticket,
        event,
        "tickets.told_confirmed",
        skip=turn.person.id,
        name=turn.person.name,
    )
    turn.say("tickets.thanks_fixed", number=ticket.number)


def not_fixed_verb(turn: Turn, args: str) -> None:
    """`/notfixed IT-1042 [what is still wrong]` (or the Not fixed button): reopen it."""
    number, reason = split_number(args)
    ticket = requester_ticket(turn, number, "notfixed")
    if ticket is None:
        return
    event = workflow.change(
        turn, ticket, "not_fixed", to="reopened", note=reason, values={"resolved_at": None}
    )
    if event is None:
        return
    workflow.team_told(
        turn,
        ticket,
        event,
        "tickets.told_not_fixed",
        name=turn.person.name,
        reason=reason,
    )
    if not reason:
        # Their next message says what is still wrong and goes to the technician.
        turn.data["awaiting"] = awaiting(ADD_INFO, ticket.number)
    turn.say("tickets.reopened_for_you", number=ticket.number, asked=not reason)


def human_verb(turn: Turn, args: str) -> None:
    found = expiry.active_journey(turn)
    if found is not None:
        journey, state = found
        conversation.run(turn, journey, state, Press("_", "human"))
    elif args:
        conversation.handoff_without_journey(turn, args)
    else:
        turn.data["awaiting"] = awaiting(HANDOFF_TEXT)
        turn.say("understand.ask_for_text")


def register(verbs: Verbs) -> None:
    verbs.add(Verb("help", help_verb, aliases=("?",)))
    verbs.add(Verb("start", start_verb))
    verbs.add(Verb("status", my_tickets, aliases=("tickets", "my"), audience=Audience.ASKER))
    verbs.add(Verb("add", add_verb, aliases=("info",)))
    verbs.add(Verb("cancel", cancel_verb))
    verbs.add(Verb("fixed", fixed_verb))
    verbs.add(Verb("notfixed", not_fixed_verb, aliases=("not-fixed", "not_fixed")))
    verbs.add(Verb("human", human_verb, aliases=("agent", "person")))


def take_text(turn: Turn, text: str) -> bool:
    """Route free text that belongs to a ticket: information the person said they would add
    (after pressing "Add information"), or the answer to a technician's question.

    Returns True when the text was used. An active journey keeps priority over a question.
    """
    if turn.data.get("awaiting") or expiry.active_journey(turn) is not None:
        return False
    ticket = waiting_ticket(turn)
    if ticket is None:
        return False
    add_information(turn, ticket.number, text)
    return True
