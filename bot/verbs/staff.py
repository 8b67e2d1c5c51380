"""Technician verbs: the queue and claiming tickets."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col

from bot.engine import Turn
from bot.messages import Address, Message
from bot.tickets import post_triage
from bot.verbs import Verb, Verbs
from store import tickets as repo
from store.models import Ticket


def _staff_only(turn: Turn) -> bool:
    if turn.person.has_role("technician"):
        return True
    turn.say("verbs.not_allowed")
    return False


def queue_verb(turn: Turn, args: str) -> None:
    """`/queue [name]`: unassigned tickets of the technician's queues, most urgent first."""
    if not _staff_only(turn):
        return
    queues = [args] if args else sorted(turn.person.queues or turn.desk.settings.queues)
    rows = []
    for queue in queues:
        if not turn.person.works_queue(queue):
            turn.say("verbs.not_your_queue", queue=queue)
            return
        for t in repo.list_tickets(session=turn.session, queue=queue, statuses=repo.ACTIVE):
            if t.assignee_id is None:
                rows.append(t)
    rows.sort(key=lambda t: (t.priority, t.resolution_due or t.created_at))
    items = [
        {
            "number": t.number,
            "title": t.title,
            "priority": t.priority,
            "queue": turn.desk.queue_name(t.queue, turn.language),
        }
        for t in rows
    ]
    turn.say("verbs.queue", tickets=items)


def claim_verb(turn: Turn, args: str) -> None:
    """`/claim IT-1042`: take a ticket; exactly one technician wins a race."""
    number = args.strip().upper()
    ticket = repo.get_ticket(session=turn.session, number=number) if number else None
    if ticket is None:
        turn.say("verbs.no_such_ticket", number=number or "?")
        return
    if not turn.person.works_queue(ticket.queue):
        repo.add_event(
            session=turn.session,
            ticket=ticket,
            at=turn.now,
            actor_id=turn.person.id,
            kind="refused",
            note="claim",
            data={"verb": "claim"},
        )
        turn.say("verbs.not_allowed")
        return
    result = turn.session.execute(
        update(Ticket)
        .where(
            col(Ticket.id) == ticket.id,
            col(Ticket.assignee_id).is_(None),
            col(Ticket.status).in_(repo.ACTIVE),
        )
        .values(assignee_id=turn.person.id, status="in_progress", updated_at=turn.now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        turn.session.refresh(ticket)
        holder = turn.desk.directory.get(ticket.assignee_id)
        turn.say(
            "verbs.already_claimed",
            number=ticket.number,
            name=holder.name if holder else turn.plain("card.unassigned"),
        )
        return
    before = ticket.status
    turn.session.refresh(ticket)
    if ticket.first_response_at is None:
        ticket.first_response_at = turn.now
        turn.session.add(ticket)
    repo.add_event(
        session=turn.session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="claimed",
        from_status=before,
        to_status="in_progress",
    )
    turn.say("verbs.claimed", number=ticket.number, title=ticket.title)
    requester = turn.desk.directory.get(ticket.requester_id)
    if requester and ticket.channel and ticket.conversation:
        lang = ticket.language
        turn.send(
            Address(ticket.channel, ticket.conversation, requester.id),
            Message(
                text=turn.desk.texts.render(
                    lang,
                    "notify.claimed",
                    number=ticket.number,
                    name=turn.person.first_name,
                    title=ticket.title,
                )
            ),
            idem=f"claimed:{ticket.number}:{turn.now.isoformat()}",
        )
    post_triage(turn.desk, turn.session, ticket, turn.now, "claimed")


def register(verbs: Verbs) -> None:
    verbs.add(Verb("queue", queue_verb, staff=True))
    verbs.add(Verb("claim", claim_verb, staff=True))
