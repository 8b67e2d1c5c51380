"""Files kept with tickets: recording one (audited, the triage card updated), listing a
ticket's files, re-sharing them to a technician's private chat, and removing stored files
nothing refers to any more (`prune`).

The bytes were kept by the adapter (`bot.base.filestore`) before the turn began; here only
rows and messages are made, so a turn never waits on a download.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot import permissions
from bot.addresses import is_shared, private_address
from bot.base.filestore import Stored, open_store
from bot.base.messages import InboundFile, Message, SharedFile
from bot.desk import Desk
from bot.tickets import post_triage
from bot.turn import Turn
from store import attachments as repo
from store import tickets as ticket_repo
from store.models import Attachment, Ticket, TicketEvent

log = logging.getLogger(__name__)

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


# ---- the prune -------------------------------------------------------------------------------


@dataclass
class Pruned:
    """What a prune found: the files it removed (or would remove, on a dry run), and how
    many it kept because something refers to them or they are younger than the limit."""

    listed: int = 0
    removed: list[Stored] = field(default_factory=list)
    referenced: int = 0
    young: int = 0


def prune(desk: Desk, now: datetime, *, dry_run: bool = False) -> Pruned:
    """Remove the stored files that no attachment row, no request under way and no request
    waiting for its approval refers to, once older than `attachments.keep_unreferenced`
    (a journey abandoned, a turn that failed after the download). The store is listed
    before the references are read, and each file's date is read again just before it is
    removed, so a file sent again meanwhile (which renews its date) stays. Raises
    `StoreUnavailable` when the store cannot be listed."""
    store = open_store(desk.settings)
    limit = now - desk.settings.attachments.keep_unreferenced
    listed = list(store.listing())
    with desk.store.read() as session:
        used = repo.referenced_paths(session=session)
    out = Pruned(listed=len(listed))
    for stored in listed:
        if stored.path in used:
            out.referenced += 1
            continue
        if stored.modified > limit:
            out.young += 1
            continue
        if not dry_run:
            again = store.modified(stored.path)
            if again is not None and again > limit:
                out.young += 1
                continue
            store.delete(stored.path)
        out.removed.append(stored)
    if out.removed and not dry_run:
        log.info("attachments: removed %d unreferenced files", len(out.removed))
    return out
