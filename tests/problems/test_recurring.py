"""Recurring faults: the same service reported by different people over weeks, or by the same
person again and again, is proposed to the queue lead as a problem once, with the incidents
listed and a button that opens the problem with them linked."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from bot.insight.job import InsightJob
from bot.tickets import open_ticket
from store.models import Problem, ProblemCandidate, ProblemLink, TicketEvent
from tests.problems.conftest import MakeDesk
from tests.problems.test_problem_flow import report_vpn, texts, ticket

EVERY = timedelta(days=2)  # far apart: never a major incident (30 minutes)


def check(chat: MemoryChat, clock: FixedClock) -> None:
    """One run of the insight job in a slot of its own, then deliver."""
    clock.advance(timedelta(minutes=1))
    InsightJob(chat.desk).run_once()
    chat.flush()


def proposals(chat: MemoryChat, person: str = "alex") -> list[Outbound]:
    # Alex has not talked to the desk yet: his private chat is the first configured one.
    shown = chat.seen_by(person, channel="console")
    return [o for o in shown if (o.key or "").startswith("pb:")]


def candidates(chat: MemoryChat) -> list[ProblemCandidate]:
    with chat.desk.store.read() as session:
        return list(session.exec(select(ProblemCandidate).order_by(ProblemCandidate.id)).all())  # type: ignore[arg-type]


def test_same_service_by_different_people_is_proposed_once_and_opened(
    pchat: MemoryChat, clock: FixedClock
):
    chat = pchat
    numbers = []
    for person in ("alice", "bob"):
        numbers.append(report_vpn(chat, person)[0])
        clock.advance(EVERY)
    check(chat, clock)
    assert candidates(chat) == []  # two people: not yet
    numbers.append(report_vpn(chat, "wang.fang")[0])
    check(chat, clock)

    [proposal] = proposals(chat)
    said = to_plain(proposal.text)
    # The VPN service links its reports to the VPN gateway (catalog: cis), so the item is named.
    assert (
        "Recurring fault? 3 people reported VPN problem on VPN gateway 3 times in 30 days" in said
    )
    for number, name in zip(numbers, ("Alice Morgan", "Bob Okafor", "王芳"), strict=True):
        assert number in said and name in said
    [found] = candidates(chat)
    assert (found.key, found.queue, found.status, found.reporters) == (
        "service:vpn_issue|ci:vpn-gateway",
        "network",
        "proposed",
        3,
    )
    assert [c.value for c in proposal.choices] == [f"pb:open:{found.id}", f"pb:dismiss:{found.id}"]
    with chat.desk.store.read() as session:
        audited = session.exec(
            select(TicketEvent).where(TicketEvent.kind == "problem_candidate")
        ).one()
    assert audited.data["tickets"] == numbers

    # Proposed once: the next runs stay quiet.
    check(chat, clock)
    check(chat, clock)
    assert len(candidates(chat)) == 1 and len(proposals(chat)) == 1

    # Only a technician of the network queue may decide.
    refused = chat.press("dana", f"pb:open:{found.id}")
    assert "not a technician of the Network team" in texts(refused)
    assert candidates(chat)[0].status == "proposed"

    opened = chat.press("alex", f"pb:open:{found.id}")
    assert (
        "Problem PRB-1 opened: “Recurring: VPN problem on VPN gateway”, with 3 incidents"
        in texts(opened)
    )
    with chat.desk.store.read() as session:
        record = session.exec(select(Problem)).one()
        linked = session.exec(select(ProblemLink.ticket_id, ProblemLink.how)).all()
    assert record.service_id == "vpn_issue" and record.status == "investigating"
    assert sorted(linked) == sorted((ticket(chat, n).id, "candidate") for n in numbers)
    assert candidates(chat)[0].status == "opened"
    assert candidates(chat)[0].problem_id == record.id
    # The proposal is edited in place: no buttons, who opened what.
    shown = [s for s in chat.channels["console"].shown if s.out.key == f"pb:{found.id}:alex"]
    assert len(shown) == 1 and not shown[0].out.choices
    assert "Problem PRB-1 opened by Alex Rivera" in to_plain(shown[0].out.text)
    # Pressed again (another device): told it was decided.
    assert "already decided" in texts(chat.press("alex", f"pb:dismiss:{found.id}"))

    # Incidents held by a problem are no recurrence: three more people later, still quiet
    # for the old ones; the new ones count on their own.
    check(chat, clock)
    assert len(candidates(chat)) == 1


def test_same_person_and_service_is_proposed_and_can_be_dismissed(
    pchat: MemoryChat, clock: FixedClock
):
    chat = pchat
    numbers = []
    for _ in range(3):
        numbers.append(report_vpn(chat, "alice")[0])
        clock.advance(EVERY)
    check(chat, clock)
    [found] = candidates(chat)
    assert found.key == "person:alice|service:vpn_issue"
    [proposal] = proposals(chat)
    assert "Alice Morgan reported VPN problem 3 times in 30 days" in to_plain(proposal.text)

    dismissed = chat.press("alex", f"pb:dismiss:{found.id}")
    assert "these incidents stay as they are" in texts(dismissed)
    assert candidates(chat)[0].status == "dismissed"
    with chat.desk.store.read() as session:
        assert session.exec(select(Problem)).first() is None
        decided = session.exec(
            select(TicketEvent).where(TicketEvent.kind == "problem_candidate_dismissed")
        ).one()
    assert decided.actor_id == "alex"

    # The same reports are never proposed again; two newer ones are not enough yet.
    for _ in range(2):
        report_vpn(chat, "alice")
        clock.advance(EVERY)
    check(chat, clock)
    assert len(candidates(chat)) == 1
    report_vpn(chat, "alice")
    check(chat, clock)
    assert [c.status for c in candidates(chat)] == ["dismissed", "proposed"]
    assert len(candidates(chat)[1].ticket_ids) == 3


def test_thresholds_window_and_counting_are_configurable(make_desk: MakeDesk, clock: FixedClock):
    # Two reports within ten days, counting tickets rather than people, no person groups.
    chat = MemoryChat(
        make_desk(incidents=2, window="10d", distinct_reporters=False, by_person=False)
    )
    report_vpn(chat, "alice")
    clock.advance(timedelta(days=11))  # out of the window by the next report
    report_vpn(chat, "alice")
    check(chat, clock)
    assert candidates(chat) == []
    clock.advance(EVERY)
    report_vpn(chat, "alice")
    check(chat, clock)
    [found] = candidates(chat)
    assert (found.key, len(found.ticket_ids), found.reporters) == (
        "service:vpn_issue|ci:vpn-gateway",
        2,
        1,
    )


def test_switched_off_proposes_nothing(make_desk: MakeDesk, clock: FixedClock):
    chat = MemoryChat(make_desk(enabled=False))
    for person in ("alice", "bob", "wang.fang"):
        report_vpn(chat, person)
        clock.advance(EVERY)
    check(chat, clock)
    assert candidates(chat) == []


def test_a_chinese_speaking_lead_gets_the_proposal_in_chinese(pchat: MemoryChat, clock: FixedClock):
    """Incidents opened the way journeys open them (bot.tickets.open_ticket); the
    applications queue's lead, Chen Jie, reads and answers in Chinese."""
    chat = pchat
    desk = chat.desk
    for person in ("alice", "bob", "mark"):
        requester = desk.directory.get(person)
        assert requester is not None
        with desk.store.begin() as session:
            open_ticket(
                desk,
                session,
                requester=requester,
                service_id="app_error",
                ticket_type="incident",
                title="SAP error",
                description="",
                priority="P3",
                queue="applications",
                answers={},
                origin=None,
                language="en",
                now=clock.now(),
            )
        clock.advance(EVERY)
    check(chat, clock)
    [proposal] = proposals(chat, "chen.jie")
    said = to_plain(proposal.text)
    assert "反复出现的故障？" in said and "3 人在 30 天内报告了 3 次" in said, said
    assert [c.label for c in proposal.choices] == ["开立问题", "不是问题"]
    opened = chat.press("chen.jie", proposal.choices[0].value)
    assert "已开立问题 PRB-1" in texts(opened) and "关联了 3 个事件" in texts(opened)
