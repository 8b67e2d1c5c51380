"""The App Home tab: a person's open requests with status and next step; a technician's queue."""

from __future__ import annotations

from typing import Any

from bot.adapters.slack.blocks import Block, button, context, header, section
from bot.adapters.slack.mrkdwn import from_markup
from bot.base.buttons import TICKET
from bot.base.buttons import button as button_value
from bot.base.fitting import shorten
from bot.base.messages import Choice
from bot.base.timefmt import describe_time
from bot.desk import Desk
from bot.directory import Person
from bot.overview import NextStep, Overview, TicketLine, overview
from bot.tickets import status_label

MAX_LISTED = 15  # a view holds at most 100 blocks; each ticket takes two
VIEW_BLOCKS = 100
TITLE_LIMIT = 200  # a ticket's title in a list: its line must stay one readable section


def _header(text: str) -> Block:
    return header(text)


# The name each "what happens next" text gives to who has the ticket.
_WHO = {"awaiting_approval": "names", "in_progress": "name"}


def next_step(desk: Desk, step: NextStep, lang: str) -> str:
    """What happens next for a ticket, in words (plain text)."""
    who = {_WHO.get(step.kind, "queue"): step.who}
    return desk.texts.plain(lang, f"slack.home.next.{step.kind}", **who)


def _ticket_blocks(desk: Desk, ticket: TicketLine, person: Person, lang: str) -> list[Block]:
    texts = desk.texts
    line = texts.render(
        lang,
        "slack.home.ticket",
        number=ticket.number,
        title=shorten(ticket.title, TITLE_LIMIT),
        status=status_label(desk, ticket.status, lang),
        next=next_step(desk, ticket.next, lang),
    )
    blocks = [section(from_markup(line))]
    if ticket.expected is not None:
        due = describe_time(texts, lang, ticket.expected, person.timezone)
        blocks.append(context(texts.plain(lang, "slack.home.due", due=due)))
    return blocks


def _queue_block(desk: Desk, ticket: TicketLine, lang: str, claim: bool) -> Block:
    line = desk.texts.render(
        lang,
        "slack.home.queue_ticket",
        number=ticket.number,
        title=shorten(ticket.title, TITLE_LIMIT),
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
    """Build the Home tab for `person` (the store is read in one transaction)."""
    lang = person.language
    texts = desk.texts
    seen = overview(desk, person, lang, limit=MAX_LISTED)
    blocks: list[Block] = [_header(texts.plain(lang, "slack.home.title"))]
    if not seen.mine:
        blocks.append(section(from_markup(texts.render(lang, "slack.home.none"))))
    for ticket in seen.mine:
        blocks += _ticket_blocks(desk, ticket, person, lang)
    blocks += _more(desk, lang, seen.mine_total, "slack.home.more")
    if seen.staff:
        blocks += _queue_section(desk, seen, lang)
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}


def _queue_section(desk: Desk, seen: Overview, lang: str) -> list[Block]:
    texts = desk.texts
    blocks: list[Block] = [{"type": "divider"}]
    if seen.assigned:
        blocks.append(_header(texts.plain(lang, "slack.home.assigned_title")))
        blocks += [_queue_block(desk, t, lang, claim=False) for t in seen.assigned]
        blocks += _more(desk, lang, seen.assigned_total, "slack.home.more_queue")
    blocks.append(_header(texts.plain(lang, "slack.home.queue_title")))
    if not seen.waiting:
        blocks.append(section(from_markup(texts.render(lang, "slack.home.queue_empty"))))
    blocks += [_queue_block(desk, t, lang, claim=True) for t in seen.waiting]
    blocks += _more(desk, lang, seen.waiting_total, "slack.home.more_queue")
    return blocks
