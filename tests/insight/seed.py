"""A store seeded by hand for the report tests: every figure is worked out in test_report.py.

The period is Monday 9 November 00:00 to Monday 23 November 00:00 (UTC, which is London
time in November): week 1 is 9-15 November, week 2 is 16-22 November. The desk's business
hours are Monday to Friday 09:00-17:30 (8.5 hours a day); no public holidays fall here.
Standard SLA: P2 1h response / 8h resolution; P3 4h response / 3 working days resolution
(3 x 8.5 = 25.5 business hours).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from bot.desk import Desk
from bot.tickets import open_ticket
from store import lifecycle, notices
from store import tickets as repo
from store.models import Approval, IncidentLink, MajorIncident, MatchOutcome, Ticket

START = datetime(2026, 11, 9, tzinfo=UTC)
MIDDLE = datetime(2026, 11, 16, tzinfo=UTC)
END = datetime(2026, 11, 23, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 (UTC = London time in November)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@dataclass
class Seeded:
    tickets: dict[str, Ticket] = field(default_factory=dict)


def _open(
    desk: Desk,
    session: Session,
    who: str,
    service: str | None,
    priority: str,
    when: datetime,
    *,
    source: str = "desk",
    ticket_type: str = "incident",
    queue: str = "network",
    actor: str | None = None,
) -> Ticket:
    person = desk.directory.get(who)
    assert person is not None
    return open_ticket(
        desk,
        session,
        requester=person,
        service_id=service,
        ticket_type=ticket_type,
        title=f"{service or 'general'} for {person.name}",
        description="",
        priority=priority,
        queue=queue,
        answers={},
        origin=None,
        language=person.language,
        now=when,
        source=source,
        actor_id=actor,
    )


def _move(
    session: Session,
    ticket: Ticket,
    when: datetime,
    kind: str,
    to: str | None,
    *,
    by: str = "alex",
    note: str = "",
    **values: Any,
) -> None:
    lifecycle.transition(
        session=session,
        ticket=ticket,
        actor_id=by,
        now=when,
        kind=kind,
        to=to,
        note=note,
        values=values,
    )


def _claim(session: Session, ticket: Ticket, when: datetime, by: str = "alex") -> None:
    _move(
        session,
        ticket,
        when,
        "claimed",
        "in_progress",
        by=by,
        assignee_id=by,
        first_response_at=when,
    )


def _resolve(session: Session, ticket: Ticket, when: datetime) -> None:
    _move(session, ticket, when, "resolved", "resolved", note="fixed", resolved_at=when)


def _ended(session: Session, who: str, when: datetime, outcome: str, service: str) -> None:
    repo.add_event(
        session=session,
        ticket=None,
        at=when,
        actor_id=who,
        kind="journey_ended",
        note=outcome,
        data={"service_id": service},
    )


def seed(desk: Desk) -> Seeded:
    out = Seeded()
    t = out.tickets
    with desk.store.begin() as s:
        # T7: before the period; only the look-back for T1's repeat sees it.
        t["T7"] = _open(desk, s, "alice", "vpn_issue", "P3", at(6, 10))
        _claim(s, t["T7"], at(6, 10, 30))
        _resolve(s, t["T7"], at(6, 12))

        # Week 1 --------------------------------------------------------------------------
        t["T1"] = _open(desk, s, "alice", "vpn_issue", "P3", at(9, 10))
        _claim(s, t["T1"], at(9, 11, 30))
        _resolve(s, t["T1"], at(9, 15))

        t["T2"] = _open(desk, s, "bob", "vpn_issue", "P2", at(10, 16))
        _claim(s, t["T2"], at(11, 10))
        _resolve(s, t["T2"], at(11, 12))

        t["T3"] = _open(
            desk,
            s,
            "alice",
            "password_reset",
            "P3",
            at(11, 9),
            ticket_type="request",
            queue="service_desk",
        )
        _claim(s, t["T3"], at(11, 9, 30), by="dana")
        _move(s, t["T3"], at(11, 10), "asked", "waiting_on_user", by="dana", note="which account?")
        _move(s, t["T3"], at(12, 10), "answered", "in_progress", by="alice", note="my email")
        _resolve(s, t["T3"], at(12, 11))
        _move(s, t["T3"], at(13, 10), "not_fixed", "reopened", by="alice", resolved_at=None)
        _resolve(s, t["T3"], at(13, 12))

        _ended(s, "wang.fang", at(10, 11), "self_solved", "vpn_issue")  # S1
        _ended(s, "bob", at(12, 9), "cancelled", "vpn_issue")  # not a request

        t["L1"] = _open(desk, s, "li.wei", None, "P3", at(12, 14), source="logged", actor="alex")
        _claim(s, t["L1"], at(12, 14))
        _resolve(s, t["L1"], at(12, 15))

        # Week 2 --------------------------------------------------------------------------
        t["T4"] = _open(desk, s, "wang.fang", "vpn_issue", "P3", at(16, 9))
        _claim(s, t["T4"], at(16, 13))
        t["T5"] = _open(desk, s, "bob", "vpn_issue", "P3", at(17, 10))
        _claim(s, t["T5"], at(17, 10, 30))
        t["T6"] = _open(desk, s, "mark", "printer_issue", "P3", at(20, 17), queue="workplace")
        t["L2"] = _open(desk, s, "bob", None, "P3", at(18, 10), source="logged", actor="alex")
        _claim(s, t["L2"], at(18, 10))

        # A major incident about the VPN, declared Wednesday 18 at 10:00: a problem ticket
        # (not a request), T4 and T5 linked, and Li Wei told "we know" instead of a ticket.
        t["P1"] = _open(
            desk,
            s,
            "dana",
            "vpn_issue",
            "P1",
            at(18, 10),
            ticket_type="problem",
            queue="network",
        )
        _claim(s, t["P1"], at(18, 10), by="alex")
        incident = MajorIncident(
            key="service:vpn_issue",
            service_id="vpn_issue",
            sample="vpn",
            queue="network",
            status="declared",
            first_at=at(16, 9),
            detected_at=at(18, 9, 30),
            decided_by="alex",
            decided_at=at(18, 10),
            problem_ticket_id=t["P1"].id,
        )
        s.add(incident)
        s.flush()
        for key, ticket, person, when in (
            ("T4", t["T4"], "wang.fang", at(18, 10)),
            ("T5", t["T5"], "bob", at(18, 10)),
            ("li", None, "li.wei", at(18, 11)),
        ):
            s.add(
                IncidentLink(
                    key=f"{incident.id}:{key}",
                    incident_id=incident.id or 0,
                    ticket_id=ticket.id if ticket else None,
                    person_id=person,
                    channel="memory",
                    conversation=person,
                    created_at=when,
                )
            )
            if ticket is not None:
                _move(s, ticket, when, "linked_to_problem", None, note="P1")
        _resolve(s, t["T4"], at(19, 11))

        repo.add_event(  # S2: a direct answer that helped (password-self-service)
            session=s,
            ticket=None,
            at=at(18, 15),
            actor_id="mark",
            kind="kb_self_solved",
            note="password-self-service",
            data={"article": "password-self-service"},
        )
        _ended(s, "alice", at(19, 9, 30), "self_solved", "password_reset")  # S4

        # Surveys ---------------------------------------------------------------------------
        for ticket, sent, score in (
            (t["T7"], at(9, 8), 4),
            (t["T1"], at(10, 10), 5),
            (t["T2"], at(12, 10), None),
            (t["T3"], at(16, 12), 3),
        ):
            assert ticket.id is not None
            survey = notices.create_survey(
                session=s, ticket_id=ticket.id, person_id=ticket.requester_id, now=sent
            )
            assert survey is not None and survey.id is not None
            if score is not None:
                notices.record_score(session=s, survey_id=survey.id, score=score, now=sent)

        # Approvals ---------------------------------------------------------------------------
        for created, status, decided in (
            (at(9, 10), "approved", at(9, 14)),  # 4.0 h
            (at(12, 16), "rejected", at(13, 10)),  # 1.5 + 1.0 = 2.5 h
            (at(17, 9), "approved", at(18, 17)),  # 8.5 + 8.0 = 16.5 h
            (at(20, 15), "approved", at(23, 9, 30)),  # decided after the period: waiting then
            (at(16, 11), "pending", None),  # still waiting
            (at(10, 9), "cancelled", at(10, 12)),  # withdrawn: no wait to measure
        ):
            s.add(
                Approval(
                    service_id="new_laptop",
                    step="manager_ok",
                    requester_id="alice",
                    rule="manager",
                    approvers=["mark"],
                    summary="laptop",
                    status=status,
                    decided_by="mark" if decided else None,
                    channel="memory",
                    conversation="alice",
                    created_at=created,
                    decided_at=decided,
                )
            )

        # The matcher -------------------------------------------------------------------------
        week1 = ["understood"] * 3 + ["picked", "rejected", "not_understood"]
        week2 = ["understood"] * 4 + ["offered", "out_of_scope", "picked", "picked"]
        rows = [(at(8, 12), "understood")]  # Sunday 8: before the period
        rows += [(at(10, 9 + i), o) for i, o in enumerate(week1)]
        rows += [(at(17, 9 + i), o) for i, o in enumerate(week2)]
        for when, outcome in rows:
            s.add(
                MatchOutcome(
                    at=when,
                    person_id="alice",
                    channel="memory",
                    tier="high" if outcome == "understood" else "medium",
                    outcome=outcome,
                )
            )
    return out
