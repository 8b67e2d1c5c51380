"""Files that came with a message: which ticket they are for, and what the person is told.

The adapter has already kept each file (or said why not: too big, a type not allowed, the
download failed). Here, in order, a file goes to:

1. the ticket named by `/add IT-1042` in its caption, or by the bot's message it replies to;
2. the ticket the desk is waiting on information for (after `/add IT-1042` or "Reply");
3. the request being made in an active journey (attached when its ticket is created);
4. the ticket a shared thread is about (raised there, or its triage card heads it);
5. the ticket waiting on this person's answer;
6. the request of this conversation that waits for an approval before its ticket exists
   (kept on the approval with the parked journey, attached when the ticket is raised);

and otherwise the person is asked which request it is for. The text of the message is
handled as usual afterwards, unless it was only the `/add IT-1042` that carried the files.
"""

from __future__ import annotations

from typing import Any

from bot import approvals, attachments, expiry
from bot.addresses import is_shared
from bot.base.buttons import ADD_INFO, read_awaiting
from bot.base.filestore import TOO_BIG
from bot.base.messages import InboundFile
from bot.chat.verbs import Verbs
from bot.lookup import normalise_number, split_number
from bot.turn import Turn
from bot.workflow import team_told, waiting_ticket
from store import attachments as repo
from store import tickets as ticket_repo
from store.models import Approval, Ticket

PENDING = "files"  # turn.data: files kept for the request of the active journey
PARKED = "files"  # Approval.journey_state: files kept for a request parked on its approval
ADD = "add"
DONE = frozenset({"closed", "cancelled", "rejected"})


def receive(turn: Turn, verbs: Verbs) -> bool:
    """Route the message's files. True when nothing is left to do with the message (it was
    only files, or only the `/add IT-1042` that carried them)."""
    inbound = turn.inbound
    text = inbound.text.strip()
    kept = [f for f in inbound.files if f.path]
    refused = [f for f in inbound.files if not f.path]
    if refused:
        _say_refused(turn, refused)
    if not kept:
        return not text
    names = ", ".join(f.name for f in kept)

    _, verb, args = verbs.find(text) if text.startswith("/") else ("", None, "")
    if verb is not None and verb.name == ADD:
        number, rest = split_number(args)
        if number:
            _attach(turn, _ticket(turn, number), kept)
            return not rest  # `/add IT-1042 more words`: the words are added as usual
        return False
    if inbound.about and not text.startswith("/"):
        ticket = _ticket(turn, inbound.about)
        _attach(turn, ticket, kept, note=text)
        return ticket is not None  # the words describe the files (or go on as usual)
    awaited, arg = read_awaiting(str(turn.data.get("awaiting") or ""))
    if awaited == ADD_INFO and not text.startswith("/"):
        _attach(turn, _ticket(turn, arg), kept)
        if not text:
            turn.data.pop("awaiting", None)
            return True
        return False
    if expiry.active_journey(turn) is not None:
        journey = _journey_key(turn)
        held = turn.data.get(PENDING) or {}
        pending = list(held.get("files") or []) if held.get("journey") == journey else []
        pending += [_as_dict(f) for f in kept]
        turn.data[PENDING] = {"journey": journey, "files": pending}
        turn.say("files.kept_for_request", names=names)
        return not text
    if is_shared(inbound.conversation):
        ticket = repo.ticket_of_thread(
            session=turn.session, channel=inbound.channel, conversation=inbound.conversation
        )
        if ticket is not None:
            _attach(turn, ticket, kept, note=text)
            return True  # the words in a ticket's thread describe the files
    waiting = waiting_ticket(turn)
    if waiting is not None:
        _attach(turn, waiting, kept)
        return not text  # the words are the answer to the question, as usual
    parked = approvals.parked_request(
        turn.session, turn.person.id, inbound.channel, inbound.conversation
    )
    if parked is not None and approvals.keep_with_parked(
        turn.session, parked, PARKED, [_as_dict(f) for f in kept]
    ):
        service = turn.desk.catalog.get(parked.service_id)
        title = service.title.get(turn.language) if service else parked.service_id
        turn.say("files.kept_for_approval", names=names, title=title)
        return not text
    rows = []
    if not is_shared(inbound.conversation):  # titles are for the person alone
        tickets = ticket_repo.list_tickets(
            session=turn.session, requester_id=turn.person.id, statuses=ticket_repo.ACTIVE
        )
        rows = [{"number": t.number, "title": t.title} for t in tickets[-5:]]
    turn.say("files.where", names=names, tickets=rows)
    return not text


def attach_pending(turn: Turn, ticket: Ticket) -> None:
    """Attach the files kept during this journey to the ticket it has just raised (files
    kept during an earlier journey that ended without a ticket are let go)."""
    held = turn.data.get(PENDING) or {}
    if held.get("journey") != _journey_key(turn):
        return  # another journey's (one set aside while an approval resumes)
    turn.data.pop(PENDING, None)
    files = [InboundFile(**f) for f in held.get("files") or []]
    if files:
        attachments.attach(turn, ticket, files)


def park_pending(turn: Turn, approval: Approval) -> None:
    """The journey has parked on `approval` before its ticket exists: the files kept during
    it wait on the approval row with the journey's state (`attach_parked`)."""
    held = turn.data.pop(PENDING, None) or {}
    if held.get("journey") == _journey_key(turn) and held.get("files"):
        approvals.keep_with_parked(turn.session, approval, PARKED, list(held["files"]))


def attach_parked(turn: Turn, ticket: Ticket, approval: Approval) -> None:
    """Attach the files that waited with `approval` to the ticket its approval has raised
    (rejected: no ticket, and the files are left for the prune)."""
    files = [InboundFile(**f) for f in (approval.journey_state or {}).get(PARKED) or []]
    if not files or attachments.attach(turn, ticket, files) is None:
        return
    turn.say("files.attached", names=", ".join(f.name for f in files), number=ticket.number)


def _journey_key(turn: Turn) -> str:
    """Which journey this is: its service and when it started."""
    journey = turn.data.get("journey") or {}
    return f"{journey.get('service_id')}@{journey.get('started_at')}"


def _as_dict(f: InboundFile) -> dict[str, Any]:
    return {"name": f.name, "mime": f.mime, "size": f.size, "path": f.path, "sha256": f.sha256}


def _ticket(turn: Turn, raw: str) -> Ticket | None:
    number = normalise_number(turn.desk, raw)
    ticket = ticket_repo.get_ticket(session=turn.session, number=number) if number else None
    if ticket is None or not attachments.may_attach(turn, ticket):
        # Never say whether a ticket the person may not see exists.
        turn.say("verbs.no_such_ticket", number=number or "?")
        return None
    return ticket


def _attach(turn: Turn, ticket: Ticket | None, kept: list[InboundFile], note: str = "") -> None:
    if ticket is None:
        return
    if ticket.status in DONE:
        turn.say(
            "tickets.already_done",
            number=ticket.number,
            status=turn.desk.texts.plain(turn.language, f"status.{ticket.status}"),
        )
        return
    if not attachments.may_attach(turn, ticket):
        turn.say("verbs.no_such_ticket", number=ticket.number)
        return
    event = attachments.attach(turn, ticket, kept, note)
    names = ", ".join(f.name for f in kept)
    turn.say("files.attached", names=names, number=ticket.number)
    if event is not None and ticket.requester_id == turn.person.id:
        team_told(turn, ticket, event, "files.told_added", name=turn.person.name, names=names)


def _say_refused(turn: Turn, refused: list[InboundFile]) -> None:
    limit = attachments.human_size(turn.desk.settings.attachments.max_size)
    files = [
        {
            "name": f.name,
            "mime": f.mime or "?",
            "problem": f.problem,
            "size": attachments.human_size(f.size) if f.problem == TOO_BIG and f.size else "",
        }
        for f in refused
    ]
    turn.say("files.refused", files=files, limit=limit)
