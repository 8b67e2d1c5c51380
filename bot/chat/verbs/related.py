"""`/link IT-1043 IT-1042` (two tickets about related things, shown on both), `/unlink
IT-1043 IT-1042` (that link removed) and `/merge IT-1043 IT-1042` (the same problem twice:
IT-1043 closes with a pointer to IT-1042, its words are kept on IT-1042 as a note, and its
requester follows IT-1042's notices)."""

from __future__ import annotations

from bot import permissions, workflow
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.lookup import normalise_number, split_number, workable_ticket
from bot.turn import Turn
from store import ticket_links
from store import tickets as repo
from store.models import Ticket


def looks_like_ticket(word: str) -> bool:
    """`IT-1042`, `#1042` or `1042`: what `/link` takes for a ticket (else a chat name)."""
    word = word.strip().lstrip("#")
    return word.isdigit() or ("-" in word and word.rpartition("-")[2].isdigit())


def _pair(turn: Turn, args: str, action: str) -> tuple[Ticket, Ticket] | None:
    first, rest = split_number(args)
    second, _ = split_number(rest)
    if not first or not second:
        turn.say(f"related.usage_{action}")
        return None
    one = workable_ticket(turn, first, action)
    if one is None:
        return None
    other = workable_ticket(turn, second, action)
    if other is None:
        return None
    if one.id == other.id:
        turn.say("related.same_ticket", number=one.number)
        return None
    return one, other


def link_tickets(turn: Turn, args: str) -> None:
    found = _pair(turn, args, "link")
    if found is None:
        return
    one, other = found
    if not ticket_links.add_link(
        session=turn.session,
        ticket=one,
        other=other,
        kind="related",
        actor_id=turn.person.id,
        now=turn.now,
    ):
        turn.say("related.already", number=one.number, other=other.number)
        return
    _audit_both(turn, one, other, "related")
    turn.say("related.linked", number=one.number, other=other.number)


def unlink_verb(turn: Turn, args: str) -> None:
    """Remove a related link. A technician of either ticket's queue (or an admin) may: the
    link was made by someone working one of them, and either side may find it wrong. Closed
    tickets may be unlinked too; a merge is not undone this way."""
    first, rest = split_number(args)
    second, _ = split_number(rest)
    if not permissions.is_staff(turn.person):
        permissions.refuse(turn, "unlink", None, key="perm.staff_only", verb="unlink")
        return
    if not first or not second:
        turn.say("related.usage_unlink")
        return
    found: list[Ticket] = []
    for raw in (first, second):
        number = normalise_number(turn.desk, raw)
        ticket = repo.get_ticket(session=turn.session, number=number)
        if ticket is None:
            turn.say("verbs.no_such_ticket", number=number)
            return
        found.append(ticket)
    one, other = found
    if one.id == other.id:
        turn.say("related.same_ticket", number=one.number)
        return
    if not (permissions.may_work(turn.person, one) or permissions.may_work(turn.person, other)):
        permissions.refuse(
            turn,
            "unlink",
            one,
            key="perm.not_your_queue",
            number=one.number,
            queue=turn.desk.queue_name(one.queue, turn.language),
        )
        return
    if not ticket_links.remove_related(session=turn.session, ticket=one, other=other):
        kind = ticket_links.kind_between(session=turn.session, ticket=one, other=other)
        key = "related.merged_not_unlinked" if kind == "merged" else "related.not_linked"
        turn.say(key, number=one.number, other=other.number)
        return
    _audit_both(turn, one, other, "unrelated")
    turn.say("related.unlinked", number=one.number, other=other.number)


def merge_verb(turn: Turn, args: str) -> None:
    found = _pair(turn, args, "merge")
    if found is None:
        return
    duplicate, keep = found  # a duplicate merged before is cancelled: refused above
    event = workflow.change(
        turn,
        duplicate,
        "merged",
        to="cancelled",
        note=keep.number,
        data={"into": keep.number},
    )
    if event is None:
        return
    ticket_links.add_link(
        session=turn.session,
        ticket=duplicate,
        other=keep,
        kind="merged",
        actor_id=turn.person.id,
        now=turn.now,
    )
    # Nothing of the duplicate is lost: its words go on the ticket that stays, as a note.
    answers = "\n".join(f"{k}: {v}" for k, v in duplicate.answers.items())
    words = "\n".join(w for w in (duplicate.title, duplicate.description, answers) if w)
    repo.add_event(
        session=turn.session,
        ticket=keep,
        at=turn.now,
        actor_id=turn.person.id,
        kind="merged_in",
        note=f"{duplicate.number}: {words}"[:4000],
        data={"from": duplicate.number, "requester": duplicate.requester_id},
    )
    requester = turn.desk.directory.get(duplicate.requester_id)
    turn.say(
        "related.merged",
        number=duplicate.number,
        other=keep.number,
        name=requester.name if requester else duplicate.requester_id,
    )
    workflow.requester_told(
        turn, duplicate, event, "related.told_merged", other=keep.number, other_title=keep.title
    )


def register(verbs: Verbs) -> None:
    verbs.add(Verb("merge", merge_verb, staff=True, audience=Audience.TICKET))
    verbs.add(Verb("unlink", unlink_verb, staff=True, audience=Audience.TICKET))


def _audit_both(turn: Turn, one: Ticket, other: Ticket, kind: str) -> None:
    """The same event on both tickets' trails, each naming the other."""
    for ticket, to in ((one, other), (other, one)):
        repo.add_event(
            session=turn.session,
            ticket=ticket,
            at=turn.now,
            actor_id=turn.person.id,
            kind=kind,
            note=to.number,
            data={"other": to.number},
        )
