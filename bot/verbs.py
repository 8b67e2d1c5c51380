"""Slash verbs, the same on every channel: `/status`, `/queue`, `/claim IT-1042`...

Slack sends them as `/desk <verb> <args>`; Telegram and the console as `/<verb> <args>`.
Both forms reach `Verbs.dispatch`. Ticket buttons (`t:<verb>:<number>`) run the same
handlers, so a button and a typed verb can never behave differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import col

from bot import conversation
from bot.engine import ActionHandler, Turn
from bot.messages import Address, Message
from bot.tickets import post_triage, status_label, ticket_card
from store import tickets as repo
from store.models import Ticket

Handler = Callable[[Turn, str], None]


@dataclass(frozen=True)
class Verb:
    name: str
    handler: Handler
    staff: bool = False  # shown in help only to technicians and admins
    aliases: tuple[str, ...] = ()


class Verbs:
    def __init__(self) -> None:
        self.by_name: dict[str, Verb] = {}
        self.ordered: list[Verb] = []

    def add(self, verb: Verb) -> None:
        self.ordered.append(verb)
        for name in (verb.name, *verb.aliases):
            self.by_name[name] = verb

    def dispatch(self, turn: Turn, text: str) -> None:
        name, _, args = text.lstrip("/").partition(" ")
        name = name.split("@", 1)[0].lower()  # Telegram groups append @botname
        if name == "desk":  # Slack: /desk <verb> <args>
            name, _, args = args.strip().partition(" ")
            name = name.lower() or "help"
        verb = self.by_name.get(name)
        if verb is None:
            turn.say("verbs.unknown", verb=name)
            return
        verb.handler(turn, args.strip())

    def install_actions(self, actions: dict[str, ActionHandler]) -> None:
        def on_ticket_button(turn: Turn, rest: str) -> None:
            name, _, args = rest.partition(":")
            verb = self.by_name.get(name)
            if verb is None:
                turn.say("errors.unknown_button")
            else:
                verb.handler(turn, args)

        actions["t"] = on_ticket_button


# ---- requester verbs ----------------------------------------------------------------------


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
    from journeys.state import Press

    conversation.run(turn, journey, state, Press("_", "cancel"))


def human_verb(turn: Turn, args: str) -> None:
    found = conversation.active_journey(turn)
    if found is not None:
        journey, state = found
        from journeys.state import Press

        conversation.run(turn, journey, state, Press("_", "human"))
    elif args:
        conversation.handoff_without_journey(turn, args)
    else:
        turn.data["awaiting"] = "handoff_text"
        turn.say("understand.ask_for_text")


# ---- technician verbs ---------------------------------------------------------------------


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


# ---- approver verbs -----------------------------------------------------------------------


def approve_verb(turn: Turn, args: str) -> None:
    """`/approve 12`: approve approval #12."""
    from bot import approvals

    raw, _, _rest = args.strip().lstrip("#").partition(" ")
    if not raw.isdigit():
        pending_verb(turn, "")
        return
    approvals.decide(turn, int(raw), approved=True, reason="")


def reject_verb(turn: Turn, args: str) -> None:
    """`/reject 12 not in budget`: reject approval #12 with a reason."""
    from bot import approvals

    raw, _, reason = args.strip().lstrip("#").partition(" ")
    if not raw.isdigit():
        pending_verb(turn, "")
        return
    approvals.decide(turn, int(raw), approved=False, reason=reason.strip())


def pending_verb(turn: Turn, _args: str) -> None:
    """`/approvals`: what is waiting for this person's decision."""
    from bot import approvals

    pending = approvals.pending_for(turn.desk, turn.session, turn.person)
    items = []
    for a in pending:
        requester = turn.desk.directory.get(a.requester_id)
        items.append(
            {
                "id": a.id,
                "summary": a.summary,
                "requester": requester.name if requester else a.requester_id,
            }
        )
    turn.say("verbs.approvals", approvals=items)


def default_verbs() -> Verbs:
    verbs = Verbs()
    verbs.add(Verb("help", help_verb, aliases=("?",)))
    verbs.add(Verb("start", start_verb))
    verbs.add(Verb("status", my_tickets, aliases=("tickets", "my")))
    verbs.add(Verb("cancel", cancel_verb))
    verbs.add(Verb("human", human_verb, aliases=("agent", "person")))
    verbs.add(Verb("queue", queue_verb, staff=True))
    verbs.add(Verb("claim", claim_verb, staff=True))
    verbs.add(Verb("approvals", pending_verb))
    verbs.add(Verb("approve", approve_verb))
    verbs.add(Verb("reject", reject_verb))
    return verbs
