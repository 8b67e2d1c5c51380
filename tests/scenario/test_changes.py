"""Change control through the real desk, on SQLite and PostgreSQL: risk, the CAB's quorum and
veto, the emergency path and its review, the implementer's stages from chat, conflicts and
freezes at submission, the calendar, and incidents after a failed change (docs/changes.md).

The demo CAB (`approver_groups.change_advisory`) is Olivia and Priya; `changes.quorum` is 2
and `changes.emergency_quorum` 1. Alex (a network technician) raises and implements changes.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from notifications.sweep import Sweeper
from store import ci_links, ticket_links
from store.models import ChangeRecord, Ticket
from tests.journeys.talk import Talk, button, events, plain, talk, tickets


def submit(
    chat: MemoryChat,
    *,
    person: str = "alex",
    kind: str = "normal",
    system: str = "core-fw-01",
    impact: str = "high",
    likelihood: str = "possible",
    size: str = "small",
    day: str = "2026-11-28",
    hours: str = "22:00-23:30",
    reversible: str = "yes",
    tested: str = "yes",
) -> Talk:
    inputs = ["!s:change_request", kind]
    if kind == "standard":
        inputs.append("certificate")
    inputs += [
        system,
        "Open TCP 443 from the DMZ web tier to the new API gateway",
        impact,
        likelihood,
        size,
        day,
        hours,
        "Remove the rule in the firewall manager; takes 5 minutes",
        reversible,
        tested,
    ]
    return talk(chat, person, inputs)


def record(chat: MemoryChat, number: str) -> ChangeRecord:
    with chat.desk.store.read() as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        found = session.get(ChangeRecord, ticket.id)
        assert found is not None
        return found


def ticket(chat: MemoryChat, number: str) -> Ticket:
    return next(t for t in tickets(chat) if t.number == number)


def approve(chat: MemoryChat, person: str) -> None:
    ask = chat.seen_by(person, channel="console")
    chat.press(person, button(ask, ":y"), channel="console")


def test_normal_change_needs_the_quorum_and_the_implementer_reports_each_stage(
    chat: MemoryChat,
) -> None:
    done = submit(chat, reversible="no", tested="no")
    # high impact x possible (6) + small (0) + untested (2) + no way back (3) = 11: high
    assert "Risk of IT-1000: high (score 11). Window: 2026-11-28 22:00-23:30." in done.text
    assert ticket(chat, "IT-1000").status == "awaiting_approval"
    ask = plain(chat.seen_by("olivia", channel="console"))
    assert "Normal change, risk high (score 11), window 2026-11-28 22:00-23:30." in ask
    assert "It needs 2 approvals from the board; any one rejection rejects it." in ask

    approve(chat, "olivia")
    said = plain(chat.seen_by("olivia", channel="console"))
    assert "1 of the 2 needed" in said
    assert ticket(chat, "IT-1000").status == "awaiting_approval"  # one of two: still waiting
    assert record(chat, "IT-1000").stage == "pending"
    assert [e.note for e in events(chat, "approval_vote")] == ["1/2"]
    # Voting twice does not count twice.
    approve(chat, "olivia")
    assert "already given your decision" in plain(chat.seen_by("olivia", channel="console"))
    assert ticket(chat, "IT-1000").status == "awaiting_approval"

    approve(chat, "priya")
    assert ticket(chat, "IT-1000").status == "open"
    assert record(chat, "IT-1000").stage == "approved"
    seen = chat.seen_by("alex")
    assert "The change advisory board (Olivia Brandt, Priya Raman) approved it" in plain(seen)
    # Alex, the change owner and a technician, implements it: offered the next stage.
    schedule = button(seen, "IT-1000 schedule")

    # Someone who neither implements nor works the change queue cannot report a stage,
    # and is not even told the ticket exists; the attempt is audited.
    refused = plain(chat.say("sam", "/change IT-1000 start"))
    assert "can't find a ticket IT-1000" in refused
    assert events(chat, "refused")[-1].note == "change start"
    assert record(chat, "IT-1000").stage == "approved"
    # Out of order: a change not yet scheduled cannot start.
    assert "can't be marked" in plain(chat.say("alex", "/change IT-1000 done"))

    moved = chat.press("alex", schedule)
    assert "change IT-1000, now scheduled" in plain(moved)
    assert button(moved, "IT-1000 start")
    # Priya (an admin: she works every queue) reports it started; Alex, the requester, is told.
    chat.say("priya", "/change IT-1000 start", channel="console")
    assert "Your change IT-1000 (Normal change: core-fw-01" in plain(chat.seen_by("alex"))
    assert "now being implemented" in plain(chat.seen_by("alex"))
    now = ticket(chat, "IT-1000")
    assert now.status == "in_progress" and now.assignee_id == "alex"
    chat.say("alex", "/change IT-1000 rolledback rule broke the API health checks")
    final = record(chat, "IT-1000")
    assert final.stage == "rolled_back" and final.implementer_id == "alex"
    assert final.outcome_at is not None
    assert ticket(chat, "IT-1000").status == "resolved"
    kinds = [e.kind for e in events(chat) if e.kind.startswith("change_")]
    assert kinds == [
        "change_planned",
        "change_approved",
        "change_scheduled",
        "change_implementing",
        "change_rolled_back",
    ]
    assert events(chat, "change_rolled_back")[0].note == "rule broke the API health checks"


def test_one_rejection_rejects_whatever_the_others_said(chat: MemoryChat) -> None:
    submit(chat)
    approve(chat, "olivia")
    ask = chat.seen_by("priya", channel="console")
    chat.press("priya", button(ask, ":n"), channel="console")
    chat.say("priya", "No rollback tested for the API gateway", channel="console")
    assert ticket(chat, "IT-1000").status == "rejected"
    assert record(chat, "IT-1000").stage == "rejected"
    assert "No rollback tested" in plain(chat.seen_by("alex"))


def test_emergency_change_needs_one_approval_and_a_review_after(chat: MemoryChat) -> None:
    done = submit(chat, kind="emergency", day="2026-11-23", hours="11:00-12:00")
    assert "Emergency change" in ticket(chat, "IT-1000").title
    assert ticket(chat, "IT-1000").priority == "P1"  # high impact, high urgency
    approve(chat, "olivia")  # one approval is the emergency quorum
    assert ticket(chat, "IT-1000").status == "open"
    assert "Risk of IT-1000" in done.text
    for action in ("schedule", "start", "done"):
        chat.say("alex", f"/change IT-1000 {action}")
    assert record(chat, "IT-1000").stage == "succeeded"
    # The CAB is asked to review it; only a member may, and only once.
    assert "Please review it" in plain(chat.seen_by("priya", channel="console"))
    assert "only members of the change advisory board" in plain(
        chat.say("alex", "/change IT-1000 review fine")
    )
    chat.say("priya", "/change IT-1000 review the hotfix was right; add a test", channel="console")
    assert record(chat, "IT-1000").reviewed_by == "priya"
    assert "reviewed your emergency change" in plain(chat.seen_by("alex"))
    again = chat.say("olivia", "/change IT-1000 review", channel="console")
    assert "no review waiting" in plain(again)


def test_conflicts_and_freezes_are_flagged_to_the_requester_and_the_cab(
    chat: MemoryChat,
) -> None:
    submit(chat, kind="standard", system="Core-FW-01", hours="22:00-23:00")
    second = submit(chat, person="dana", system="core-fw-01  ", hours="22:30-23:30")
    assert "IT-1000 also changes Core-FW-01 in an overlapping window" in second.text
    ask = plain(chat.seen_by("olivia", channel="console"))
    assert "IT-1001" in ask and "IT-1000 also changes Core-FW-01" in ask
    assert record(chat, "IT-1001").conflicts[0]["number"] == "IT-1000"
    # Another system, or a window that does not overlap, is no conflict.
    third = submit(chat, person="dana", system="mail relay", hours="22:30-23:30")
    assert "Conflicts" not in third.text
    # A window inside the year-end freeze (config.yaml) is flagged; a standard change has
    # no CAB request to show it in, so the CAB is told directly.
    submit(chat, kind="standard", system="www", day="2026-12-22", hours="10:00-11:00")
    assert "the window falls in the year-end freeze (2026-12-21 to 2027-01-03)" in plain(
        chat.seen_by("alex")
    )
    told = plain(chat.seen_by("priya", channel="console"))
    assert "Standard change IT-1003" in told and "year-end freeze" in told


def test_the_calendar_shows_the_week_with_windows_and_clashes(chat: MemoryChat) -> None:
    submit(chat, kind="standard", hours="22:00-23:00")
    submit(chat, person="dana", hours="22:30-23:30")
    submit(chat, person="dana", system="mail relay", day="2026-12-02", hours="09:00-10:00")
    week = plain(chat.say("alex", "/changes"))
    assert "Changes 2026-11-23 to 2026-11-29" in week
    assert "2026-11-28 22:00-23:00 IT-1000 core-fw-01: standard, risk medium, approved" in week
    assert "⚠ same item as IT-1001" in week
    assert "IT-1002" not in week  # next week
    nxt = plain(chat.say("alex", "/changes next"))
    assert "IT-1002 mail relay" in nxt and "IT-1000" not in nxt
    assert "❄ year-end freeze" in plain(chat.say("alex", "/changes 2026-12-21"))
    assert "周六 2026-11-28" in plain(chat.say("chen.jie", "/changes"))
    # Employees do not see the calendar; the refusal is audited.
    assert "IT-1000" not in plain(chat.say("bob", "/changes"))
    assert events(chat, "refused")[-1].note == "changes"
    # Asked in a shared channel, it goes to the asker's private chat.
    shared = chat.say("alex", "/changes", conversation="C0TEAM:1700000000.0001")
    assert "IT-1000" not in plain(shared)


def test_a_failed_change_is_linked_to_incidents_on_the_same_item(
    chat: MemoryChat, clock: FixedClock
) -> None:
    # "vpn" is an alias of the configuration item vpn-gateway (directory/cis.yaml).
    submit(chat, kind="standard", system="vpn", day="2026-11-23", hours="09:00-11:00")
    assert record(chat, "IT-1000").item == "vpn-gateway"
    with chat.desk.store.read() as session:
        assert ci_links.cis_of(session, record(chat, "IT-1000").ticket_id) == ["vpn-gateway"]
    chat.say("alex", "/change IT-1000 schedule")
    chat.say("alex", "/change IT-1000 start")
    # An incident on the VPN while it is being implemented, and one on something else.
    talk(chat, "bob", ["!s:vpn_issue", "won't connect", "no", "hotel", "yes", "yes"])
    talk(chat, "alice", ["!s:printer_issue", "it jams", "3rd floor"])
    chat.say("alex", "/change IT-1000 failed")  # the earlier incident is tied now
    clock.advance(timedelta(hours=3))
    talk(chat, "mark", ["!s:vpn_issue", "won't connect", "no", "hotel", "yes", "yes"])
    with chat.desk.store.read() as session:
        change = session.exec(select(Ticket).where(Ticket.number == "IT-1000")).one()
        assert change.id is not None
        tied = {t.number for _, t in ticket_links.links_of(session=session, ticket_id=change.id)}
    vpn = sorted(t.number for t in tickets(chat) if t.service_id == "vpn_issue")
    assert len(vpn) == 2 and tied == set(vpn)
    told = plain(chat.seen_by("alex"))
    assert all(f"Incident {n}" in told for n in vpn)
    assert [e.note for e in events(chat, "change_incident")] == vpn
    # Past `changes.incidents_within` (2d) of the window, a new incident is not tied.
    clock.advance(timedelta(days=2))
    talk(chat, "dana", ["!s:vpn_issue", "won't connect", "no", "hotel", "yes", "yes"])
    assert len(events(chat, "change_incident")) == 2


def test_rescheduling_moves_the_window_and_checks_it_again(chat: MemoryChat) -> None:
    submit(chat, kind="standard", hours="22:00-23:00")
    submit(chat, kind="standard", person="dana", day="2026-11-30", hours="08:00-09:00")
    assert record(chat, "IT-1000").conflicts == []
    chat.say("alex", "/change IT-1000 schedule")
    # Scheduled already: the same again is refused; a new window moves it, and its clash
    # with Dana's change on the same firewall is shown.
    assert "can't be marked" in plain(chat.say("alex", "/change IT-1000 schedule"))
    moved = plain(chat.say("alex", "/change IT-1000 schedule 2026-11-30 08:30-10:00"))
    assert "now scheduled (window 2026-11-30 08:30-10:00)" in moved
    assert "IT-1001 also changes core-fw-01 in an overlapping window" in moved
    assert record(chat, "IT-1000").conflicts[0]["number"] == "IT-1001"
    assert "I didn't understand the window" in plain(
        chat.say("alex", "/change IT-1000 schedule tomorrow evening")
    )
    assert record(chat, "IT-1000").window_start.hour == 8  # London is on UTC in November


def test_a_change_in_chinese(chat: MemoryChat) -> None:
    done = talk(
        chat,
        "chen.jie",
        [
            "!s:change_request",
            "紧急",
            "域控",
            "修复域控制器的复制故障，重启复制服务",
            "高",
            "不太可能",
            "小",
            "2026-11-24",
            "20:00至21:00",
            "如果失败，恢复昨晚的快照",
            "是",
            "否",
        ],
    )
    # 域控 is an alias of the item ldap; high x unlikely (3) + small (0) + untested (2) = 5.
    assert "IT-1000 的风险：中（5 分）。窗口：2026-11-24 20:00-21:00。" in done.text
    assert record(chat, "IT-1000").item == "ldap"
    assert record(chat, "IT-1000").kind == "emergency"
    ask = plain(chat.seen_by("olivia", channel="console"))  # Olivia reads English
    assert "Emergency change, risk medium (score 5), window 2026-11-24 12:00-13:00." in ask


def test_the_reminder_goes_to_the_members_yet_to_vote_with_the_risk(
    chat: MemoryChat, clock: FixedClock
) -> None:
    submit(chat)
    approve(chat, "olivia")
    asked = len(chat.seen_by("olivia", channel="console"))
    clock.advance(timedelta(days=1))  # Tuesday 10:00: one working day (remind_after)
    Sweeper(chat.desk).sweep()
    chat.flush()
    [reminder] = chat.seen_by("priya", channel="console")[1:]
    text = plain([reminder])
    assert "Reminder" in text and "risk medium (score 6)" in text
    assert len(chat.seen_by("olivia", channel="console")) == asked  # she voted: no reminder
