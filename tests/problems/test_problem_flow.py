"""A problem record end to end through the in-memory chat: opened from an incident, root
cause and workaround recorded, the workaround offered to a new reporter and published as a
known-error article, incidents linked and unlinked, resolved with every open incident
resolved and its requester asked to confirm. Every step is audited."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from store import tickets as repo
from store.models import KnowledgeArticle, Problem, ProblemLink, Ticket, TicketEvent

VPN = ["my vpn is broken", "won't connect", "no", "hotel", "yes", "yes"]


def report_vpn(chat: MemoryChat, person: str) -> tuple[str, list[Outbound]]:
    said: list[Outbound] = []
    for text in VPN:
        said += chat.say(person, text)
    with chat.desk.store.read() as session:
        mine = repo.list_tickets(session=session, requester_id=person)
    assert mine and mine[-1].service_id == "vpn_issue"
    return mine[-1].number, said


def texts(outs: list[Outbound]) -> str:
    return "\n".join(to_plain(o.text) for o in outs)


def ticket(chat: MemoryChat, number: str) -> Ticket:
    with chat.desk.store.read() as session:
        found = repo.get_ticket(session=session, number=number)
    assert found is not None
    return found


def problem(chat: MemoryChat) -> Problem:
    with chat.desk.store.read() as session:
        return session.exec(select(Problem)).one()


def kinds(chat: MemoryChat, number: str) -> list[str]:
    found = ticket(chat, number)
    with chat.desk.store.read() as session:
        assert found.id is not None
        return [e.kind for e in repo.events_of(session=session, ticket_id=found.id)]


def test_problem_from_an_incident_to_resolved(pchat: MemoryChat, clock: FixedClock):
    chat = pchat
    first, _ = report_vpn(chat, "alice")
    assert first == "IT-1000"

    # Only staff, and only of the incident's queue (network), may open a problem.
    refused = chat.say("bob", "/problem IT-1000 VPN drops every hour")
    assert "/problem is for IT technicians" in texts(refused)
    refused = chat.say("dana", "/problem IT-1000 VPN drops every hour")
    assert "I can't find a ticket IT-1000 that you can see" in texts(refused)
    with chat.desk.store.read() as session:
        assert session.exec(select(Problem)).first() is None

    opened = chat.say("alex", "/problem IT-1000 VPN drops every hour")
    said = texts(opened)
    assert "Problem PRB-1 opened: “VPN drops every hour”, with IT-1000 linked" in said
    assert "Its work is ticket IT-1001" in said
    record = problem(chat)
    assert (record.status, record.service_id, record.title) == (
        "investigating",
        "vpn_issue",
        "VPN drops every hour",
    )
    work = ticket(chat, "IT-1001")
    assert (work.type, work.queue, work.assignee_id, work.status) == (
        "problem",
        "network",
        "alex",
        "in_progress",
    )
    assert "problem_linked" in kinds(chat, "IT-1000")
    assert {"problem_opened", "problem_incident_linked"} <= set(kinds(chat, "IT-1001"))
    # Asking again for a linked incident points at its problem instead of a second one.
    again = chat.say("alex", "/problem IT-1000 another title")
    assert "already linked to the open problem PRB-1" in texts(again)

    # Dana (not in network) may read nothing private and change nothing.
    assert "I can't find a ticket IT-1001 that you can see" in texts(
        chat.say("dana", "/problem PRB-1")
    )
    refused = chat.say("dana", "/problem PRB-1 cause guess")
    assert "belongs to the Network team, and you're not one of its technicians" in texts(refused)
    assert problem(chat).root_cause == ""

    cause = chat.say("alex", "/problem PRB-1 cause The gateway's certificate expires hourly")
    assert "Root cause of PRB-1 recorded. It is now a known error." in texts(cause)
    assert problem(chat).status == "known_error"
    workaround = chat.say("alex", "/problem prb-1 workaround Connect to vpn2.example.com instead")
    assert "Workaround of PRB-1 recorded" in texts(workaround)
    assert "now a known error" not in texts(workaround)  # it was already

    # A new VPN report: linked to the problem and offered the workaround in chat.
    clock.advance(timedelta(hours=3))
    second, said_to_bob = report_vpn(chat, "bob")
    assert second == "IT-1002"
    offered = texts(said_to_bob)
    assert "This looks like a known problem (PRB-1: VPN drops every hour)" in offered
    assert "Connect to vpn2.example.com instead" in offered
    assert "linked your request IT-1002" in offered
    with chat.desk.store.read() as session:
        links = session.exec(select(ProblemLink).order_by(ProblemLink.id)).all()  # type: ignore[arg-type]
    assert [(lk.ticket_id, lk.how, lk.status) for lk in links] == [
        (ticket(chat, "IT-1000").id, "technician", "linked"),
        (ticket(chat, "IT-1002").id, "reported", "linked"),
    ]

    # Publishing makes a known-error article through the /kb path, offered by self-help.
    published = chat.say("alex", "/problem PRB-1 publish")
    assert "known-error article ke-it-1001" in texts(published)
    with chat.desk.store.read() as session:
        article = session.exec(select(KnowledgeArticle)).one()
    assert (article.title, article.body, article.services) == (
        "VPN drops every hour",
        "Connect to vpn2.example.com instead",
        ["vpn_issue"],
    )
    assert chat.desk.catalog.kb.get("ke-it-1001", "en") is not None
    assert problem(chat).article_id == "ke-it-1001"

    # Unlink and link again, both audited on both tickets.
    assert "IT-1002 is no longer linked to PRB-1" in texts(
        chat.say("alex", "/problem PRB-1 unlink IT-1002")
    )
    assert "IT-1002 was not linked to PRB-1" in texts(
        chat.say("alex", "/problem PRB-1 unlink IT-1002")
    )
    assert "IT-1002 is linked to PRB-1" in texts(chat.say("alex", "/problem PRB-1 link IT-1002"))
    assert kinds(chat, "IT-1002").count("problem_linked") == 2
    assert "problem_unlinked" in kinds(chat, "IT-1002")

    shown = texts(chat.say("alex", "/problem PRB-1"))
    for part in (
        "PRB-1: VPN drops every hour",
        "Status: known error",
        "Owner: Alex Rivera",
        "Root cause: The gateway's certificate expires hourly",
        "Workaround: Connect to vpn2.example.com instead (article ke-it-1001)",
        "Linked incidents (2)",
        "IT-1000",
        "IT-1002",
    ):
        assert part in shown, part
    assert texts(chat.say("alex", "/problem IT-1002")) == shown  # the incident's problem
    listed = texts(chat.say("alex", "/problems"))
    assert "PRB-1 VPN drops every hour (known error, VPN problem, 2 incidents" in listed

    # Resolve: each open linked incident is resolved and its requester asked to confirm.
    clock.advance(timedelta(hours=1))
    done = chat.say("alex", "/problem PRB-1 resolve Renewed the certificate with a 1-year term")
    assert "PRB-1 is resolved: 2 linked open incidents were resolved" in texts(done)
    record = problem(chat)
    assert (record.status, record.resolved_at) == ("resolved", clock.now())
    assert ticket(chat, "IT-1001").status == "resolved"
    for person, number in (("alice", "IT-1000"), ("bob", "IT-1002")):
        assert ticket(chat, number).status == "resolved"
        last = chat.seen_by(person)[-1]
        said = to_plain(last.text)
        assert "the underlying problem (VPN drops every hour) is fixed" in said
        assert "Renewed the certificate" in said and f"Your request {number} is resolved" in said
        assert [c.value for c in last.choices] == [f"t:fixed:{number}", f"t:notfixed:{number}"]
    # The existing confirm lifecycle: Alice confirms and her ticket closes.
    chat.press("alice", "t:fixed:IT-1000")
    assert ticket(chat, "IT-1000").status == "closed"

    # A resolved problem takes no more changes; new VPN reports are not offered its workaround.
    assert "PRB-1 is resolved already" in texts(chat.say("alex", "/problem PRB-1 cause x"))
    _, said_to_mark = report_vpn(chat, "mark")
    assert "known problem" not in texts(said_to_mark)

    # The audit trail on the work ticket tells the whole story.
    with chat.desk.store.read() as session:
        events = session.exec(
            select(TicketEvent).where(TicketEvent.ticket_id == work.id).order_by(TicketEvent.id)  # type: ignore[arg-type]
        ).all()
    story = [
        (e.kind, e.data.get("to"))
        for e in events
        if e.kind.startswith("problem") or e.kind in ("root_cause", "workaround", "kb_article")
    ]
    assert story == [
        ("problem_opened", None),
        ("problem_incident_linked", None),
        ("root_cause", None),
        ("problem_status", "known_error"),
        ("workaround", None),
        ("problem_incident_linked", None),
        ("kb_article", None),
        ("problem_incident_unlinked", None),
        ("problem_incident_linked", None),
        ("problem_status", "resolved"),
    ]
    assert all(e.actor_id == "alex" for e in events if e.kind in ("root_cause", "workaround"))


def test_problem_verb_errors(pchat: MemoryChat):
    chat = pchat
    report_vpn(chat, "alice")
    assert "Use it like this" in texts(chat.say("alex", "/problem IT-1000"))
    assert "I can't find problem PRB-9" in texts(chat.say("alex", "/problem PRB-9"))
    assert "needs 3 to 300 characters" in texts(chat.say("alex", "/problem IT-1000 ab"))
    chat.say("alex", "/problem IT-1000 VPN drops")
    assert "has no workaround to publish" in texts(chat.say("alex", "/problem PRB-1 publish"))
    assert "is a problem's own ticket" in texts(chat.say("alex", "/problem PRB-1 link IT-1001"))
    assert "No open problems in your queues" in texts(chat.say("sam", "/problem"))
