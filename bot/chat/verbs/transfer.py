"""`/transfer IT-1042 network [reason]`: hand a ticket to another team (a technician of its
queue, or an admin). The old triage card says where it went, the new queue gets a card, the
requester hears who has it now and whether the expected date moved (`bot.transfers`)."""

from __future__ import annotations

from bot import transfers, workflow
from bot.base.buttons import TICKET, button, fits
from bot.base.messages import Choice, Message
from bot.base.timefmt import describe_time
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.lookup import split_number, workable_ticket
from bot.tickets import post_moved, triage_addresses
from bot.turn import Turn
from store import tickets as repo
from store.models import Ticket


def transfer_verb(turn: Turn, args: str) -> None:
    number, rest = split_number(args)
    ticket = workable_ticket(turn, number, "transfer")
    if ticket is None:
        return
    if ticket.status not in repo.ACTIVE:
        workflow.say_invalid(turn, ticket, "in_progress")
        return
    queue, word, reason = transfers.split_queue(turn.desk, rest)
    if not word:
        _offer_queues(turn, ticket)
        return
    if queue is None:
        names = ", ".join(sorted(turn.desk.settings.queues))
        turn.say("transfer.unknown_queue", queue=word, queues=names)
        return
    if queue == ticket.queue:
        turn.say("transfer.same_queue", number=ticket.number, queue=_name(turn, queue))
        return
    _transfer(turn, ticket, queue, reason)


def _transfer(turn: Turn, ticket: Ticket, queue: str, reason: str) -> None:
    desk, old = turn.desk, ticket.queue
    before = ticket.expected_at or ticket.resolution_due
    values = {"queue": queue, **transfers.moved_due(desk, ticket, queue, turn.now)}
    assignee = desk.directory.get(ticket.assignee_id)
    keeps = assignee is not None and assignee.works_queue(queue)
    to = None
    if not keeps and ticket.assignee_id is not None:
        values["assignee_id"] = None  # nobody of the new team has it yet
        to = "open" if ticket.status == "in_progress" else None
    event = workflow.change(
        turn,
        ticket,
        "transferred",
        to=to,
        note=reason,
        values=values,
        data={"from": old, "to": queue},
    )
    if event is None:
        return
    post_moved(desk, turn.session, ticket, old, turn.now, turn.person.name, reason)
    turn.say(
        "transfer.done",
        number=ticket.number,
        queue=_name(turn, queue),
        triaged=bool(triage_addresses(desk, queue)),
    )
    after = ticket.expected_at or ticket.resolution_due
    requester = desk.directory.get(ticket.requester_id)
    tz = requester.timezone if requester else "UTC"
    lang = ticket.language
    workflow.requester_told(
        turn,
        ticket,
        event,
        "transfer.told_requester",
        queue=desk.queue_name(queue, lang),
        name=assignee.name if keeps and assignee else "",
        due=describe_time(desk.texts, lang, after, tz) if after else "",
        moved=after is not None and before is not None and after != before,
    )


def _offer_queues(turn: Turn, ticket: Ticket) -> None:
    choices = []
    for queue in turn.desk.settings.queues:
        value = button(TICKET, "transfer", f"{ticket.number} {queue}")
        if queue != ticket.queue and fits(value):
            choices.append(Choice(_name(turn, queue), value))
    turn.reply(
        Message(text=turn.t("transfer.pick_queue", number=ticket.number), choices=tuple(choices))
    )


def _name(turn: Turn, queue: str) -> str:
    return turn.desk.queue_name(queue, turn.language)


def register(verbs: Verbs) -> None:
    verbs.add(
        Verb("transfer", transfer_verb, staff=True, aliases=("move",), audience=Audience.TICKET)
    )
