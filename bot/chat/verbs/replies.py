"""Technicians' messages to a requester: `/reply`, typed or canned (`bot/canned.py`).

`/reply IT-1042 text` sends what was typed; `/reply IT-1042 #vpn-reset` sends a canned reply
in the requester's language, by the same path (recorded on the ticket, audited, relayed to
the requester's chat); `/reply IT-1042` alone (or the card's "Canned reply" button) offers
the canned replies as buttons, each of which is that second form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot import workflow
from bot.base.buttons import TICKET, button, fits
from bot.base.messages import Choice, Message
from bot.canned import CannedReply, close_names
from bot.lookup import split_number, workable_ticket
from bot.turn import Turn
from store.models import Ticket

CANNED = "#"


def to_requester(
    turn: Turn,
    ticket: Ticket,
    text: str,
    *,
    kind: str,
    told: str,
    said: str,
    data: Mapping[str, Any] | None = None,
    **said_params: Any,
) -> None:
    """Record the message on the ticket, relay it to the requester's chat (with an "add
    information" button), and confirm to the technician."""
    waits = kind == "asked" and ticket.status != "waiting_on_user"
    event = workflow.change(
        turn,
        ticket,
        kind,
        to="waiting_on_user" if waits else None,
        note=text,
        values={"first_response_at": ticket.first_response_at or turn.now},
        data=data,
    )
    if event is None:
        return
    workflow.requester_told(
        turn,
        ticket,
        event,
        told,
        choices=(workflow.add_button(turn.desk, ticket),),
        name=turn.person.first_name,
        text=text,
    )
    turn.say(said, number=ticket.number, name=requester_name(turn, ticket), **said_params)


def reply_verb(turn: Turn, args: str) -> None:
    """`/reply IT-1042 text`, `/reply IT-1042 #name`, or `/reply IT-1042` for the picker."""
    number, text = split_number(args)
    canned = text.startswith(CANNED) and len(text.split()) == 1
    ticket = workable_ticket(turn, number, "reply")
    if ticket is None:
        return
    if not text:
        _offer_replies(turn, ticket)
    elif canned:
        _send_canned(turn, ticket, text[len(CANNED) :].lower())
    else:
        to_requester(
            turn, ticket, text, kind="reply", told="tickets.told_reply", said="tickets.reply_sent"
        )


def _send_canned(turn: Turn, ticket: Ticket, name: str) -> None:
    replies = turn.desk.content.replies
    reply = replies.get(name)
    if reply is None:
        turn.say(
            "tickets.canned_unknown",
            wanted=name,
            number=ticket.number,
            close=close_names(replies, name),
            names=sorted(replies),
        )
        return
    text = reply.render(ticket.language, **_variables(turn, ticket))
    to_requester(
        turn,
        ticket,
        text,
        kind="reply",
        told="tickets.told_reply",
        said="tickets.canned_sent",
        data={"canned": reply.name},
        reply=reply.title_in(turn.language),
    )


def _variables(turn: Turn, ticket: Ticket) -> dict[str, str]:
    requester = turn.desk.directory.get(ticket.requester_id)
    return {
        "requester": requester.first_name if requester else ticket.requester_id,
        "requester_full": requester.name if requester else ticket.requester_id,
        "number": ticket.number,
        "title": ticket.title,
        "technician": turn.person.first_name,
    }


def _offer_replies(turn: Turn, ticket: Ticket) -> None:
    replies: Mapping[str, CannedReply] = turn.desk.content.replies
    choices = []
    for reply in sorted(replies.values(), key=lambda r: r.title_in(turn.language).lower()):
        value = button(TICKET, "reply", f"{ticket.number} {CANNED}{reply.name}")
        if fits(value):
            choices.append(Choice(reply.title_in(turn.language), value))
    if not choices:
        turn.say("tickets.canned_none", number=ticket.number)
        return
    text = turn.t("tickets.canned_pick", number=ticket.number, name=requester_name(turn, ticket))
    turn.reply(Message(text=text, choices=tuple(choices)))


def requester_name(turn: Turn, ticket: Ticket) -> str:
    requester = turn.desk.directory.get(ticket.requester_id)
    return requester.first_name if requester else ticket.requester_id
