"""A major incident end to end through the in-memory chat: reports, alert, declare, new
reporters told and linked, resolve, everyone told and every linked ticket resolved."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from bot.insight.job import InsightJob
from bot.insight.metrics import build_report
from notifications.sweep import Sweeper
from store import tickets as repo
from store.models import IncidentLink, MajorIncident, Ticket, TicketEvent
from tests.insight.conftest import DESK_TRIAGE, NET_TRIAGE

VPN = ["my vpn is broken", "won't connect", "no", "hotel", "yes", "yes"]


def report_vpn(chat: MemoryChat, person: str) -> str:
    for text in VPN:
        chat.say(person, text)
    with chat.desk.store.read() as session:
        mine = repo.list_tickets(session=session, requester_id=person)
    assert mine and mine[-1].service_id == "vpn_issue"
    return mine[-1].number


def texts(outs: list[Outbound]) -> list[str]:
    return [to_plain(o.text) for o in outs]


def alerts(chat: MemoryChat, conversation: str = NET_TRIAGE) -> list[Outbound]:
    """Major-incident alerts shown in a triage chat (not the ticket cards)."""
    shown = chat.seen_by(conversation, channel="console")
    return [o for o in shown if (o.key or "").startswith("mi:")]


def incident(chat: MemoryChat) -> MajorIncident:
    with chat.desk.store.read() as session:
        return session.exec(select(MajorIncident)).one()


def ticket(chat: MemoryChat, number: str) -> Ticket:
    with chat.desk.store.read() as session:
        found = repo.get_ticket(session=session, number=number)
    assert found is not None
    return found


def check(chat: MemoryChat) -> None:
    """One run of the insight job (this process wins the slot), then deliver."""
    InsightJob(chat.desk).run_once()
    chat.flush()


def test_declared_linked_and_resolved_end_to_end(ichat: MemoryChat, clock: FixedClock):
    chat = ichat
    numbers = []
    for person in ("alice", "bob", "wang.fang"):
        numbers.append(report_vpn(chat, person))
        clock.advance(timedelta(minutes=2))
    assert numbers == ["IT-1000", "IT-1001", "IT-1002"]

    # The job spots three VPN reports within 30 minutes and alerts the network queue.
    check(chat)
    [alert] = alerts(chat)
    assert "Possible major incident: 3 people reported VPN problem" in to_plain(alert.text)
    assert "IT-1000, IT-1001, IT-1002" in to_plain(alert.text)
    found = incident(chat)
    assert (found.status, found.service_id, found.queue) == ("suspected", "vpn_issue", "network")
    declare, dismiss = (c.value for c in alert.choices)
    assert (declare, dismiss) == (f"mi:declare:{found.id}", f"mi:dismiss:{found.id}")
    check(chat)  # running again alerts nobody twice
    assert len(alerts(chat)) == 1

    # Only a technician of the network queue may declare; refusals are audited.
    for outsider in ("bob", "dana"):
        refused = chat.press(outsider, declare, conversation=NET_TRIAGE, channel="console")
        assert "not a technician of the Network team" in texts(refused)[0]
    assert incident(chat).status == "suspected"
    with chat.desk.store.read() as session:
        audited = session.exec(select(TicketEvent).where(TicketEvent.kind == "refused")).all()
    assert {e.actor_id for e in audited} == {"bob", "dana"}

    # Alex declares: a problem ticket, claimed by him, the three reports linked to it.
    clock.advance(timedelta(minutes=3))
    declared = chat.press("alex", declare, conversation=NET_TRIAGE, channel="console")
    assert "You've declared IT-1003 (VPN problem): 3 reports are linked" in texts(declared)[0]
    problem = ticket(chat, "IT-1003")
    assert (problem.type, problem.assignee_id, problem.status) == ("problem", "alex", "in_progress")
    assert problem.priority == "P1" and problem.queue == "network"
    assert "IT-1000: VPN" in problem.description
    found = incident(chat)
    assert (found.status, found.decided_by, found.problem_ticket_id) == (
        "declared",
        "alex",
        problem.id,
    )
    # The alert is edited in place: no buttons any more.
    shown = chat.channels["console"].shown
    edited = [s for s in shown if s.out.key == f"mi:{found.id}"]
    assert len(edited) == 1 and edited[0].edits >= 1 and not edited[0].out.choices
    assert "Major incident IT-1003 (VPN problem), declared by Alex Rivera" in to_plain(
        edited[0].out.text
    )
    for person, number in zip(("alice", "bob", "wang.fang"), numbers, strict=True):
        last = to_plain(chat.seen_by(person)[-1].text)
        assert f"Your request {number} is part of a wider problem" in last and "IT-1003" in last
        with chat.desk.store.read() as session:
            t = repo.get_ticket(session=session, number=number)
            assert t is not None and t.id is not None
            kinds = [e.kind for e in repo.events_of(session=session, ticket_id=t.id)]
        assert "linked_to_problem" in kinds

    # A new reporter is told "we know since 10:00" and linked; no duplicate ticket.
    clock.advance(timedelta(minutes=5))
    told = chat.say("mark", "vpn won't connect")
    assert len(told) == 1
    said = to_plain(told[0].text)
    assert "We already know about this: VPN problem, affecting several people since 10:00" in said
    assert "IT-1003" in said
    assert [c.value for c in told[0].choices] == [f"mi:other:{found.id}"]
    # Someone whose problem is different says so, and gets the usual journey.
    told_zh = chat.say("li.wei", "VPN 连不上")  # Li Wei is in Shanghai: 10:00 UTC is 18:00
    assert "我们已经知道这个问题：VPN 问题，自 18:00 起影响多人" in to_plain(told_zh[0].text)
    carry_on = chat.press("li.wei", f"mi:other:{found.id}")
    assert "好的，我们单独看看您的问题" in texts(carry_on)[0]
    assert any("VPN 出现了什么情况" in t for t in texts(carry_on))
    with chat.desk.store.read() as session:
        assert len(repo.list_tickets(session=session)) == 4  # 3 reports + the problem
        links = session.exec(select(IncidentLink).order_by(IncidentLink.id)).all()  # type: ignore[arg-type]
    assert [(lk.person_id, lk.ticket_id is None, lk.status) for lk in links] == [
        ("alice", False, "linked"),
        ("bob", False, "linked"),
        ("wang.fang", False, "linked"),
        ("mark", True, "linked"),
        ("li.wei", True, "unlinked"),
    ]

    # Alex resolves the problem: every linked ticket resolved with the explanation, every
    # linked person told; Li Wei (unlinked) hears nothing about it.
    clock.advance(timedelta(hours=1))
    before_li = len(chat.seen_by("li.wei"))
    done = chat.say(
        "alex", "/resolve IT-1003 Restarted the VPN gateway after a certificate expired."
    )
    assert any("told 4 affected people and resolved 3 linked requests" in t for t in texts(done))
    # Alex declared it: he is not asked whether his own fix worked.
    assert "confirm" not in " ".join(texts(done))
    for person, number in zip(("alice", "bob", "wang.fang"), numbers, strict=True):
        t = ticket(chat, number)
        assert t.status == "resolved" and t.resolved_at == clock.now()
        shown_last = chat.seen_by(person)[-1]
        said = to_plain(shown_last.text)
        assert "Good news: the wider problem (VPN problem) is fixed" in said
        assert "Restarted the VPN gateway" in said and f"Your request {number} is resolved" in said
        assert [c.value for c in shown_last.choices] == [
            f"t:fixed:{number}",
            f"t:notfixed:{number}",
        ]
        with chat.desk.store.read() as session:
            assert t.id is not None
            resolved = [
                e for e in repo.events_of(session=session, ticket_id=t.id) if e.kind == "resolved"
            ]
        assert resolved[-1].data["problem"] == "IT-1003"
        assert resolved[-1].note.startswith("Restarted the VPN gateway")
    mark_last = chat.seen_by("mark")[-1]
    assert "the problem you told us about (VPN problem) is fixed" in to_plain(mark_last.text)
    assert [c.value for c in mark_last.choices] == ["s:vpn_issue"]
    assert len(chat.seen_by("li.wei")) == before_li
    assert incident(chat).status == "resolved"
    assert "resolved by Alex Rivera" in to_plain(
        next(s for s in chat.channels["console"].shown if s.out.key == f"mi:{found.id}").out.text
    )

    # Still broken for Mark: the button starts the usual journey now the incident is over.
    again = chat.press("mark", "s:vpn_issue")
    assert any("What is the VPN doing?" in t for t in texts(again))

    # The report counts it: one incident declared, four reports linked (Li Wei unlinked).
    with chat.desk.store.read() as session:
        figures = build_report(
            chat.desk, session, clock.now() - timedelta(days=1), clock.now() + timedelta(hours=1)
        ).period
    assert (figures.incidents_declared, figures.incident_reports) == (1, 4)
    assert figures.by_kind["linked"] == 1  # Mark: a request answered without a ticket

    # Days later the problem record closes by itself; Alex gets no "is it fixed?" warning,
    # no "I've closed it" and no survey about his own record, in any chat.
    def alex_heard() -> list[str]:
        return texts(chat.seen_by("alex", channel="console") + chat.seen_by("alex"))

    heard = alex_heard()
    for days in (2, 4, 6, 8, 10):
        clock.set(problem.created_at + timedelta(days=days))
        Sweeper(chat.desk).sweep()
        chat.flush()
    assert ticket(chat, "IT-1003").status == "closed"
    assert alex_heard() == heard


def test_two_reports_or_reports_far_apart_are_no_major_incident(
    ichat: MemoryChat, clock: FixedClock
):
    report_vpn(ichat, "alice")
    report_vpn(ichat, "bob")
    check(ichat)
    assert not alerts(ichat)
    clock.advance(timedelta(minutes=31))  # outside the 30-minute window of the first two
    report_vpn(ichat, "wang.fang")
    check(ichat)
    assert not alerts(ichat)


def test_dismissed_alert_keeps_the_tickets_apart(ichat: MemoryChat, clock: FixedClock):
    for person in ("alice", "bob", "wang.fang"):
        report_vpn(ichat, person)
    check(ichat)
    found = incident(ichat)
    said = ichat.press("alex", f"mi:dismiss:{found.id}", conversation=NET_TRIAGE, channel="console")
    assert "the reports stay separate tickets" in texts(said)[0]
    assert incident(ichat).status == "dismissed"
    late = ichat.press("alex", f"mi:declare:{found.id}", conversation=NET_TRIAGE, channel="console")
    assert "Someone already handled this alert: it is now dismissed" in texts(late)[0]
    # A new VPN report opens a ticket as usual and the same reports never alert again.
    number = report_vpn(ichat, "mark")
    assert number == "IT-1003"
    check(ichat)
    assert len(alerts(ichat)) == 1


def test_reports_without_a_service_that_read_alike(ichat: MemoryChat, clock: FixedClock):
    for person, text in (
        ("alice", "<!channel> the shared drive is down"),
        ("bob", "<!channel> shared drive is down again"),
        ("wang.fang", "<!channel> the shared drive is down for me"),
    ):
        ichat.say(person, f"/human {text}")
    check(ichat)
    [alert] = alerts(ichat, DESK_TRIAGE)
    assert "3 people reported “<!channel> the shared drive is down”" in to_plain(alert.text)
    assert "&lt;!channel&gt;" in alert.text  # what people typed is escaped in the markup
    found = incident(ichat)
    assert found.service_id is None and found.queue == "service_desk"
    ichat.press("dana", f"mi:declare:{found.id}", conversation=DESK_TRIAGE, channel="console")
    told = ichat.say("mark", "is the shared drive down?")
    assert "We already know about this: <!channel> the shared drive is down" in to_plain(
        told[0].text
    )
    # A request that only shares a few words is not taken for it.
    other = ichat.say("li.wei", "my printer is jammed")
    assert "We already know" not in to_plain(other[0].text)


def test_one_person_reporting_many_times_is_not_a_major_incident(
    ichat: MemoryChat, clock: FixedClock
):
    for _ in range(3):
        report_vpn(ichat, "alice")
        clock.advance(timedelta(minutes=2))
    check(ichat)
    assert alerts(ichat, NET_TRIAGE) == []
    with ichat.desk.store.read() as session:
        assert session.exec(select(MajorIncident)).all() == []

    for person in ("bob", "wang.fang"):
        report_vpn(ichat, person)
        clock.advance(timedelta(minutes=2))  # the job's next slot
    check(ichat)
    [alert] = alerts(ichat, NET_TRIAGE)
    assert "3 people reported" in to_plain(alert.text)
