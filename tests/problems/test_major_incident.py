"""Declaring a major incident opens a problem record on its problem ticket, with the reports
linked (and later ones as they arrive); resolving the ticket resolves the record."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from store.models import MajorIncident, Problem, ProblemLink
from tests.problems.test_problem_flow import VPN, report_vpn, texts, ticket
from tests.problems.test_recurring import candidates, check


def test_declared_major_incident_is_a_problem_record(pchat: MemoryChat, clock: FixedClock):
    chat = pchat
    numbers = []
    for person in ("alice", "bob", "wang.fang"):
        numbers.append(report_vpn(chat, person)[0])
        clock.advance(timedelta(minutes=2))
    check(chat, clock)
    with chat.desk.store.read() as session:
        incident = session.exec(select(MajorIncident)).one()
    declared = chat.press("alex", f"mi:declare:{incident.id}")
    assert "You've declared IT-1003" in texts(declared)
    with chat.desk.store.read() as session:
        record = session.exec(select(Problem)).one()
        links = session.exec(select(ProblemLink.ticket_id, ProblemLink.how)).all()
    work = ticket(chat, "IT-1003")
    assert (record.ticket_id, record.incident_id, record.service_id, record.status) == (
        work.id,
        incident.id,
        "vpn_issue",
        "investigating",
    )
    assert record.title == "Major incident: VPN problem"
    assert sorted(links) == sorted((ticket(chat, n).id, "major_incident") for n in numbers)
    # The reports of a major incident are no recurring fault to propose.
    check(chat, clock)
    assert candidates(chat) == []

    # The same problem through /problem: by its number, its ticket or a report.
    shown = texts(chat.say("alex", "/problem PRB-1"))
    assert "PRB-1: Major incident: VPN problem" in shown and "Linked incidents (3)" in shown
    assert texts(chat.say("alex", "/problem IT-1003")) == shown
    assert texts(chat.say("alex", f"/problem {numbers[0]}")) == shown

    # A report the job links later joins the record too: Mark says his problem is something
    # else, carries on with the VPN journey, and the job links his ticket all the same.
    clock.advance(timedelta(minutes=5))
    known = chat.say("mark", VPN[0])
    assert [c.value for c in known[-1].choices] == [f"mi:other:{incident.id}"]
    chat.press("mark", f"mi:other:{incident.id}")
    for text in VPN[1:]:
        chat.say("mark", text)
    late = ticket(chat, "IT-1004").number
    assert ticket(chat, late).requester_id == "mark"
    check(chat, clock)
    with chat.desk.store.read() as session:
        linked = session.exec(select(ProblemLink.ticket_id)).all()
    assert ticket(chat, late).id in linked

    # /resolve on the problem ticket resolves the record; the reports were resolved by the
    # major-incident flow, so nobody is told twice.
    done = chat.say("alex", "/resolve IT-1003 Restarted the VPN gateway.")
    assert "told" in texts(done)
    with chat.desk.store.read() as session:
        record = session.exec(select(Problem)).one()
    assert record.status == "resolved" and record.resolved_at == clock.now()
    for number in [*numbers, late]:
        assert ticket(chat, number).status == "resolved"
        told = [o for o in chat.seen_by(ticket(chat, number).requester_id) if "is fixed" in o.text]
        assert len(told) == 1
