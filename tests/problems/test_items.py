"""Problems and configuration items: a fault recurring on the same service and item is
proposed as such (devices say who reported, not what failed), the problem's work ticket
concerns the item, and a new incident on that item matches the open problem."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot import problems
from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from store import ci_links
from store.models import Problem, ProblemCandidate, Ticket
from tests.problems.test_problem_flow import report_vpn, texts, ticket
from tests.problems.test_recurring import EVERY, candidates, check, proposals


def link_items(chat: MemoryChat, number: str, *items: str) -> None:
    found = ticket(chat, number)
    assert found.id is not None
    with chat.desk.store.begin() as session:
        for item in items:
            ci_links.link_ci(session, found.id, item, "technician", chat.desk.clock.now())


def test_recurring_on_the_same_item_is_proposed_with_it(pchat: MemoryChat, clock: FixedClock):
    chat = pchat
    numbers = []
    for person, laptop in (("alice", "lt-0101"), ("bob", "lt-0102"), ("wang.fang", None)):
        number = report_vpn(chat, person)[0]
        numbers.append(number)
        link_items(chat, number, "vpn-gateway", *([laptop] if laptop else []))
        clock.advance(EVERY)
    check(chat, clock)
    # One proposal, the precise one: the service alone covers the same reports.
    [found] = candidates(chat)
    assert (found.key, found.ci_id) == ("service:vpn_issue|ci:vpn-gateway", "vpn-gateway")
    [proposal] = proposals(chat)
    assert "3 people reported VPN problem on VPN gateway 3 times" in to_plain(proposal.text)

    opened = chat.press("alex", f"pb:open:{found.id}")
    assert "“Recurring: VPN problem on VPN gateway”" in texts(opened)
    with chat.desk.store.read() as session:
        record = session.exec(select(Problem)).one()
        assert ci_links.cis_of(session, record.ticket_id) == ["vpn-gateway"]  # no laptops
    shown = texts(chat.say("alex", "/problem PRB-1"))
    assert "Configuration items: VPN gateway" in shown

    # An incident of another service on the same item belongs to the problem too; one on
    # nothing in common does not.
    chat.say("alex", "/problem PRB-1 workaround Use vpn2.example.com")
    other = report_vpn(chat, "mark")[0]
    with chat.desk.store.begin() as session:
        new = session.exec(select(Ticket).where(Ticket.number == other)).one()
        new.service_id = "network_issue"
        session.add(new)
    # The VPN service linked the report to the gateway itself: take that link away first.
    chat.say("alex", f"/ci {other} remove vpn-gateway")
    with chat.desk.store.read() as session:
        fresh = session.exec(select(Ticket).where(Ticket.number == other)).one()
        assert fresh.id is not None and ci_links.cis_of(session, fresh.id) == []
        assert problems.matching(chat.desk, session, fresh) == []
    link_items(chat, other, "vpn-gateway")
    with chat.desk.store.read() as session:
        fresh = session.exec(select(Ticket).where(Ticket.number == other)).one()
        assert [p.id for p in problems.matching(chat.desk, session, fresh)] == [record.id]


def test_devices_alone_do_not_split_a_service(pchat: MemoryChat, clock: FixedClock):
    chat = pchat
    for person, laptop in (("alice", "lt-0101"), ("bob", "lt-0102"), ("wang.fang", None)):
        number = report_vpn(chat, person)[0]
        if laptop:
            link_items(chat, number, laptop)
        clock.advance(EVERY)
    clock.advance(timedelta(minutes=1))
    check(chat, clock)
    # The gateway every VPN report is linked to groups them; the laptops split nothing.
    assert [c.key for c in candidates(chat)] == ["service:vpn_issue|ci:vpn-gateway"]
    with chat.desk.store.read() as session:
        assert session.exec(select(ProblemCandidate.ci_id)).one() == "vpn-gateway"
