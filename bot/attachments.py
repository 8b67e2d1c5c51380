"""Files kept with tickets: recording one (audited, the triage card updated), listing a
ticket's files, and re-sharing them to a technician's private chat.

The bytes were kept by the adapter (`bot.base.filestore`) before the turn began; here only
rows and messages are made, so a turn never waits on a download.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import permissions
from bot.addresses import is_shared, private_address
from bot.base.messages import InboundFile, Message, SharedFile
from bot.desk import Desk
from bot.tickets import post_triage
from bot.turn import Turn
from store import attachments as repo
from store import tickets as ticket_repo
from store.models import Attachment, Ticket, TicketEvent

SHARE_AT_MOST = 10  # files re-shared by one /file


def may_attach(turn: Turn, ticket: Ticket) -> bool:
    """The requester, or a technician of the ticket's queue."""
    return permissions.is_requester(turn.person, ticket) or permissions.may_work(
        turn.person, ticket
    )


def attach(
    turn: Turn, ticket: Ticket, files: Sequence[InboundFile], note: str = ""
) -> TicketEvent | None:
    """Record `files` on `ticket` for the person of this turn: one row each, one audit event
    for them all (returned), and the triage card updated."""
    names = []
    ids = []
    for f in files:
        row = repo.add_attachment(
            session=turn.session,
            ticket=ticket,
            name=f.name,
            mime=f.mime,
            size=f.size,
            path=f.path,
            sha256=f.sha256,
            channel=turn.inbound.channel,
            added_by=turn.person.id,
            now=turn.now,
        )
        names.append(row.name)
        ids.append(row.id)
    if not names:
        return None
    event = ticket_repo.add_event(
        session=turn.session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="attached",
        note=", ".join(names) + (f": {note}" if note else ""),
        data={"attachments": ids},
    )
    post_triage(turn.desk, turn.session, ticket, turn.now, f"ev{event.id}")
    return event


def files_of(turn: Turn, ticket: Ticket) -> list[Attachment]:
    assert ticket.id is not None
    return repo.attachments_of(session=turn.session, ticket_id=ticket.id)


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def rows(desk: Desk, files: Sequence[Attachment]) -> list[dict[str, object]]:
    """What `/show` lists of each file: its place, name, size and who sent it."""
    out = []
    for i, f in enumerate(files, start=1):
        who = desk.directory.get(f.added_by)
        out.append(
            {"n": i, "name": f.name, "size": human_size(f.size), "who": who.name if who else ""}
        )
    return out


def share(turn: Turn, ticket: Ticket, chosen: Sequence[Attachment]) -> None:
    """Upload `chosen` to the asker's private chat (never to a shared place)."""
    # The adapter reads each file from the store when it sends the message (the outbox tries
    # again later while the store does not answer).
    shared = tuple(SharedFile(f.path, f.name) for f in chosen[:SHARE_AT_MOST])
    names = ", ".join(f.name for f in chosen[:SHARE_AT_MOST])
    message = Message(
        text=turn.t("files.shared", number=ticket.number, names=names, count=len(shared)),
        files=shared,
    )
    inbound = turn.inbound
    event = ticket_repo.add_event(
        session=turn.session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="files_shared",
        note=names,
        data={"attachments": [f.id for f in chosen[:SHARE_AT_MOST]]},
    )
    if not is_shared(inbound.conversation):
        turn.reply(message)
        return
    to = private_address(turn.desk, turn.session, turn.person, inbound.channel, inbound.account)
    turn.send(to, message, idem=f"files:{ticket.number}:{event.id}:{to.person_id}")
    turn.say("files.sent_privately", number=ticket.number)
