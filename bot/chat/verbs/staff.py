"""Technician verbs: the queue, claiming and working tickets, and logging requests that
reached IT outside the desk. Every verb checks `bot.permissions` (through `lookup`) first.

Each verb is the same typed (`/claim IT-1042`, Slack `/desk claim IT-1042`) or pressed
(`t:claim:IT-1042`); a pressed button passes exactly the arguments a person would type.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot import approvals, attachments, incidents, permissions, problems, workflow
from bot.base.buttons import TICKET, button, fits
from bot.base.messages import Choice, Message
from bot.base.timefmt import describe_time
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.chat.verbs.replies import reply_verb, requester_name, to_requester
from bot.chat.verbs.requester import show_ticket
from bot.lookup import find_person, split_number, staff_only, workable_ticket
from bot.tickets import open_ticket, sla_due, status_label, ticket_card
from bot.turn import Turn
from store import lifecycle
from store import tickets as repo
from store.models import Ticket

PRIORITIES = ("P1", "P2", "P3", "P4")
QUEUE_BUTTONS = 5


def due_at(ticket: Ticket) -> datetime:
    """The next SLA deadline: first response until someone responded, then resolution."""
    if ticket.first_response_at is None and ticket.first_response_due is not None:
        return ticket.first_response_due
    return ticket.resolution_due or ticket.created_at


def by_urgency(tickets: Iterable[Ticket]) -> list[Ticket]:
    return sorted(tickets, key=lambda t: (t.priority, due_at(t), t.id or 0))


def rows(turn: Turn, tickets: Iterable[Ticket]) -> list[dict[str, Any]]:
    desk, lang = turn.desk, turn.language
    out = []
    for t in tickets:
        assignee = desk.directory.get(t.assignee_id)
        out.append(
            {
                "number": t.number,
                "title": t.title,
                "priority": t.priority,
                "status": status_label(desk, t.status, lang, staff=True),
                "queue": desk.queue_name(t.queue, lang),
                "due": describe_time(desk.texts, lang, due_at(t), turn.person.timezone),
                "assignee": assignee.name if assignee else "",
            }
        )
    return out


def need_text(turn: Turn, verb: str, text: str) -> bool:
    if text:
        return True
    turn.say("tickets.usage", verb=verb)
    return False


def queue_verb(turn: Turn, args: str) -> None:
    """`/queue [queue]`: unassigned tickets of my queues, by priority then SLA due."""
    if not staff_only(turn, "queue"):
        return
    desk = turn.desk
    if args:
        queue = args.strip()
        if queue not in desk.settings.queues:
            turn.say("tickets.unknown_queue", queue=queue, queues=", ".join(desk.settings.queues))
            return
        if not permissions.may_work_queue(turn.person, queue):
            permissions.refuse(
                turn,
                "queue",
                key="perm.not_your_queue_name",
                queue=desk.queue_name(queue, turn.language),
            )
            return
        queues = [queue]
    else:
        queues = sorted(turn.person.queues) or sorted(desk.settings.queues)
    found = by_urgency(
        t
        for q in queues
        for t in repo.list_tickets(session=turn.session, queue=q, statuses=repo.ACTIVE)
        if t.assignee_id is None
    )
    label = turn.plain("button.claim")
    choices = tuple(
        Choice(f"{label} {t.number}", button(TICKET, "claim", t.number), "primary")
        for t in found[:QUEUE_BUTTONS]
    )
    turn.reply(Message(text=turn.t("tickets.queue", tickets=rows(turn, found)), choices=choices))


def mine_verb(turn: Turn, _args: str) -> None:
    """`/mine`: the open tickets assigned to me, most urgent first."""
    if not staff_only(turn, "mine"):
        return
    found = repo.list_tickets(session=turn.session, statuses=repo.ACTIVE)
    mine = by_urgency(t for t in found if t.assignee_id == turn.person.id)
    turn.say("tickets.mine", tickets=rows(turn, mine))


def claim_verb(turn: Turn, args: str) -> None:
    """`/claim IT-1042`: take a ticket. Exactly one technician wins a race; the others are
    told who has it."""
    number, _ = split_number(args)
    ticket = workable_ticket(turn, number, "claim")
    if ticket is None:
        return
    if ticket.assignee_id is not None:
        _say_taken(turn, ticket)
        return
    if ticket.status not in repo.ACTIVE:
        workflow.say_invalid(turn, ticket, "in_progress")
        return
    try:
        event = lifecycle.transition(
            session=turn.session,
            ticket=ticket,
            actor_id=turn.person.id,
            now=turn.now,
            kind="claimed",
            to="in_progress" if ticket.status in lifecycle.PICK_UP else None,
            values={
                "assignee_id": turn.person.id,
                "first_response_at": ticket.first_response_at or turn.now,
            },
        )
    except lifecycle.Conflict as lost:
        _say_taken(turn, lost.ticket)
        return
    workflow.refresh_triage(turn.desk, turn.session, ticket, turn.now, event)
    turn.say("tickets.claimed", number=ticket.number, title=ticket.title)
    workflow.requester_told(
        turn,
        ticket,
        event,
        "tickets.told_claimed",
        name=turn.person.first_name,
    )


def _say_taken(turn: Turn, ticket: Ticket) -> None:
    if ticket.assignee_id == turn.person.id:
        turn.say("tickets.already_yours", number=ticket.number, name=turn.person.name)
        return
    holder = turn.desk.directory.get(ticket.assignee_id)
    if holder is None:  # released again meanwhile, or otherwise changed
        workflow.say_invalid(turn, ticket, "in_progress")
        return
    turn.say("tickets.already_claimed", number=ticket.number, name=holder.name)


def unclaim_verb(turn: Turn, args: str) -> None:
    """`/unclaim IT-1042`: give a ticket back to the queue (the assignee, or an admin)."""
    number, _ = split_number(args)
    ticket = workable_ticket(turn, number, "unclaim")
    if ticket is None:
        return
    if ticket.assignee_id is None:
        turn.say("tickets.not_assigned", number=ticket.number)
        return
    if not permissions.may_release(turn.person, ticket):
        holder = turn.desk.directory.get(ticket.assignee_id)
        permissions.refuse(
            turn,
            "unclaim",
            ticket,
            key="perm.not_assignee",
            number=ticket.number,
            name=holder.name if holder else ticket.assignee_id,
        )
        return
    to = "open" if ticket.status == "in_progress" else None
    if workflow.change(turn, ticket, "unclaimed", to=to, values={"assignee_id": None}):
        turn.say("tickets.unclaimed", number=ticket.number)


def assign_verb(turn: Turn, args: str) -> None:
    """`/assign IT-1042 alex`: give a ticket to a colleague of its queue. Without a name:
    buttons to pick one."""
    number, who = split_number(args)
    ticket = workable_ticket(turn, number, "assign")
    if ticket is None:
        return
    if ticket.status not in repo.ACTIVE:
        workflow.say_invalid(turn, ticket, "in_progress")
        return
    if not who:
        _offer_colleagues(turn, ticket)
        return
    target = find_person(turn.desk, who)
    if target is None:
        turn.say("tickets.unknown_person", who=who)
        return
    if not permissions.may_take(target, ticket):
        turn.say(
            "tickets.not_eligible",
            name=target.name,
            number=ticket.number,
            queue=turn.desk.queue_name(ticket.queue, turn.language),
        )
        return
    if ticket.assignee_id == target.id:
        turn.say("tickets.already_assigned", number=ticket.number, name=target.name)
        return
    event = workflow.change(
        turn,
        ticket,
        "assigned",
        to="in_progress" if ticket.status in lifecycle.PICK_UP else None,
        values={
            "assignee_id": target.id,
            "first_response_at": ticket.first_response_at or turn.now,
        },
        data={"by": turn.person.id},
    )
    if event is None:
        return
    turn.say("tickets.assigned", number=ticket.number, name=target.name)
    if target.id != turn.person.id:
        workflow.tell_person(
            turn.desk,
            turn.session,
            target,
            ticket,
            event,
            "tickets.told_assignee",
            now=turn.now,
            card=True,
            by=turn.person.name,
        )
    workflow.requester_told(
        turn,
        ticket,
        event,
        "tickets.told_claimed",
        name=target.first_name,
    )


def _offer_colleagues(turn: Turn, ticket: Ticket) -> None:
    colleagues = [
        p for p in turn.desk.directory.technicians(ticket.queue) if p.id != ticket.assignee_id
    ]
    choices = []
    for person in sorted(colleagues, key=lambda p: p.name):
        value = button(TICKET, "assign", f"{ticket.number} {person.id}")
        if fits(value):
            choices.append(Choice(person.name, value))
    if not choices:
        turn.say("tickets.no_colleagues", number=ticket.number)
        return
    turn.reply(
        Message(text=turn.t("tickets.pick_assignee", number=ticket.number), choices=tuple(choices))
    )


def ask_verb(turn: Turn, args: str) -> None:
    """`/ask IT-1042 question`: ask the requester; the ticket waits for their answer."""
    number, text = split_number(args)
    ticket = workable_ticket(turn, number, "ask")
    if ticket is None or not need_text(turn, "ask", text):
        return
    to_requester(
        turn, ticket, text, kind="asked", told="tickets.told_question", said="tickets.asked"
    )


def note_verb(turn: Turn, args: str) -> None:
    """`/note IT-1042 text`: an internal note the requester never sees."""
    number, text = split_number(args)
    ticket = workable_ticket(turn, number, "note")
    if ticket is None or not need_text(turn, "note", text):
        return
    if workflow.change(turn, ticket, "note", note=text):
        turn.say("tickets.noted", number=ticket.number)


def priority_verb(turn: Turn, args: str) -> None:
    """`/priority IT-1042 P2`: change the priority; the SLA due times follow it."""
    number, raw = split_number(args)
    ticket = workable_ticket(turn, number, "priority")
    if ticket is None:
        return
    priority = raw.strip().upper()
    if priority not in PRIORITIES:
        turn.say("tickets.bad_priority", priorities=", ".join(PRIORITIES))
        return
    if priority == ticket.priority:
        turn.say("tickets.same_priority", number=ticket.number, priority=priority)
        return
    first_due, resolution_due = sla_due(turn.desk, ticket, priority)
    event = workflow.change(
        turn,
        ticket,
        "priority",
        note=f"{ticket.priority} -> {priority}",
        values={
            "priority": priority,
            "first_response_due": first_due,
            "resolution_due": resolution_due,
        },
        data={"from": ticket.priority, "to": priority},
    )
    if event is not None:
        turn.say(
            "tickets.priority_set",
            number=ticket.number,
            priority=priority,
            due=describe_time(turn.desk.texts, turn.language, resolution_due, turn.person.timezone),
        )


def set_verb(turn: Turn, args: str) -> None:
    """`/set IT-1042 size 32`: correct one of the recorded answers. When an approval
    covered that answer, the ticket goes back for approval."""

    number, rest = split_number(args)
    ticket = workable_ticket(turn, number, "set")
    if ticket is None:
        return
    field, _, raw = rest.partition(" ")
    raw = raw.strip()
    if not field or not raw:
        turn.say("tickets.usage", verb="set")
        return
    if field not in ticket.answers:
        turn.say(
            "tickets.unknown_field",
            number=ticket.number,
            field=field,
            fields=", ".join(sorted(ticket.answers)) or "-",
        )
        return
    if ticket.status not in repo.ACTIVE:
        turn.say(
            "tickets.not_active",
            number=ticket.number,
            status=status_label(turn.desk, ticket.status, turn.language),
        )
        return
    old = ticket.answers[field]
    value = _coerce(turn, old, raw)
    if value == old:
        turn.say("tickets.same_value", number=ticket.number, field=field)
        return
    answers = {**ticket.answers, field: value}
    event = workflow.change(
        turn,
        ticket,
        "changed",
        note=f"{field}: {old} -> {value}",
        values={"answers": answers},
        data={"field": field, "from": old, "to": value},
    )
    if event is None:
        return
    turn.say("tickets.field_set", number=ticket.number, field=field, value=str(value))
    approvals.rescope(turn, ticket, {field: (old, value)})


def _coerce(turn: Turn, old: object, raw: str) -> object:
    """Keep an answer's type: yes/no stays a bool, a number stays a number."""
    if isinstance(old, bool):
        lowered = raw.lower()
        if lowered in turn.desk.texts.words(turn.language, "vocab.yes"):
            return True
        if lowered in turn.desk.texts.words(turn.language, "vocab.no"):
            return False
        return raw
    if isinstance(old, int):
        try:
            return int(raw)
        except ValueError:
            return raw
    if isinstance(old, float):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def resolve_verb(turn: Turn, args: str) -> None:
    """`/resolve IT-1042 what fixed it`: resolve with a note; the requester is asked to
    confirm with Fixed / Not fixed."""
    number, note = split_number(args)
    ticket = workable_ticket(turn, number, "resolve")
    if ticket is None or not need_text(turn, "resolve", note):
        return
    event = workflow.change(
        turn,
        ticket,
        "resolved",
        to="resolved",
        note=note,
        values={
            "resolved_at": turn.now,
            "assignee_id": ticket.assignee_id or turn.person.id,
            "first_response_at": ticket.first_response_at or turn.now,
        },
    )
    if event is None:
        return
    if ticket.type == "problem":
        # A major incident's problem record: the people affected are told through their
        # own reports; the technician who declared it is not asked whether it is fixed.
        turn.say("tickets.resolved_problem", number=ticket.number)
        incidents.on_problem_resolved(turn, ticket, note)
        problems.on_work_resolved(turn, ticket, note)
        return
    turn.say("tickets.resolved", number=ticket.number, name=requester_name(turn, ticket))
    workflow.requester_told(
        turn,
        ticket,
        event,
        "tickets.told_resolved",
        choices=workflow.fixed_buttons(turn.desk, ticket),
        name=turn.person.first_name,
        note=note,
    )


def reopen_verb(turn: Turn, args: str) -> None:
    """`/reopen IT-1042 [reason]`: take a resolved ticket up again."""
    number, reason = split_number(args)
    ticket = workable_ticket(turn, number, "reopen", final_ok=True)  # the lifecycle explains
    if ticket is None:
        return
    event = workflow.change(
        turn, ticket, "reopened", to="reopened", note=reason, values={"resolved_at": None}
    )
    if event is None:
        return
    turn.say("tickets.reopened", number=ticket.number)
    workflow.requester_told(
        turn,
        ticket,
        event,
        "tickets.told_reopened",
        name=turn.person.first_name,
        reason=reason,
    )


def show_verb(turn: Turn, args: str) -> None:
    """`/show IT-1042`: the card, the details and the timeline (internal notes for staff)."""

    number, _ = split_number(args)
    show_ticket(turn, number, "show")


def file_verb(turn: Turn, args: str) -> None:
    """`/file IT-1042 [n]`: the ticket's files (or its n-th), uploaded to my private chat."""
    number, which = split_number(args)
    ticket = workable_ticket(turn, number, "file", final_ok=True)
    if ticket is None:
        return
    files = attachments.files_of(turn, ticket)
    if not files:
        turn.say("files.none", number=ticket.number)
        return
    chosen = files
    if which:
        place = int(which) if which.isdigit() else 0
        if not 1 <= place <= len(files):
            turn.say("files.no_such_file", number=ticket.number, count=len(files))
            return
        chosen = [files[place - 1]]
    attachments.share(turn, ticket, chosen)


def log_verb(turn: Turn, args: str) -> None:
    """`/log alice [queue] [P1-P4] what they asked for`: record a request that reached IT
    outside the desk (a call, a private message). It counts as a bypass in the metrics and
    is assigned to whoever logged it."""
    if not staff_only(turn, "log"):
        return
    desk = turn.desk
    who, _, rest = args.strip().partition(" ")
    requester = find_person(desk, who) if who else None
    if requester is None:
        turn.say("tickets.unknown_person" if who else "tickets.usage", who=who, verb="log")
        return
    words = rest.split()
    queue = (
        sorted(turn.person.queues)[0] if turn.person.queues else next(iter(desk.settings.queues))
    )
    priority = "P3"
    while words and (words[0] in desk.settings.queues or words[0].upper() in PRIORITIES):
        token = words.pop(0)
        if token in desk.settings.queues:
            queue = token
        else:
            priority = token.upper()
    title = " ".join(words)
    if not title:
        turn.say("tickets.usage", verb="log")
        return
    if not permissions.may_work_queue(turn.person, queue):
        permissions.refuse(
            turn, "log", key="perm.not_your_queue_name", queue=desk.queue_name(queue, turn.language)
        )
        return
    ticket = open_ticket(
        desk,
        turn.session,
        requester=requester,
        service_id=None,
        ticket_type="incident",
        title=title[:300],
        description=title,
        priority=priority,
        queue=queue,
        answers={},
        origin=None,
        language=requester.language,
        now=turn.now,
        source="logged",
        actor_id=turn.person.id,
    )
    event = lifecycle.transition(
        session=turn.session,
        ticket=ticket,
        actor_id=turn.person.id,
        now=turn.now,
        kind="claimed",
        to="in_progress",
        values={"assignee_id": turn.person.id, "first_response_at": turn.now},
        data={"source": "logged"},
    )
    workflow.refresh_triage(desk, turn.session, ticket, turn.now, event)
    turn.reply(
        Message(
            text=turn.t("tickets.logged", number=ticket.number, name=requester.name),
            card=ticket_card(desk, ticket, turn.language),
        )
    )
    workflow.requester_told(
        turn,
        ticket,
        event,
        "tickets.told_logged",
        card=True,
        name=turn.person.first_name,
    )


# Lists show the asker's queues; the rest show one ticket (bot.chat.places).
QUEUES, ONE_TICKET = Audience.QUEUES, Audience.TICKET


def register(verbs: Verbs) -> None:
    verbs.add(Verb("queue", queue_verb, staff=True, audience=QUEUES))
    verbs.add(Verb("mine", mine_verb, staff=True, audience=QUEUES))
    verbs.add(Verb("show", show_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("claim", claim_verb, staff=True, aliases=("take",), audience=ONE_TICKET))
    verbs.add(Verb("unclaim", unclaim_verb, staff=True, aliases=("release",), audience=ONE_TICKET))
    verbs.add(Verb("assign", assign_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("reply", reply_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("note", note_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("ask", ask_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("priority", priority_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("set", set_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("resolve", resolve_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("reopen", reopen_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("log", log_verb, staff=True, audience=ONE_TICKET))
    verbs.add(Verb("file", file_verb, staff=True, aliases=("files",), audience=ONE_TICKET))
