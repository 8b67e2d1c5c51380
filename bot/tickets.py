"""Opening tickets and describing them to people (cards, status lines, what happens next)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.desk import Desk
from bot.directory import Person
from bot.messages import Address, CardField, Choice, Message, TicketCard
from bot.texts import trusted
from bot.timefmt import describe_time
from notifications.outbox import notify
from store import tickets as repo
from store.models import Ticket


def status_label(desk: Desk, status: str, lang: str) -> str:
    return desk.texts.plain(lang, f"status.{status}")


def ticket_card(desk: Desk, ticket: Ticket, lang: str) -> TicketCard:
    """The ticket as a card: status, priority, queue, who has it, when it is due."""
    texts = desk.texts
    assignee = desk.directory.get(ticket.assignee_id)
    requester = desk.directory.get(ticket.requester_id)
    tz = requester.timezone if requester else "UTC"
    fields = [
        CardField(texts.plain(lang, "card.status"), status_label(desk, ticket.status, lang)),
        CardField(texts.plain(lang, "card.priority"), ticket.priority),
        CardField(texts.plain(lang, "card.queue"), desk.queue_name(ticket.queue, lang)),
        CardField(
            texts.plain(lang, "card.requester"),
            requester.name if requester else ticket.requester_id,
        ),
        CardField(
            texts.plain(lang, "card.assignee"),
            assignee.name if assignee else texts.plain(lang, "card.unassigned"),
        ),
    ]
    eta = ticket.expected_at or ticket.resolution_due
    if eta is not None and ticket.status not in repo.DONE:
        fields.append(CardField(texts.plain(lang, "card.due"), describe_time(texts, lang, eta, tz)))
    return TicketCard(
        number=ticket.number,
        title=ticket.title,
        status=status_label(desk, ticket.status, lang),
        fields=tuple(fields),
    )


def triage_message(desk: Desk, ticket: Ticket) -> Message:
    """The card posted to a queue's triage channel, with the buttons technicians use."""
    lang = desk.settings.language
    texts = desk.texts
    choices: tuple[Choice, ...] = ()
    if ticket.assignee_id is None and ticket.status not in repo.DONE:
        choices = (
            Choice(texts.plain(lang, "button.claim"), f"t:claim:{ticket.number}", "primary"),
            Choice(texts.plain(lang, "button.assign"), f"t:assign:{ticket.number}"),
        )
    return Message(
        text=texts.render(lang, "triage.card", number=ticket.number, title=ticket.title),
        card=ticket_card(desk, ticket, lang),
        choices=choices,
    )


def triage_addresses(desk: Desk, queue: str) -> list[Address]:
    triage = desk.settings.queues[queue].triage if queue in desk.settings.queues else None
    if triage is None:
        return []
    return [
        Address(channel, target)
        for channel, target in (
            ("slack", triage.slack),
            ("telegram", triage.telegram),
            ("console", triage.console),
        )
        if target
    ]


def post_triage(desk: Desk, session: Session, ticket: Ticket, now: datetime, reason: str) -> None:
    """Post (or update in place) the ticket's card in every triage channel of its queue."""
    message = triage_message(desk, ticket)
    for address in triage_addresses(desk, ticket.queue):
        notify(
            session=session,
            to=address,
            message=message,
            key=f"card:{ticket.number}",
            idem_key=f"triage:{ticket.number}:{address.channel}:{reason}:{now.isoformat()}",
            now=now,
        )


def open_ticket(
    desk: Desk,
    session: Session,
    *,
    requester: Person,
    service_id: str | None,
    ticket_type: str,
    title: str,
    description: str,
    priority: str,
    queue: str,
    answers: dict[str, object],
    origin: Address | None,
    language: str,
    now: datetime,
    sla_policy: str = "standard",
    expected: timedelta | None = None,
    source: str = "desk",
    actor_id: str | None = None,
) -> Ticket:
    """Create a ticket with its SLA due times, audit it, and tell the queue."""
    number = repo.next_number(
        session=session, prefix=desk.settings.ticket_prefix, start=desk.settings.ticket_start
    )
    policy = desk.settings.sla.get(sla_policy) or next(iter(desk.settings.sla.values()))
    target = policy[priority]  # type: ignore[index]
    calendar = desk.calendar_for(queue)
    ticket = repo.create_ticket(
        session=session,
        number=number,
        now=now,
        type=ticket_type,
        service_id=service_id,
        requester_id=requester.id,
        status="new",
        priority=priority,
        queue=queue,
        title=title,
        description=description,
        answers=answers,
        source=source,
        language=language,
        channel=origin.channel if origin else None,
        conversation=origin.conversation if origin else None,
        expected_at=calendar.add(now, expected) if expected else None,
        first_response_due=calendar.add(now, target.first_response),
        resolution_due=calendar.add(now, target.resolution),
    )
    repo.add_event(
        session=session,
        ticket=ticket,
        at=now,
        actor_id=actor_id or requester.id,
        kind="created",
        to_status="new",
        note=title,
        data={"source": source, "priority": priority, "queue": queue},
    )
    post_triage(desk, session, ticket, now, "created")
    return ticket


def created_message(
    desk: Desk, ticket: Ticket, lang: str, *, next_text: str | None, expected: str
) -> Message:
    """What the requester sees once their ticket exists: number, next step, when."""
    requester = desk.directory.get(ticket.requester_id)
    tz = requester.timezone if requester else "UTC"
    texts = desk.texts
    eta = ticket.expected_at or ticket.resolution_due
    due = describe_time(texts, lang, eta, tz) if eta else ""
    return Message(
        text=desk.texts.render(
            lang,
            "ticket.created",
            number=ticket.number,
            title=ticket.title,
            next=trusted(next_text) if next_text else texts.render(lang, "ticket.next_default"),
            expected=expected,
            due=due,
        ),
        card=ticket_card(desk, ticket, lang),
    )
