"""Demo data for the service-insight report, and how long the report takes to build.

    .venv/bin/python -m bench.insight --demo var/demo.db        # six weeks of demo activity
    DATABASE_URL=sqlite:///var/demo.db .venv/bin/deskbot report --until 2026-11-23
    .venv/bin/python -m bench.insight [--sizes 1000,10000]      # time build_report

The activity goes through the real ticket code (`open_ticket`, `lifecycle.transition`,
surveys, audit events) with a seeded random generator, at business-hours moments between
Monday 12 October and Monday 23 November 2026: requests for a dozen services, a share solved
by self-service or logged by IT, first responses, questions to the requester, resolutions,
reopens, surveys, approvals, matcher outcomes, and one major incident (VPN, week of 9 Nov).

The timing builds a 30-day report (all figures plus the weekly trend) over `size` tickets
in that period and prints the time per ticket; ratios are against the smallest size,
measured in the same process.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.app import build_desk, load_config
from bot.base.calendar import BusinessCalendar
from bot.base.clock import FixedClock
from bot.desk import Desk
from bot.directory import Person
from bot.insight import render
from bot.insight.metrics import build_report
from bot.tickets import open_ticket
from store import lifecycle, notices
from store import tickets as repo
from store.models import Approval, IncidentLink, MajorIncident, MatchOutcome, Ticket

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 10:00 London
START = datetime(2026, 10, 12, tzinfo=UTC)  # six weeks before Monday 23 November
# (service, queue, type, weight, self-help share)
SERVICES = (
    ("password_reset", "service_desk", "request", 18, 0.45),
    ("vpn_issue", "network", "incident", 12, 0.25),
    ("email_issue", "service_desk", "incident", 10, 0.2),
    ("printer_issue", "workplace", "incident", 9, 0.3),
    ("slow_computer", "workplace", "incident", 7, 0.35),
    ("software_request", "applications", "request", 7, 0.0),
    ("access_request", "identity", "request", 6, 0.0),
    ("mfa_reset", "identity", "request", 5, 0.1),
    ("new_laptop", "workplace", "request", 4, 0.0),
    ("meeting_room_av", "workplace", "incident", 4, 0.3),
    ("network_issue", "network", "incident", 3, 0.1),
    ("storage_quota", "service_desk", "request", 3, 0.4),
)
WITH_APPROVAL = {"software_request", "access_request", "new_laptop"}
TECHS = {
    "service_desk": "dana",
    "workplace": "dana",
    "network": "alex",
    "identity": "chen.jie",
    "applications": "chen.jie",
}


@dataclass
class Plan:
    weeks: int = 6
    per_week: int = 40  # requests through the desk or logged


def _moment(rng: random.Random, calendar: BusinessCalendar, day: datetime) -> datetime:
    """A working moment on `day` (or the next working day)."""
    at = day + timedelta(hours=9, minutes=rng.randrange(0, 8 * 60))
    return calendar.next_opening(at)


def _later(calendar: BusinessCalendar, start: datetime, hours: float) -> datetime:
    return calendar.add_working(start, timedelta(hours=max(hours, 0.05)))


def _people(desk: Desk, extra: int) -> list[Person]:
    people = [p for p in desk.directory if "technician" not in p.roles]
    people += [
        Person(id=f"user{i:05d}", name=f"User {i}", email=f"user{i}@example.com")
        for i in range(extra)
    ]
    return people


def generate(desk: Desk, plan: Plan, *, seed: int = 7, extra_people: int = 0) -> int:
    """Fill the store with `plan.weeks` of activity ending at NOW; returns the tickets made."""
    rng = random.Random(seed)
    people = _people(desk, extra_people)
    weights = [s[3] for s in SERVICES]
    made = 0
    start = NOW - timedelta(weeks=plan.weeks)
    start = start.replace(hour=0, minute=0)
    with desk.store.begin() as session:
        for week in range(plan.weeks):
            for _ in range(plan.per_week):
                day = start + timedelta(days=7 * week + rng.randrange(0, 5))
                service, queue, kind, _, self_help = rng.choices(SERVICES, weights)[0]
                person = rng.choice(people)
                calendar = desk.calendar_for(queue)
                at = _moment(rng, calendar, day)
                if at >= NOW:
                    continue
                roll = rng.random()
                if roll < self_help + 0.07 and roll >= self_help:
                    made += _logged(desk, session, rng, person, queue, at)  # by phone
                    continue
                _matcher(session, rng, person.id, at)  # they asked the desk in their words
                if roll < self_help:
                    _self_solved(session, rng, person.id, service, at)
                else:
                    made += _ticket(desk, session, rng, person, service, queue, kind, at)
        made += _incident(desk, session, rng)
    return made


def _matcher(session: Session, rng: random.Random, person: str, at: datetime) -> None:
    outcome = rng.choices(
        ["understood", "picked", "rejected", "not_understood", "out_of_scope", "offered"],
        [72, 13, 3, 6, 2, 4],
    )[0]
    session.add(
        MatchOutcome(
            at=at - timedelta(seconds=30),
            person_id=person,
            channel="slack",
            tier={"understood": "high", "not_understood": "low", "out_of_scope": "low"}.get(
                outcome, "medium"
            ),
            outcome=outcome,
        )
    )


def _self_solved(
    session: Session, rng: random.Random, person: str, service: str, at: datetime
) -> None:
    if rng.random() < 0.3:
        article = "password-self-service" if service == "password_reset" else "vpn-troubleshooting"
        repo.add_event(
            session=session,
            ticket=None,
            at=at,
            actor_id=person,
            kind="kb_self_solved",
            note=article,
            data={"article": article},
        )
        return
    repo.add_event(
        session=session,
        ticket=None,
        at=at,
        actor_id=person,
        kind="journey_ended",
        note="self_solved",
        data={"service_id": service},
    )


def _open(
    desk: Desk,
    session: Session,
    person: Person,
    service: str | None,
    queue: str,
    kind: str,
    at: datetime,
    *,
    source: str = "desk",
    priority: str = "P3",
) -> Ticket:
    return open_ticket(
        desk,
        session,
        requester=person,
        service_id=service,
        ticket_type=kind,
        title=f"{service or 'phone call'} for {person.name}",
        description="",
        priority=priority,
        queue=queue,
        answers={},
        origin=None,
        language=person.language,
        now=at,
        source=source,
        actor_id=TECHS[queue] if source == "logged" else None,
    )


def _move(
    session: Session, ticket: Ticket, at: datetime, kind: str, to: str | None, by: str, **values
) -> None:
    lifecycle.transition(
        session=session, ticket=ticket, actor_id=by, now=at, kind=kind, to=to, values=values
    )


def _logged(
    desk: Desk, session: Session, rng: random.Random, person: Person, queue: str, at: datetime
) -> int:
    ticket = _open(desk, session, person, None, queue, "incident", at, source="logged")
    tech = TECHS[queue]
    _move(
        session, ticket, at, "claimed", "in_progress", tech, assignee_id=tech, first_response_at=at
    )
    done = _later(desk.calendar_for(queue), at, rng.uniform(0.2, 3))
    if done < NOW:
        _move(session, ticket, done, "resolved", "resolved", tech, resolved_at=done)
    return 1


def _ticket(
    desk: Desk,
    session: Session,
    rng: random.Random,
    person: Person,
    service: str,
    queue: str,
    kind: str,
    at: datetime,
) -> int:
    calendar = desk.calendar_for(queue)
    priority = rng.choices(["P2", "P3", "P4"], [10, 75, 15])[0]
    ticket = _open(desk, session, person, service, queue, kind, at, priority=priority)
    tech = TECHS[queue]
    now = at
    if service in WITH_APPROVAL and rng.random() < 0.6:
        decided = _later(calendar, now, rng.lognormvariate(1.5, 0.9))
        status = "approved" if rng.random() < 0.9 else "rejected"
        session.add(
            Approval(
                ticket_id=ticket.id,
                service_id=service,
                step="manager_ok",
                requester_id=person.id,
                rule="manager",
                approvers=[person.manager or "priya"],
                summary=ticket.title,
                status="pending" if decided >= NOW else status,
                decided_by=None if decided >= NOW else (person.manager or "priya"),
                channel="slack",
                conversation=person.id,
                created_at=now,
                decided_at=None if decided >= NOW else decided,
            )
        )
        if decided >= NOW or status == "rejected":
            return 1
        now = decided
    responded = _later(calendar, now, rng.lognormvariate(0.3, 0.9))
    if responded >= NOW:
        return 1
    _move(
        session,
        ticket,
        responded,
        "claimed",
        "in_progress",
        tech,
        assignee_id=tech,
        first_response_at=responded,
    )
    now = responded
    if rng.random() < 0.2:
        asked = _later(calendar, now, rng.uniform(0.2, 2))
        answered = _later(calendar, asked, rng.uniform(1, 12))
        if answered >= NOW:
            return 1
        _move(session, ticket, asked, "asked", "waiting_on_user", tech)
        _move(session, ticket, answered, "answered", "in_progress", person.id)
        now = answered
    done = _later(calendar, now, rng.lognormvariate(1.6, 1.0))
    if done >= NOW:
        return 1
    _move(session, ticket, done, "resolved", "resolved", tech, resolved_at=done)
    if rng.random() < 0.08:
        again = _later(calendar, done, rng.uniform(1, 8))
        fixed = _later(calendar, again, rng.uniform(1, 6))
        if fixed < NOW:
            _move(session, ticket, again, "not_fixed", "reopened", person.id, resolved_at=None)
            _move(session, ticket, fixed, "resolved", "resolved", tech, resolved_at=fixed)
            done = fixed
    if rng.random() < 0.35 and ticket.id is not None:
        sent = done + timedelta(hours=1)
        survey = notices.create_survey(
            session=session, ticket_id=ticket.id, person_id=person.id, now=sent
        )
        if survey is not None and survey.id is not None and rng.random() < 0.6:
            score = rng.choices([1, 2, 3, 4, 5], [3, 4, 10, 35, 48])[0]
            notices.record_score(session=session, survey_id=survey.id, score=score, now=sent)
    return 1


def _incident(desk: Desk, session: Session, rng: random.Random) -> int:
    """The VPN gateway fails on Wednesday 11 November: six reports, declared, four more
    people told "we know about it", resolved two hours later."""
    first = datetime(2026, 11, 11, 9, 40, tzinfo=UTC)
    people = _people(desk, 0)
    reports = []
    for i, person in enumerate(people[:6]):
        at = first + timedelta(minutes=3 * i)
        ticket = _open(desk, session, person, "vpn_issue", "network", "incident", at)
        reports.append(ticket)
    declared = first + timedelta(minutes=25)
    alex = desk.directory.get("alex")
    assert alex is not None
    problem = _open(desk, session, alex, "vpn_issue", "network", "problem", declared, priority="P1")
    _move(
        session,
        problem,
        declared,
        "claimed",
        "in_progress",
        "alex",
        assignee_id="alex",
        first_response_at=declared,
    )
    incident = MajorIncident(
        key="service:vpn_issue",
        service_id="vpn_issue",
        sample="vpn",
        queue="network",
        status="resolved",
        first_at=first,
        detected_at=first + timedelta(minutes=15),
        decided_by="alex",
        decided_at=declared,
        problem_ticket_id=problem.id,
        resolved_at=declared + timedelta(hours=2),
        note="VPN gateway certificate renewed",
    )
    session.add(incident)
    session.flush()
    fixed = declared + timedelta(hours=2)
    for ticket in reports:
        session.add(
            IncidentLink(
                key=f"{incident.id}:t{ticket.id}",
                incident_id=incident.id or 0,
                ticket_id=ticket.id,
                person_id=ticket.requester_id,
                created_at=declared,
            )
        )
        _move(session, ticket, declared, "linked_to_problem", None, "alex")
        _move(
            session,
            ticket,
            fixed,
            "resolved",
            "resolved",
            "alex",
            resolved_at=fixed,
            assignee_id="alex",
            first_response_at=declared,
        )
    for i, person in enumerate(_people(desk, 4)[-4:]):
        session.add(
            IncidentLink(
                key=f"{incident.id}:p{person.id}",
                incident_id=incident.id or 0,
                person_id=person.id,
                channel="slack",
                conversation=person.id,
                created_at=declared + timedelta(minutes=10 * (i + 1)),
            )
        )
    _move(session, problem, fixed, "resolved", "resolved", "alex", resolved_at=fixed)
    return len(reports)


def demo(path: Path) -> Desk:
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": f"sqlite:///{path.resolve()}"})
    desk = build_desk(settings, clock=FixedClock(NOW), migrate=True)
    generate(desk, Plan(), extra_people=60)  # the demo directory has only a few employees
    return desk


def timing(sizes: list[int]) -> None:
    base: float | None = None
    print(f"{'per 30d':>8} {'build ms':>9} {'us/ticket':>10} {'ratio':>6}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": f"sqlite:///{path}"})
            desk = build_desk(settings, clock=FixedClock(NOW), migrate=True)
            per_week = max(1, size * 7 // 30)  # about `size` requests in the 30-day window
            made = generate(desk, Plan(weeks=5, per_week=per_week), extra_people=size // 10)
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                with desk.store.read() as session:
                    build_report(desk, session, NOW - timedelta(days=30), NOW)
                best = min(best, time.perf_counter() - started)
            desk.store.dispose()
        base = base or best / size
        print(
            f"{size:>8} {best * 1000:>9.0f} {best / size * 1e6:>10.0f} "
            f"{best / size / base:>6.2f}   ({made} tickets in 5 weeks)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, help="write six weeks of demo activity here")
    parser.add_argument("--sizes", default="1000,10000", help="tickets per 30 days to time")
    args = parser.parse_args()
    if args.demo:
        args.demo.parent.mkdir(parents=True, exist_ok=True)
        desk = demo(args.demo)
        with desk.store.read() as session:
            report = build_report(desk, session, NOW - timedelta(days=30), NOW)
        print(render.table(desk, "en", report))
        desk.store.dispose()
        return
    timing([int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
