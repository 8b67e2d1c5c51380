"""Approvals, hardened: who may decide (named approver, group member, delegate; never the
requester), decisions audited and the approvers' requests closed in place, the requester
told in plain words, withdrawal on cancel, and re-approval when a covered answer changes."""

from __future__ import annotations

from sqlmodel import col, select

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.desk import Desk
from store import tickets as repo
from store.models import Approval
from tests.tickets.helpers import buttons, get, kinds, plain

FIRST = MONITOR = "IT-1000"  # the first (and only) ticket of each test


def approvals(desk: Desk) -> list[Approval]:
    with desk.store.read() as session:
        return list(session.exec(select(Approval).order_by(col(Approval.id))).all())


def request_monitor(chat: MemoryChat, size: str = "27") -> None:
    chat.say("alice", "I need another monitor")
    chat.press("alice", f"j:size:{size}")


def request_firewall(chat: MemoryChat, who: str = "bob", port: str = "8443") -> None:
    chat.say(who, "I need to open a firewall port")
    chat.say(who, port)


def test_group_members_decide_and_others_are_refused(achat: MemoryChat, adesk: Desk) -> None:
    request_firewall(achat)
    [approval] = approvals(adesk)
    assert approval.rule == "group" and set(approval.approvers) == {"olivia", "priya"}
    asks = achat.seen_by("olivia", "console")
    assert "Open firewall port 8443 for Bob Okafor" in to_plain(asks[-1].text)
    # Mark approves other things, but he is not in the change advisory group.
    assert "can't decide" in plain(achat.say("mark", f"/approve {approval.id}"))
    assert "recorded" in plain(achat.say("priya", f"/approve {approval.id}"))
    assert get(adesk, FIRST).status == "open"
    # Both members' requests are closed in place: no buttons, the outcome and who decided.
    for member in ("olivia", "priya"):
        [shown] = achat.seen_by(member, "console")
        assert buttons(shown) == []
        assert "approved by Priya Raman" in to_plain(shown.text)


def test_requester_in_the_group_cannot_approve_their_own(achat: MemoryChat, adesk: Desk) -> None:
    request_firewall(achat, who="priya")
    [approval] = approvals(adesk)
    assert approval.approvers == ["olivia"]
    assert "can't decide" in plain(achat.say("priya", f"/approve {approval.id}"))
    assert approvals(adesk)[0].status == "pending"
    assert get(adesk, FIRST).status == "awaiting_approval"


def test_delegate_decides_and_the_audit_says_for_whom(achat: MemoryChat, adesk: Desk) -> None:
    request_monitor(achat)
    [approval] = approvals(adesk)
    # Olivia is Mark's delegate: she rejects with a reason, typed after pressing Reject.
    achat.press("olivia", f"ap:{approval.id}:n")
    achat.say("olivia", "We have spare 24-inch ones in stock")
    told = to_plain(achat.seen_by("alice")[-1].text)
    assert "did not approve" in told
    # Her words end as a sentence before ours begins.
    assert "Their reason: We have spare 24-inch ones in stock. If you think" in told
    ticket = get(adesk, MONITOR)
    assert ticket.status == "rejected"
    with adesk.store.read() as session:
        assert ticket.id is not None
        rejected = [
            e for e in repo.events_of(session=session, ticket_id=ticket.id) if e.kind == "rejected"
        ]
    assert len(rejected) == 1
    event = rejected[0]
    assert (event.actor_id, event.from_status, event.to_status) == (
        "olivia",
        "awaiting_approval",
        "rejected",
    )
    assert event.note == "We have spare 24-inch ones in stock"
    assert event.data == {"approval": approval.id, "on_behalf_of": "mark"}
    # Mark's request (he is the named approver) now shows Olivia's decision instead of buttons.
    [mark_sees] = achat.seen_by("mark", "console")
    assert buttons(mark_sees) == [] and "by Olivia Brandt" in to_plain(mark_sees.text)


def test_cancelling_the_ticket_withdraws_the_approval(achat: MemoryChat, adesk: Desk) -> None:
    request_monitor(achat)
    [approval] = approvals(adesk)
    achat.say("alice", f"/cancel {MONITOR} found one in the store room")
    assert get(adesk, MONITOR).status == "cancelled"
    assert approvals(adesk)[0].status == "cancelled"
    late = plain(achat.press("mark", f"ap:{approval.id}:y", channel="console"))
    assert "already decided: withdrawn" in late
    assert get(adesk, MONITOR).status == "cancelled"


def test_changing_an_approved_answer_asks_again(achat: MemoryChat, adesk: Desk) -> None:
    request_monitor(achat)
    achat.say("mark", "/approve 1")
    achat.say("dana", f"/claim {MONITOR}")
    assert get(adesk, MONITOR).status == "in_progress"

    # A priority change is not covered by the approval: nothing to approve again.
    assert "now P2" in plain(achat.say("dana", f"/priority {MONITOR} P2"))
    assert len(approvals(adesk)) == 1

    # The size was approved: changing it sends the ticket back for approval.
    said = plain(achat.say("dana", f"/set {MONITOR} size 32"))
    assert "waiting for approval again from Mark Jensen" in said
    ticket = get(adesk, MONITOR)
    assert ticket.status == "awaiting_approval" and ticket.answers["size"] == "32"
    assert ticket.assignee_id == "dana"  # she keeps it while it waits
    first, second = approvals(adesk)
    assert (first.status, second.status) == ("approved", "pending")
    assert second.scope["size"] == "32"
    ask = achat.seen_by("mark", "console")[-1]
    assert "size: 27 → 32" in to_plain(ask.text)
    told = to_plain(achat.seen_by("alice")[-1].text)
    assert (
        "changed, so it needs approval again from Mark Jensen" in told and "size: 27 → 32" in told
    )

    achat.press("mark", f"ap:{second.id}:y", channel="console")
    ticket = get(adesk, MONITOR)
    assert ticket.status == "in_progress"  # back with Dana
    assert "Good news: Mark Jensen approved IT-1000" in to_plain(achat.seen_by("alice")[-1].text)
    assert "Mark Jensen decided on IT-1000: approved" in to_plain(
        achat.seen_by("dana", "console")[-1].text
    )
    assert kinds(adesk, MONITOR) == [
        "created",
        "approval_requested",
        "approved",
        "claimed",
        "priority",
        "changed",
        "reapproval_requested",
        "approved",
    ]


def test_change_while_pending_supersedes_and_the_journey_still_resumes(
    achat: MemoryChat, adesk: Desk
) -> None:
    request_monitor(achat)
    achat.say("dana", f"/set {MONITOR} size 24")
    first, second = approvals(adesk)
    assert (first.status, second.status) == ("superseded", "pending")
    assert second.journey_state == first.journey_state != {}
    stale = plain(achat.press("mark", f"ap:{first.id}:y", channel="console"))
    assert "already decided: replaced by a new request" in stale
    achat.press("mark", f"ap:{second.id}:y", channel="console")
    # The parked journey continues with its own words for the requester.
    assert "Mark Jensen approved it: IT will deliver your monitor" in to_plain(
        achat.seen_by("alice")[-1].text
    )
    assert get(adesk, MONITOR).status == "open"
