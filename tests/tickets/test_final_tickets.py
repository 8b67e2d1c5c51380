"""A cancelled, closed or rejected ticket is finished: no staff verb changes it (only
`/reopen` may try, and the lifecycle explains why not), each refusal is audited with its
ticket and what was typed, and `deskbot audit` shows it. One-off buttons count once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.adapters.memory import MemoryChat
from bot.base.buttons import ARTICLE, button
from bot.cli import main as cli
from bot.desk import Desk
from store.models import TicketEvent
from tests.tickets.helpers import get, kinds, new_ticket, plain

ROOT = Path(__file__).resolve().parents[2]
FINISHED = "so its details can't be changed any more"


def staff_verbs(number: str) -> list[str]:
    return [
        f"/claim {number}",
        f"/unclaim {number}",
        f"/assign {number} alex",
        f"/reply {number} one more thing",
        f"/note {number} a late note",
        f"/ask {number} are you there?",
        f"/priority {number} P1",
        f"/set {number} request printer",
        f"/resolve {number} done anyway",
    ]


def cancelled(chat: MemoryChat, desk: Desk) -> str:
    number = new_ticket(desk, "alice", "printer jam", answers={"request": "printer jam"})
    chat.say("dana", f"/claim {number}")
    assert "cancelled" in plain(chat.say("alice", f"/cancel {number}")).lower()
    assert get(desk, number).status == "cancelled"
    return number


def closed(chat: MemoryChat, desk: Desk) -> str:
    number = new_ticket(desk, "bob", "monitor flickers", answers={"request": "monitor"})
    chat.say("dana", f"/resolve {number} replaced the cable")
    chat.say("bob", f"/fixed {number}")
    assert get(desk, number).status == "closed"
    return number


@pytest.mark.parametrize("finish", [cancelled, closed])
def test_no_staff_verb_changes_a_finished_ticket(tchat: MemoryChat, tdesk: Desk, finish) -> None:
    number = finish(tchat, tdesk)
    before = get(tdesk, number)
    trail = [k for k in kinds(tdesk, number) if k != "refused"]
    for command in staff_verbs(number):
        said = plain(tchat.say("dana", command))
        assert FINISHED in said, f"{command!r}: {said!r}"
    after = get(tdesk, number)
    assert (after.status, after.priority, after.assignee_id, after.answers) == (
        before.status,
        before.priority,
        before.assignee_id,
        before.answers,
    )
    assert [k for k in kinds(tdesk, number) if k != "refused"] == trail

    # /reopen may try; the lifecycle says no (a finished ticket stays finished).
    assert "can't" in plain(tchat.say("dana", f"/reopen {number}")).lower()
    assert get(tdesk, number).status == before.status
    refused = refusals_of(tdesk, "dana")
    asked = [e.data["asked"] for e in refused if e.ticket_id == after.id]
    assert asked == [*staff_verbs(number), f"/reopen {number}"]


def test_a_resolved_ticket_can_still_be_reopened(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "monitor flickers")
    tchat.say("dana", f"/resolve {number} replaced the cable")
    assert "Noted" in plain(tchat.say("dana", f"/note {number} cable was loose"))
    tchat.say("dana", f"/reopen {number} it flickers again")
    assert get(tdesk, number).status == "reopened"


def test_refusals_are_on_the_tickets_audit_trail_with_their_arguments(
    tchat: MemoryChat,
    tdesk: Desk,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = new_ticket(tdesk, "alice", "printer jam")
    tchat.say("bob", f"/priority {number} P1")  # an employee: staff only
    tchat.say("sam", f"/claim {number}")  # a technician of another queue
    monkeypatch.setenv("DATABASE_URL", db_url)
    capsys.readouterr()
    assert cli(["audit", number, "--config", str(ROOT / "config.yaml"), "--format", "json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    refused = [(e["who"], e["data"]["asked"]) for e in events if e["event"] == "refused"]
    assert refused == [("bob", f"/priority {number} P1"), ("sam", f"/claim {number}")]


def test_that_helped_pressed_twice_counts_once(chat: MemoryChat, desk: Desk) -> None:
    shown = chat.say("alice", "how do I connect to the office wifi?")
    [offered] = [o for o in shown if o.message.choices]
    helped = offered.message.choices[0].value
    assert helped.startswith(button(ARTICLE, "y", ""))
    for _ in range(3):
        chat.press("alice", helped)
    with desk.store.read() as session:
        solved = session.exec(
            select(TicketEvent).where(col(TicketEvent.kind) == "kb_self_solved")
        ).all()
    assert len(solved) == 1


def refusals_of(desk: Desk, actor: str) -> list[TicketEvent]:
    with desk.store.read() as session:
        stmt = (
            select(TicketEvent)
            .where(col(TicketEvent.kind) == "refused", col(TicketEvent.actor_id) == actor)
            .order_by(col(TicketEvent.id))
        )
        return list(session.exec(stmt).all())
