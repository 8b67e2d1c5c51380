"""Technician verbs one by one: queue order, priority and SLA, assign, log (a bypass),
show, and the friendly answers to wrong input."""

from __future__ import annotations

from datetime import timedelta

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.desk import Desk
from tests.tickets.helpers import SLACK_TRIAGE, buttons, card, field, get, kinds, new_ticket, plain


def test_queue_lists_unassigned_by_priority_then_sla_due(
    tchat: MemoryChat, tdesk: Desk, clock: FixedClock
) -> None:
    p3_old = new_ticket(tdesk, "alice", "Old P3")
    clock.advance(timedelta(minutes=30))
    p2 = new_ticket(tdesk, "bob", "Urgent P2", priority="P2")
    p3_new = new_ticket(tdesk, "bob", "New P3")
    taken = new_ticket(tdesk, "bob", "Taken P1", priority="P1")
    new_ticket(tdesk, "bob", "Network P1", queue="network", priority="P1")  # not Dana's queue
    tchat.say("alex", f"/claim {taken}")
    out = tchat.say("dana", "/queue")[-1]
    text = to_plain(out.text)
    order = [line.split()[1] for line in text.splitlines() if line.startswith("•")]
    assert order == [p2, p3_old, p3_new]
    assert buttons(out)[0] == f"t:claim:{p2}"
    # Alex also works the network queue: the P1 there comes first for him.
    assert "Network P1" in plain(tchat.say("alex", "/queue network"))
    assert "Network P1" not in plain(tchat.say("alex", "/queue service_desk"))
    assert "no queue called payroll" in plain(tchat.say("alex", "/queue payroll"))


def test_priority_change_moves_the_sla_due_times(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "Projector dead", priority="P4")
    before = get(tdesk, number)
    said = plain(tchat.say("dana", f"/priority {number} p1"))
    assert f"{number} is now P1" in said
    after = get(tdesk, number)
    assert after.priority == "P1"
    assert after.resolution_due is not None and before.resolution_due is not None
    assert after.resolution_due < before.resolution_due
    # Standard SLA: P1 is answered within 30 business minutes of opening (Monday 10:00).
    assert after.first_response_due == after.created_at + timedelta(minutes=30)
    assert field(card(tchat, number), "Priority") == "P1"
    assert "must be one of P1, P2, P3, P4" in plain(tchat.say("dana", f"/priority {number} urgent"))
    assert "already P1" in plain(tchat.say("dana", f"/priority {number} P1"))


def test_assign_checks_the_colleague_and_tells_them(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "Badge reader")
    assert "doesn't work in the Service Desk team" in plain(
        tchat.say("dana", f"/assign {number} sam")
    )
    assert "don't know who nobody is" in plain(tchat.say("dana", f"/assign {number} nobody"))
    # By Slack mention, as Slack sends it.
    said = plain(tchat.say("dana", f"/assign {number} <@U0ALEX|alex>"))
    assert f"{number} is now assigned to Alex Rivera" in said
    told = tchat.seen_by("alex", "console")[-1]
    assert "Dana Whitfield assigned IT-1000 to you" in to_plain(told.text)
    assert told.message.card is not None
    assert "already assigned to Alex Rivera" in plain(tchat.say("dana", f"/assign {number} alex"))
    assert get(tdesk, number).status == "in_progress"
    assert kinds(tdesk, number) == ["created", "assigned"]


def test_log_records_a_bypass_assigned_to_whoever_logged_it(tchat: MemoryChat, tdesk: Desk) -> None:
    said = plain(tchat.say("dana", "/log bob@example.com P2 Outlook crashes on start (phone call)"))
    assert "Logged IT-1000 for Bob Okafor" in said
    ticket = get(tdesk, "IT-1000")
    assert ticket.source == "logged"
    assert (ticket.requester_id, ticket.assignee_id, ticket.status) == (
        "bob",
        "dana",
        "in_progress",
    )
    assert ticket.priority == "P2" and ticket.queue == "service_desk"
    assert ticket.title == "Outlook crashes on start (phone call)"
    # Bob hears about it in his usual chat (he has never talked to the bot: the console).
    told = tchat.seen_by("bob", "console")[-1]
    assert "logged your request as IT-1000" in to_plain(told.text)
    # The triage channel still gets the card, showing who has it.
    assert field(card(tchat, "IT-1000", "slack", SLACK_TRIAGE), "Assigned to") == "Dana Whitfield"
    assert "Logged by IT" in plain(tchat.say("bob", "/show IT-1000"))
    assert plain(tchat.say("dana", "/log")).startswith("Please use it like this: /log person")
    assert "don't know who zed is" in plain(tchat.say("dana", "/log zed printer"))


def test_wrong_input_gets_a_clear_answer(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "Phone broken", answers={"model": "X200"})
    assert "can't find a ticket IT-9999" in plain(tchat.say("dana", "/claim IT-9999"))
    assert "/ask IT-1042 your question" in plain(tchat.say("dana", f"/ask {number}"))
    assert "/resolve IT-1042 what fixed it" in plain(tchat.say("dana", f"/resolve {number}"))
    assert "no answer called colour" in plain(tchat.say("dana", f"/set {number} colour red"))
    assert "Changed model" in plain(tchat.say("dana", f"/set {number} model X300"))
    assert get(tdesk, number).answers == {"model": "X300"}
    assert "isn't assigned to anyone" in plain(tchat.say("dana", f"/unclaim {number}"))
    # A bare number works as well as IT-1000.
    assert "You've claimed IT-1000" in plain(tchat.say("dana", "/claim 1000"))
    assert "already taken by Dana Whitfield: that's you" in plain(
        tchat.say("dana", "/claim it-1000")
    )
    assert "don't know the command" in plain(tchat.say("dana", "/frobnicate IT-1000"))
    tchat.say("alice", f"/cancel {number}")
    assert "can't be changed any more" in plain(tchat.say("dana", f"/set {number} model X1"))
