"""Leavers and movers (bot/leavers.py) through the real desk: pending approvals handed over
and the new approver told why, claimed tickets back to their queue, a leaver refused on every
path (old approval and claim buttons, verbs) and no more notices to them."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base import logcontext
from bot.base.buttons import TICKET, button
from bot.base.markup import to_plain
from bot.base.messages import Address, Message
from bot.desk import Desk
from bot.directory import Directory
from bot.leavers import Handover, changes_between, hand_over
from store.models import Approval, OutboxMessage, TicketEvent
from store.outbox import notify
from tests.tickets.helpers import SLACK_TRIAGE, card, field, get, kinds, new_ticket, plain

MONITOR = "IT-1000"


def change_people(
    desk: Desk, *, leave: tuple[str, ...] = (), managers: dict[str, str | None] | None = None
) -> Handover:
    """What a sync does: the desk gets the new directory, then hands over in one transaction."""
    before = desk.directory
    people = dict(before.people)
    for pid in leave:
        people[pid] = replace(people[pid], active=False)
    for pid, manager in (managers or {}).items():
        people[pid] = replace(people[pid], manager=manager)
    after = Directory(people, dict(before.approver_groups), list(before.assets))
    desk.content = replace(desk.content, directory=after)
    with desk.store.begin() as session:
        return hand_over(desk, session, changes_between(before, after), desk.clock.now())


def approvals(desk: Desk) -> list[Approval]:
    with desk.store.read() as session:
        return list(session.exec(select(Approval).order_by(Approval.id)).all())  # type: ignore[arg-type]


def events(desk: Desk, kind: str) -> list[TicketEvent]:
    with desk.store.read() as session:
        return list(session.exec(select(TicketEvent).where(TicketEvent.kind == kind)).all())


def yes(out_choices: list[str]) -> str:
    return next(v for v in out_choices if v.endswith(":y"))


def request_monitor(chat: MemoryChat, who: str = "alice", text: str = "I need another monitor"):
    chat.say(who, text)
    chat.press(who, "j:size:27")


def stranger(desk: Desk) -> str:
    return to_plain(desk.texts.render("en", "identity.unknown_person"))


def test_a_leavers_approval_goes_to_their_delegate_and_their_old_button_is_refused(
    achat: MemoryChat, adesk: Desk
) -> None:
    request_monitor(achat)
    [approval] = approvals(adesk)
    [ask] = achat.seen_by("mark", channel="console")
    old_button = yes([c.value for c in ask.choices])

    done = change_people(adesk, leave=("mark",))
    achat.flush()

    assert [h.as_dict() for h in done.approvals] == [
        {
            "approval": approval.id,
            "ticket": MONITOR,
            "requester": "alice",
            "from": "mark",
            "to": "olivia",
            "why": "delegate",
        }
    ]
    assert approvals(adesk)[0].approvers == ["olivia"]
    [asked] = achat.seen_by("olivia", channel="console")
    text = to_plain(asked.text)
    assert "Mark Jensen has left, and you were their delegate" in text
    assert "27-inch monitor for Alice Morgan" in text
    told = plain(achat.seen_by("alice"))
    assert f"Mark Jensen has left, so {MONITOR} now waits for approval from Olivia Brandt" in told

    # Mark presses Approve on his old message: answered as a stranger, nothing decided.
    assert plain(achat.press("mark", old_button, channel="console")) == stranger(adesk)
    assert plain(achat.say("mark", f"/approve {approval.id}", channel="console")) == stranger(adesk)
    assert approvals(adesk)[0].status == "pending"

    achat.press("olivia", yes([c.value for c in asked.choices]), channel="console")
    decided = approvals(adesk)[0]
    assert (decided.status, decided.decided_by) == ("approved", "olivia")
    assert "Olivia Brandt approved it" in plain(achat.seen_by("alice"))
    assert kinds(adesk, MONITOR) == [
        "created",
        "approval_requested",
        "approval_handed_over",
        "approved",
    ]
    [event] = events(adesk, "approval_handed_over")
    assert event.data == {
        "approval": approval.id,
        "from": "mark",
        "to": "olivia",
        "why": "delegate",
    }


def test_without_a_delegate_the_next_manager_up_decides_and_the_requester_hears_in_chinese(
    achat: MemoryChat, adesk: Desk
) -> None:
    request_monitor(achat, "wang.fang", "我需要一台显示器")
    [approval] = approvals(adesk)
    assert approval.approvers == ["li.wei"]  # no delegate; his manager is priya

    done = change_people(adesk, leave=("li.wei",))
    achat.flush()

    assert [(h.previous, h.to, h.why) for h in done.approvals] == [("li.wei", "priya", "manager")]
    [asked] = achat.seen_by("priya", channel="console")
    assert "李伟 has left, and you are the next manager up" in to_plain(asked.text)
    told = to_plain(achat.seen_by("wang.fang")[-1].text)
    assert told == f"李伟 已离职，{MONITOR} 现在等待 Priya Raman 审批。"
    achat.press("priya", yes([c.value for c in asked.choices]), channel="console")
    assert approvals(adesk)[0].status == "approved"


def test_a_new_request_whose_manager_left_goes_to_the_next_manager_up(
    achat: MemoryChat, adesk: Desk
) -> None:
    change_people(adesk, leave=("li.wei",))
    request_monitor(achat, "wang.fang", "我需要一台显示器")
    assert [a.approvers for a in approvals(adesk)] == [["priya"]]
    assert achat.seen_by("li.wei", channel="console") == []


def test_a_manager_who_left_two_levels_up_is_skipped(achat: MemoryChat, adesk: Desk) -> None:
    request_monitor(achat, "wang.fang", "我需要一台显示器")
    # Li Wei and his manager Priya leave together; nobody is above Priya.
    done = change_people(adesk, leave=("li.wei", "priya"))
    assert [(h.previous, h.to, h.why) for h in done.approvals] == [("li.wei", None, "nobody")]
    # The record still names who was asked; nobody who left can decide it.
    assert approvals(adesk)[0].approvers == ["li.wei"]
    assert "can't decide" in plain(achat.say("olivia", "/approve 1", channel="console"))


def test_a_group_members_leaving_leaves_the_request_with_the_rest_of_the_group(
    achat: MemoryChat, adesk: Desk
) -> None:
    achat.say("bob", "I need to open a firewall port")
    achat.say("bob", "8443")
    [approval] = approvals(adesk)
    assert sorted(approval.approvers) == ["olivia", "priya"]
    achat.flush()
    before = len(achat.seen_by("priya", channel="console"))

    done = change_people(adesk, leave=("olivia",))
    achat.flush()

    assert [(h.previous, h.to, h.why) for h in done.approvals] == [("olivia", None, "group")]
    assert approvals(adesk)[0].approvers == ["priya"]
    assert len(achat.seen_by("priya", channel="console")) == before  # already asked
    assert plain(achat.say("olivia", f"/approve {approval.id}")) == stranger(adesk)
    assert "recorded" in plain(achat.say("priya", f"/approve {approval.id}", channel="console"))


def test_a_new_manager_takes_over_and_the_old_one_sees_it_go(
    achat: MemoryChat, adesk: Desk
) -> None:
    request_monitor(achat)
    [mark_ask] = achat.seen_by("mark", channel="console")
    old_button = yes([c.value for c in mark_ask.choices])

    done = change_people(adesk, managers={"alice": "olivia"})
    achat.flush()

    assert done.movers == [{"id": "alice", "from": "mark", "to": "olivia"}]
    assert [(h.previous, h.to, h.why) for h in done.approvals] == [
        ("mark", "olivia", "manager_changed")
    ]
    [asked] = achat.seen_by("olivia", channel="console")
    assert "You are now Alice Morgan's manager" in to_plain(asked.text)
    assert "(it was with Mark Jensen)" in to_plain(asked.text)
    # Mark's request is edited in place: the reason, and no buttons any more.
    [shown] = [s for s in achat.channels["console"].shown if s.out.to.conversation == "mark"]
    assert shown.edits == 1 and shown.out.choices == ()
    assert "no longer yours to decide: Alice Morgan's manager is now Olivia Brandt" in to_plain(
        shown.out.text
    )
    told = plain(achat.seen_by("alice"))
    assert f"Your manager is now Olivia Brandt, so {MONITOR} now waits for their approval" in told
    # Mark is still here, but no longer one who may decide.
    assert "can't decide" in plain(achat.press("mark", old_button, channel="console"))
    assert approvals(adesk)[0].status == "pending"


def test_a_group_request_is_not_moved_by_a_change_of_manager(
    achat: MemoryChat, adesk: Desk
) -> None:
    achat.say("bob", "I need to open a firewall port")
    achat.say("bob", "8443")
    done = change_people(adesk, managers={"bob": "olivia"})
    assert done.approvals == []
    assert sorted(approvals(adesk)[0].approvers) == ["olivia", "priya"]


def test_a_leavers_tickets_go_back_to_the_queue_noted_and_told(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    with logcontext.turn():  # as the engine would: the ticket it names ends with it
        number = new_ticket(tdesk, "bob", "VPN drops every hour")
    tchat.say("alex", f"/claim {number}")
    assert get(tdesk, number).assignee_id == "alex"
    tchat.flush()
    assert logcontext.ticket() is None

    done = change_people(tdesk, leave=("alex",))
    tchat.flush()

    assert [r.as_dict() for r in done.released] == [
        {"ticket": number, "from": "alex", "queue": "service_desk"}
    ]
    assert logcontext.ticket() is None  # the ticket it named ended with the handover
    ticket = get(tdesk, number)
    assert (ticket.status, ticket.assignee_id) == ("open", None)
    [event] = events(tdesk, "leaver_released")
    assert event.note == "Alex Rivera has left: back to the queue."
    assert (event.from_status, event.to_status, event.actor_id) == ("in_progress", "open", None)
    shown = card(tchat, number)
    assert field(shown, "Assigned to") == "Not yet assigned"
    told = [to_plain(o.text) for o in tchat.seen_by(SLACK_TRIAGE, channel="slack")]
    assert (
        f"{number} (VPN drops every hour) is back in the queue: Alex Rivera, who had it, has left."
        in " ".join(told)
    )

    # Alex can no longer claim it, and an old Assign button naming him gives it to nobody.
    assert plain(tchat.say("alex", f"/claim {number}")) == stranger(tdesk)
    said = plain(tchat.press("dana", button(TICKET, "assign", f"{number} alex")))
    assert "Alex Rivera" in said and get(tdesk, number).assignee_id is None
    assert "claimed" in plain(tchat.say("dana", f"/claim {number}")).lower()
    assert get(tdesk, number).assignee_id == "dana"


def test_a_leavers_own_requests_stay_and_notices_to_them_stop(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    number = new_ticket(tdesk, "bob", "Printer jams")
    tchat.say("dana", f"/claim {number}")
    tchat.flush()  # bob hears Dana is on it: sent, before he left
    with tdesk.store.read() as session:
        claimed = max(r.id or 0 for r in session.exec(select(OutboxMessage)).all())
    with tdesk.store.begin() as session:  # queued before the sync, not yet sent
        notify(
            session=session,
            to=Address("memory", "bob", "bob"),
            message=Message(text="a notice queued before he left"),
            idem_key="before-he-left",
            now=tdesk.clock.now(),
        )

    done = change_people(tdesk, leave=("bob",))
    assert done.withheld == 1 and done.released == []
    seen = len(tchat.seen_by("bob"))
    tchat.say("dana", f"/reply {number} Try the other tray")
    tchat.say("dana", f"/resolve {number} cleared the jam")
    with tdesk.store.begin() as session:  # whatever path still queues one: never sent
        notify(
            session=session,
            to=Address("memory", "bob", "bob"),
            message=Message(text="queued after he left"),
            idem_key="after-he-left",
            now=tdesk.clock.now(),
        )
    tchat.flush()

    assert len(tchat.seen_by("bob")) == seen
    with tdesk.store.read() as session:
        to_bob = session.exec(select(OutboxMessage).where(OutboxMessage.person_id == "bob")).all()
    statuses = {row.idem_key: row.status for row in to_bob if row.id and row.id > claimed}
    # The reply and resolve notices were never queued; the two queued by hand are withheld.
    assert statuses == {"before-he-left": "withheld", "after-he-left": "withheld"}
    ticket = get(tdesk, number)
    assert ticket.requester_id == "bob" and ticket.status == "resolved"  # his request stays
    assert plain(tchat.say("dana", f"/show {number}")).count("Bob Okafor") >= 1


def test_nothing_changes_when_nobody_left_or_moved(achat: MemoryChat, adesk: Desk) -> None:
    request_monitor(achat)
    done = change_people(adesk)
    assert done.as_dict() == {
        "leavers": [],
        "movers": [],
        "approvals": [],
        "released": [],
        "withheld": 0,
    }
    assert approvals(adesk)[0].approvers == ["mark"]
