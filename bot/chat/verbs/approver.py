"""Approver verbs: list, approve and reject what waits for their decision."""

from __future__ import annotations

from bot import approvals
from bot.chat.approvals import decide
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.turn import Turn
from store.sql import row_id


def approve_verb(turn: Turn, args: str) -> None:
    """`/approve 12`: approve approval #12."""
    raw, _, _rest = args.strip().lstrip("#").partition(" ")
    approval_id = row_id(raw)
    if approval_id is None:
        pending_verb(turn, "")
        return
    decide(turn, approval_id, approved=True, reason="")


def reject_verb(turn: Turn, args: str) -> None:
    """`/reject 12 not in budget`: reject approval #12 with a reason."""
    raw, _, reason = args.strip().lstrip("#").partition(" ")
    approval_id = row_id(raw)
    if approval_id is None:
        pending_verb(turn, "")
        return
    decide(turn, approval_id, approved=False, reason=reason.strip())


def pending_verb(turn: Turn, _args: str) -> None:
    """`/approvals`: what is waiting for this person's decision."""
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


def register(verbs: Verbs) -> None:
    verbs.add(Verb("approvals", pending_verb, audience=Audience.ASKER))
    verbs.add(Verb("approve", approve_verb, audience=Audience.ASKER))
    verbs.add(Verb("reject", reject_verb, audience=Audience.ASKER))
