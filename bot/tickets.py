"""Opening tickets and describing them to people (cards, status lines, what happens next)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.base.buttons import TICKET, button
from bot.base.messages import Address, CardField, Choice, Message, TicketCard
from bot.base.metrics import TALLY, TICKETS_OPENED
from bot.base.texts import trusted
from bot.base.timefmt import describe_time
from bot.ci_tickets import link_new_ticket, names_of
from bot.desk import Desk
from bot.directory import Person
from store import attachments as files_repo
from store import tickets as repo
from store.models import Ticket
from store.outbox import notify

log = logging.getLogger(__name__)

RISK_ANSWER = "change_risk"  # a change's risk level in its answers (bot/changes.py), on its card


def status_label(desk: Desk, status: str, lang: str, *, staff: bool = False) -> str:
    """A status as people read it; `staff` picks the technicians' wording where it differs
    ("Waiting for you" to the requester is "Waiting on the requester" to IT)."""
    if staff and desk.texts.has(f"status_staff.{status}"):
        return desk.texts.plain(lang, f"status_staff.{status}")
    return desk.texts.plain(lang, f"status.{status}")


def ticket_card(
    desk: Desk,
    ticket: Ticket,
    lang: str,
    *,
    staff: bool = False,
    files: Sequence[str] = (),
    cis: Sequence[str] = (),
) -> TicketCard:
    """The ticket as a card: status, priority, queue, who has it, when it is due, and the
    names of its files and of the configuration items it concerns when there are any."""
    texts = desk.texts
    status = status_label(desk, ticket.status, lang, staff=staff)
    assignee = desk.directory.get(ticket.assignee_id)
    requester = desk.directory.get(ticket.requester_id)
    tz = requester.timezone if requester else "UTC"
    fields = [
        CardField(texts.plain(lang, "card.status"), status),
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
    risk = ticket.answers.get(RISK_ANSWER) if ticket.type == "change" else None
    if risk in ("low", "medium", "high"):
        label = texts.plain(lang, f"changes.risk.{risk}")
        fields.append(CardField(texts.plain(lang, "card.risk"), label))
    eta = ticket.expected_at or ticket.resolution_due
    if eta is not None and ticket.status not in repo.DONE:
        fields.append(CardField(texts.plain(lang, "card.due"), describe_time(texts, lang, eta, tz)))
    if files:
        fields.append(CardField(texts.plain(lang, "card.files"), ", ".join(files)))
    if cis:
        fields.append(CardField(texts.plain(lang, "card.cis"), ", ".join(cis)))
    return TicketCard(
        number=ticket.number,
        title=ticket.title,
        status=status,
        fields=tuple(fields),
    )


def file_names(session: Session, ticket: Ticket) -> list[str]:
    assert ticket.id is not None
    return [f.name for f in files_repo.attachments_of(session=session, ticket_id=ticket.id)]


def triage_message(
    desk: Desk, ticket: Ticket, files: Sequence[str] = (), cis: Sequence[str] = ()
) -> Message:
    """The card in a queue's triage channel, kept current as the ticket moves: Claim and
    Assign while nobody has it, Assign (to hand it over) while someone works it, and Canned
    reply while it is open (when there are canned replies)."""
    lang = desk.settings.language
    texts = desk.texts
    choices: tuple[Choice, ...] = ()
    if ticket.status in repo.ACTIVE:
        assign = Choice(texts.plain(lang, "button.assign"), button(TICKET, "assign", ticket.number))
        if ticket.assignee_id is None:
            claim = Choice(
                texts.plain(lang, "button.claim"), button(TICKET, "claim", ticket.number), "primary"
            )
            choices = (claim, assign)
        else:
            choices = (assign,)
        transfer = button(TICKET, "transfer", ticket.number)  # the picker of queues
        choices = (*choices, Choice(texts.plain(lang, "transfer.button"), transfer))
        if desk.content.replies:
            canned = button(TICKET, "reply", ticket.number)  # the picker of canned replies
            choices = (*choices, Choice(texts.plain(lang, "button.canned_reply"), canned))
    if files:  # to the presser's private chat, whatever the ticket's state
        get = Choice(texts.plain(lang, "button.get_files"), button(TICKET, "file", ticket.number))
        choices = (*choices, get)
    return Message(
        text=texts.render(
            lang, "triage.card", number=ticket.number, title=ticket.title, state=ticket.status
        ),
        card=ticket_card(desk, ticket, lang, staff=True, files=files, cis=cis),
        choices=choices,
        more=f"/show {ticket.number}",
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
    addresses = triage_addresses(desk, ticket.queue)
    if not addresses:
        return  # a queue without a triage channel: no card to build
    lang = desk.settings.language
    cis = names_of(desk, session, ticket, lang)
    message = triage_message(desk, ticket, file_names(session, ticket), cis)
    for address in addresses:
        notify(
            session=session,
            to=address,
            message=message,
            key=f"card:{ticket.number}",
            idem_key=f"triage:{ticket.number}:{address.channel}:{reason}:{now.isoformat()}",
            now=now,
        )


def post_moved(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    old_queue: str,
    now: datetime,
    mover: str,
    reason: str,
) -> None:
    """The card in the old queue's triage channels, updated in place (not deleted): where
    the ticket went and who moved it, with no buttons left to press."""
    lang = desk.settings.language
    message = Message(
        text=desk.texts.render(
            lang,
            "transfer.card",
            number=ticket.number,
            title=ticket.title,
            queue=desk.queue_name(ticket.queue, lang),
            name=mover,
            reason=reason,
        ),
        card=ticket_card(desk, ticket, lang, staff=True),
    )
    for address in triage_addresses(desk, old_queue):
        notify(
            session=session,
            to=address,
            message=message,
            key=f"card:{ticket.number}",  # the card in this conversation, edited in place
            idem_key=f"triage:{ticket.number}:{address.channel}:moved:{now.isoformat()}",
            now=now,
        )


def due_times(
    desk: Desk, queue: str, sla_policy: str, priority: str, start: datetime
) -> tuple[datetime, datetime]:
    """First-response and resolution due times for a priority, on the queue's calendar."""
    policy = desk.settings.sla.get(sla_policy) or next(iter(desk.settings.sla.values()))
    target = policy.get(priority) or policy["P3"]  # type: ignore[call-overload]
    calendar = desk.calendar_for(queue)
    return calendar.add(start, target.first_response), calendar.add(start, target.resolution)


def sla_due(desk: Desk, ticket: Ticket, priority: str) -> tuple[datetime, datetime]:
    """A ticket's due times recomputed for a new priority (counted from when it was opened)."""
    journey = desk.catalog.get(ticket.service_id) if ticket.service_id else None
    policy = journey.sla if journey is not None else "standard"
    return due_times(desk, ticket.queue, policy, priority, ticket.created_at)


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
    first_due, resolution_due = due_times(desk, queue, sla_policy, priority, now)
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
        first_response_due=first_due,
        resolution_due=resolution_due,
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
    link_new_ticket(desk, session, ticket, requester, answers, now)
    post_triage(desk, session, ticket, now, "created")
    log.info(
        "ticket %s opened for %s: %s, %s, queue %s",
        number,
        requester.id,
        ticket_type,
        priority,
        queue,
    )

    TALLY.count(TICKETS_OPENED, queue)
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
