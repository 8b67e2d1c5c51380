"""The App Home tab: a person's open requests with status and next step; a technician's queue."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from bot.adapters.slack.blocks import Block, button, context, plain_text, section
from bot.adapters.slack.mrkdwn import from_markup
from bot.base.buttons import TICKET
from bot.base.buttons import button as button_value
from bot.base.messages import Choice
from bot.base.timefmt import describe_time
from bot.desk import Desk
from bot.directory import Person
from bot.tickets import status_label
from store import tickets as repo
from store.models import Approval, Ticket

MAX_LISTED = 15  # a view holds at most 100 blocks; each ticket takes two


def _header(text: str) -> Block:
    return {"type": "header", "text": plain_text(text, 150)}


def next_step(desk: Desk, session: Session, ticket: Ticket, lang: str) -> str:
    """What happens next for this ticket, in words (plain text)."""
    texts = desk.texts
    queue = desk.queue_name(ticket.queue, lang)
    if ticket.status == "awaiting_approval":
        stmt = select(Approval).where(Approval.ticket_id == ticket.id, Approval.status == "pending")
        names = [
            p.name
            for a in session.exec(stmt).all()
            for pid in a.approvers
            if (p := desk.directory.get(pid)) is not None
        ]
        return texts.plain(lang, "slack.home.next.awaiting_approval", names=", ".join(names))
    if ticket.status == "in_progress":
        assignee = desk.directory.get(ticket.assignee_id)
        return texts.plain(
            lang, "slack.home.next.in_progress", name=assignee.name if assignee else queue
        )
    if ticket.status in ("waiting_on_user", "reopened"):
        return texts.plain(lang, f"slack.home.next.{ticket.status}", queue=queue)
    return texts.plain(lang, "slack.home.next.new", queue=queue)


def _ticket_blocks(
    desk: Desk, session: Session, ticket: Ticket, person: Person, lang: str
) -> list[Block]:
    texts = desk.texts
    line = texts.render(
        lang,
        "slack.home.ticket",
        number=ticket.number,
        title=ticket.title,
        status=status_label(desk, ticket.status, lang),
        next=next_step(desk, session, ticket, lang),
    )
    blocks = [section(from_markup(line))]
    eta = ticket.expected_at or ticket.resolution_due
    if eta is not None:
        due = describe_time(texts, lang, eta, person.timezone)
        blocks.append(context(texts.plain(lang, "slack.home.due", due=due)))
    return blocks


def _queue_block(desk: Desk, ticket: Ticket, lang: str, claim: bool) -> Block:
    line = desk.texts.render(
        lang,
        "slack.home.queue_ticket",
        number=ticket.number,
        title=ticket.title,
        priority=ticket.priority,
        queue=desk.queue_name(ticket.queue, lang),
    )
    block = section(from_markup(line))
    if claim:
        label = desk.texts.plain(lang, "button.claim")
        block["accessory"] = button(
            Choice(label, button_value(TICKET, "claim", ticket.number), "primary"),
            "deskbot:home-claim",
        )
    return block


def _more(desk: Desk, lang: str, total: int, key: str) -> list[Block]:
    if total <= MAX_LISTED:
        return []
    return [context(desk.texts.plain(lang, key, n=total - MAX_LISTED))]


def home_view(desk: Desk, person: Person) -> dict[str, Any]:
    """Build the Home tab for `person` from the store (one read transaction)."""
    lang = person.language
    texts = desk.texts
    blocks: list[Block] = [_header(texts.plain(lang, "slack.home.title"))]
    with desk.store.read() as session:
        mine = repo.list_tickets(session=session, requester_id=person.id, statuses=repo.ACTIVE)
        if not mine:
            blocks.append(section(from_markup(texts.render(lang, "slack.home.none"))))
        for ticket in mine[:MAX_LISTED]:
            blocks += _ticket_blocks(desk, session, ticket, person, lang)
        blocks += _more(desk, lang, len(mine), "slack.home.more")
        if person.has_role("technician"):
            blocks += _queue_section(desk, session, person, lang)
    return {"type": "home", "blocks": blocks[:100]}


def _queue_section(desk: Desk, session: Session, person: Person, lang: str) -> list[Block]:
    texts = desk.texts
    assigned_stmt = (
        select(Ticket)
        .where(Ticket.assignee_id == person.id, col(Ticket.status).in_(repo.ACTIVE))
        .order_by(col(Ticket.priority), col(Ticket.id))
    )
    assigned = list(session.exec(assigned_stmt).all())
    queues = sorted(person.queues) if "admin" not in person.roles else sorted(desk.settings.queues)
    waiting = [
        t
        for q in queues
        for t in repo.list_tickets(session=session, queue=q, statuses=repo.ACTIVE)
        if t.assignee_id is None
    ]
    waiting.sort(key=lambda t: (t.priority, t.resolution_due or t.created_at))
    blocks: list[Block] = [{"type": "divider"}]
    if assigned:
        blocks.append(_header(texts.plain(lang, "slack.home.assigned_title")))
        blocks += [_queue_block(desk, t, lang, claim=False) for t in assigned[:MAX_LISTED]]
        blocks += _more(desk, lang, len(assigned), "slack.home.more_queue")
    blocks.append(_header(texts.plain(lang, "slack.home.queue_title")))
    if not waiting:
        blocks.append(section(from_markup(texts.render(lang, "slack.home.queue_empty"))))
    blocks += [_queue_block(desk, t, lang, claim=True) for t in waiting[:MAX_LISTED]]
    blocks += _more(desk, lang, len(waiting), "slack.home.more_queue")
    return blocks
