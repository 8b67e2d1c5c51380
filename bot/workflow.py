"""Working a ticket from chat: apply a lifecycle change, tell the people it concerns, and
keep the queue's triage card current. Verbs, buttons and approvals all come through here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, select

from bot import permissions
from bot.addresses import home_address, is_shared, requester_address
from bot.base.buttons import TICKET, button
from bot.base.messages import Choice, Message
from bot.desk import Desk
from bot.directory import Person
from bot.tickets import post_triage, status_label, ticket_card, triage_addresses
from bot.turn import Turn
from store import lifecycle, ticket_links
from store import tickets as repo
from store.models import Ticket, TicketEvent
from store.outbox import notify

# Columns shown on the triage card: changing one of them updates the card in place.
CARD_FIELDS = frozenset({"assignee_id", "priority", "queue", "resolution_due", "expected_at"})


def change(
    turn: Turn,
    ticket: Ticket,
    kind: str,
    *,
    to: str | None = None,
    note: str = "",
    values: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> TicketEvent | None:
    """Apply a lifecycle change for the person of this turn; say why when it can't be done.

    Returns the audit event, or None when the change was refused (nothing was changed).
    """
    try:
        event = lifecycle.transition(
            session=turn.session,
            ticket=ticket,
            actor_id=turn.person.id,
            now=turn.now,
            kind=kind,
            to=to,
            note=note,
            values=values,
            data=data,
        )
    except lifecycle.InvalidTransition as exc:
        say_invalid(turn, ticket, exc.to_status)
        return None
    except lifecycle.Conflict as exc:
        holder = turn.desk.directory.get(exc.ticket.assignee_id)
        turn.say(
            "tickets.changed_meanwhile",
            number=ticket.number,
            status=status_label(turn.desk, exc.ticket.status, turn.language),
            name=holder.name if holder else "",
        )
        return None
    if to is not None or CARD_FIELDS.intersection(values or {}):
        refresh_triage(turn.desk, turn.session, ticket, turn.now, event)
    return event


def say_invalid(turn: Turn, ticket: Ticket, to_status: str) -> None:
    """Explain a refused status move (audited): where the ticket is and where it could go."""
    lang = turn.language
    nexts = sorted(lifecycle.TRANSITIONS.get(ticket.status, ()))
    permissions.refuse(
        turn,
        f"move to {to_status}",
        ticket,
        key="tickets.invalid_transition",
        number=ticket.number,
        status=status_label(turn.desk, ticket.status, lang),
        to=status_label(turn.desk, to_status, lang),
        options=", ".join(status_label(turn.desk, s, lang) for s in nexts),
    )


def refresh_triage(
    desk: Desk, session: Session, ticket: Ticket, now: datetime, event: TicketEvent
) -> None:
    """Update the ticket's card in place in its queue's triage channels."""
    post_triage(desk, session, ticket, now, f"ev{event.id}")


# ---- telling people -----------------------------------------------------------------------


def tell_requester(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    event: TicketEvent,
    key: str,
    *,
    now: datetime,
    choices: Sequence[Choice] = (),
    card: bool = False,
    **params: Any,
) -> None:
    """Queue a notice for the requester in the language they used for the ticket."""
    requester = desk.directory.get(ticket.requester_id)
    if requester is None:
        return
    if requester.active:  # someone who left keeps their tickets but hears nothing more
        to = requester_address(desk, session, ticket, requester)
        lang = ticket.language
        message = Message(
            text=desk.texts.render(lang, key, number=ticket.number, title=ticket.title, **params),
            choices=tuple(choices),
            card=ticket_card(desk, ticket, lang) if card else None,
        )
        notify(
            session=session,
            to=to,
            message=message,
            idem_key=f"{key}:{event.id}:{to.person_id}",
            now=now,
        )
    _tell_followers(desk, session, ticket, event, key, requester.id, now=now, **params)


def _tell_followers(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    event: TicketEvent,
    key: str,
    told: str,
    *,
    now: datetime,
    **params: Any,
) -> None:
    """The same notice for the requesters of tickets merged into this one (`/merge`), in
    their own language, without buttons: those act on a ticket that is not theirs."""
    assert ticket.id is not None
    seen = {told}
    for merged in ticket_links.merged_into(session=session, ticket_id=ticket.id):
        person = desk.directory.get(merged.requester_id)
        if person is None or not person.active or person.id in seen:
            continue
        seen.add(person.id)
        lang = merged.language
        text = desk.texts.render(lang, key, number=ticket.number, title=ticket.title, **params)
        notify(
            session=session,
            to=requester_address(desk, session, merged, person),
            message=Message(text=text),
            idem_key=f"{key}:{event.id}:{person.id}",
            now=now,
        )


def tell_person(
    desk: Desk,
    session: Session,
    person: Person,
    ticket: Ticket,
    event: TicketEvent,
    key: str,
    *,
    now: datetime,
    choices: Sequence[Choice] = (),
    card: bool = False,
    **params: Any,
) -> None:
    """Queue a notice for a colleague (assignee, asker...) at their usual private chat;
    nothing for someone who left."""
    if not person.active:
        return
    lang = person.language
    message = Message(
        text=desk.texts.render(lang, key, number=ticket.number, title=ticket.title, **params),
        choices=tuple(choices),
        card=ticket_card(desk, ticket, lang, staff=True) if card else None,
    )
    notify(
        session=session,
        to=home_address(desk, session, person),
        message=message,
        idem_key=f"{key}:{event.id}:{person.id}",
        now=now,
    )


def tell_team(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    event: TicketEvent,
    key: str,
    *,
    now: datetime,
    skip: str | None = None,
    **params: Any,
) -> int:
    """Tell whoever works the ticket: its assignee, else the queue's triage channels.

    `skip` is the person who caused the event (they already know). Returns how many
    notices were queued.
    """
    assignee = desk.directory.get(ticket.assignee_id)
    if assignee is not None and assignee.active:
        if assignee.id == skip:
            return 0
        tell_person(desk, session, assignee, ticket, event, key, now=now, **params)
        return 1
    lang = desk.settings.language
    text = desk.texts.render(lang, key, number=ticket.number, title=ticket.title, **params)
    count = 0
    for address in triage_addresses(desk, ticket.queue):
        notify(
            session=session,
            to=address,
            message=Message(text=text),
            idem_key=f"{key}:{event.id}:{address.channel}",
            now=now,
        )
        count += 1
    return count


def requester_told(turn: Turn, ticket: Ticket, event: TicketEvent, key: str, **params: Any) -> None:
    """`tell_requester` for a change made in this turn."""
    tell_requester(turn.desk, turn.session, ticket, event, key, now=turn.now, **params)


def team_told(turn: Turn, ticket: Ticket, event: TicketEvent, key: str, **params: Any) -> int:
    """`tell_team` for a change made in this turn."""
    return tell_team(turn.desk, turn.session, ticket, event, key, now=turn.now, **params)


def fixed_buttons(desk: Desk, ticket: Ticket) -> tuple[Choice, ...]:
    lang = ticket.language
    return (
        Choice(
            desk.texts.plain(lang, "button.fixed"),
            button(TICKET, "fixed", ticket.number),
            "primary",
        ),
        Choice(
            desk.texts.plain(lang, "button.not_fixed"), button(TICKET, "notfixed", ticket.number)
        ),
    )


def add_button(desk: Desk, ticket: Ticket) -> Choice:
    return Choice(
        desk.texts.plain(ticket.language, "button.add_info"), button(TICKET, "add", ticket.number)
    )


# ---- changes other parts of the desk make without a chat turn -----------------------------


def close_resolved(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    *,
    now: datetime,
    actor_id: str | None = None,
    note: str = "",
) -> TicketEvent | None:
    """Close a resolved ticket (e.g. no answer after the resolved notice). None if it is not
    resolved any more; the triage card is updated."""
    try:
        event = lifecycle.transition(
            session=session,
            ticket=ticket,
            actor_id=actor_id,
            now=now,
            kind="closed",
            to="closed",
            note=note,
            values={"closed_at": now},
        )
    except (lifecycle.InvalidTransition, lifecycle.Conflict):
        return None
    refresh_triage(desk, session, ticket, now, event)
    return event


# ---- the requester's free text answering a question ---------------------------------------


def waiting_ticket(turn: Turn) -> Ticket | None:
    """The requester's ticket waiting on their answer in this conversation, if any.

    A ticket raised here matches; in a private chat, so does one raised elsewhere (a
    logged ticket has no chat of its own). The most recently asked wins.
    """
    # Asked for every free-text message, and almost always empty: a prebuilt Core query
    # finds the candidate, and only a hit is loaded as a Ticket.
    turn.session.flush()  # what an ORM query would see: this turn's own changes
    rows = turn.session.connection().execute(_WAITING, {"requester_id": turn.person.id})
    private = not is_shared(turn.inbound.conversation)
    here = (turn.inbound.channel, turn.inbound.conversation)
    for ticket_id, channel, conversation in rows.all():
        if private or (channel, conversation) == here:
            return turn.session.get(Ticket, ticket_id)
    return None


_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_WAITING = (
    select(_TICKET.c.id, _TICKET.c.channel, _TICKET.c.conversation)
    .where(
        _TICKET.c.requester_id == bindparam("requester_id"),
        _TICKET.c.status == "waiting_on_user",
    )
    .order_by(_TICKET.c.updated_at.desc(), _TICKET.c.id.desc())
)


def answered_status(ticket: Ticket) -> str:
    """Where a ticket goes when the requester answers: back to its technician, or the queue."""
    return "in_progress" if ticket.assignee_id else "open"


def asker_of(session: Session, ticket: Ticket) -> str | None:
    """Who asked the requester the question the ticket is waiting on."""
    assert ticket.id is not None
    for event in reversed(repo.events_of(session=session, ticket_id=ticket.id)):
        if event.kind == "asked":
            return event.actor_id
    return None


def resolve_behind(
    turn: Turn, ticket: Ticket, note: str, data: dict[str, Any], told: str, **fields: Any
) -> bool:
    """Resolve `ticket` because what was behind it is fixed (a major incident's problem, a
    problem record): through the lifecycle on this turn's person's behalf, its triage card
    refreshed, its requester told (`told`, with `note` and `fields`) and asked Fixed / Not
    fixed. False when it cannot be resolved (already closed, or changed meanwhile)."""
    if ticket.status not in repo.ACTIVE or not lifecycle.allowed(ticket.status, "resolved"):
        return False
    try:
        event = lifecycle.transition(
            session=turn.session,
            ticket=ticket,
            actor_id=turn.person.id,
            now=turn.now,
            kind="resolved",
            to="resolved",
            note=note,
            values={
                "resolved_at": turn.now,
                "assignee_id": ticket.assignee_id or turn.person.id,
                "first_response_at": ticket.first_response_at or turn.now,
            },
            data=data,
        )
    except (lifecycle.InvalidTransition, lifecycle.Conflict):
        return False
    refresh_triage(turn.desk, turn.session, ticket, turn.now, event)
    requester_told(
        turn, ticket, event, told, choices=fixed_buttons(turn.desk, ticket), note=note, **fields
    )
    return True
