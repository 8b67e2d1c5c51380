"""Recurring faults: the same thing reported again and again over weeks, proposed as a problem.

Run by the insight job once per `insight.check_every` slot, after major-incident detection.
Incidents reported within `problems.recurring.window` that no problem holds yet and that
are not reports of a major incident (a burst is one outage) are grouped by what recurs:

* `service:<id>|ci:<item>`: the same service and configuration item (the items linked to
  the ticket in `ticket_ci`, devices left out: a laptop says who reported, not what failed);
* `service:<id>`: the same service, whatever the items;
* `person:<id>|service:<id>`: the same person and service (`by_person`).

The most precise group is proposed first; a group whose reports were all just proposed by
another is left out (the same fault told twice).

A service group counts different reporters (`distinct_reporters`, else tickets), a person
group its tickets. At `incidents` or more, the group becomes a `ProblemCandidate` and is
proposed to the queue's lead in private (else its technicians, else the admins) with the
incidents listed and Open a problem / Not a problem buttons (`pb:open:<id>`,
`pb:dismiss:<id>`). Only reports newer than a key's last candidate count, so the same
reports are proposed once, never every run.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot import problems
from bot.addresses import home_address
from bot.base.buttons import PROBLEM, button
from bot.base.messages import Choice, Message
from bot.base.timefmt import describe_time
from bot.desk import Desk
from bot.directory import Person
from store import tickets as ticket_repo
from store.models import IncidentLink, MajorIncident, ProblemCandidate, Ticket
from store.outbox import notify

SKIPPED = ("cancelled", "rejected")  # duplicates merged away and refusals are no recurrence


def _last_at(session: Session, key: str) -> datetime | None:
    """The newest report counted by the key's latest candidate."""
    row = session.exec(
        select(ProblemCandidate.last_at)
        .where(ProblemCandidate.key == key)
        .order_by(col(ProblemCandidate.last_at).desc())
        .limit(1)
    ).first()
    return row


def _groups(
    desk: Desk, session: Session, tickets: list[Ticket], by_person: bool
) -> dict[str, tuple[dict[str, str | None], list[Ticket]]]:
    groups: dict[str, tuple[dict[str, str | None], list[Ticket]]] = {}

    def add(key: str, what: dict[str, str | None], ticket: Ticket) -> None:
        groups.setdefault(key, (what, []))[1].append(ticket)

    for ticket in tickets:
        service = ticket.service_id
        assert service is not None and ticket.id is not None
        for item in problems.items_of(desk, session, ticket.id):
            add(f"service:{service}|ci:{item}", {"service": service, "ci": item}, ticket)
        add(f"service:{service}", {"service": service}, ticket)
        if by_person:
            person = ticket.requester_id
            add(
                f"person:{person}|service:{service}", {"service": service, "person": person}, ticket
            )
    return groups


def _in_major_incidents(session: Session, among: list[int]) -> set[int]:
    """Which of the tickets `among` are reports of a major incident (not dismissed): one
    outage, not a fault coming back."""
    if not among:
        return set()
    rows = session.exec(
        select(IncidentLink.ticket_id)
        .join(MajorIncident, col(MajorIncident.id) == col(IncidentLink.incident_id))
        .where(
            col(IncidentLink.status) == "linked",
            col(IncidentLink.ticket_id).in_(among),
            col(MajorIncident.status) != "dismissed",
        )
    )
    return {ticket_id for ticket_id in rows.all() if ticket_id is not None}


def _precision(key: str) -> tuple[int, str]:
    return (0 if "|ci:" in key else 2 if key.startswith("person:") else 1), key


def detect(desk: Desk, now: datetime) -> int:
    """Look for recurring faults; returns how many candidates were proposed."""
    rules = desk.settings.problems.recurring
    if not rules.enabled:
        return 0
    proposed = 0
    with desk.store.begin() as session:
        desk.store.lock(session, "insight:recurring")
        stmt = (
            select(Ticket)
            .where(
                col(Ticket.type) == "incident",
                col(Ticket.service_id).is_not(None),
                col(Ticket.created_at) >= now - rules.window,
                col(Ticket.created_at) <= now,
                col(Ticket.status).not_in(SKIPPED),
            )
            .order_by(col(Ticket.created_at), col(Ticket.id))
        )
        found = list(session.exec(stmt).all())
        ids = [t.id for t in found if t.id is not None]
        held = problems.linked_ids(session, ids) | _in_major_incidents(session, ids)
        recent = [t for t in found if t.id not in held]
        groups = _groups(desk, session, recent, rules.by_person)
        # Reports an earlier candidate already counted are that fault told again, under
        # whichever key: a service and its item proposed last run is not the service alone
        # proposed this run.
        covered: set[int] = set()
        for counted in session.exec(
            select(ProblemCandidate.ticket_ids).where(
                col(ProblemCandidate.last_at) >= now - rules.window
            )
        ).all():
            covered |= set(counted)
        # The most precise first (service and item, then service, then person): a group
        # whose reports one before it just proposed is the same fault told twice.
        for key in sorted(groups, key=_precision):
            what, group = groups[key]
            since = _last_at(session, key)
            fresh = [t for t in group if since is None or t.created_at > since]
            if fresh and {t.id for t in fresh} <= covered:
                continue
            if "person" in what:
                count = len(fresh)
            else:
                count = (
                    len({t.requester_id for t in fresh}) if rules.distinct_reporters else len(fresh)
                )
            if count < rules.incidents:
                continue
            candidate = ProblemCandidate(
                key=key[:200],
                queue=Counter(t.queue for t in fresh).most_common(1)[0][0],
                service_id=what.get("service"),
                ci_id=what.get("ci"),
                person_id=what.get("person"),
                ticket_ids=[t.id for t in fresh if t.id is not None],
                reporters=len({t.requester_id for t in fresh}),
                last_at=max(t.created_at for t in fresh),
                created_at=now,
            )
            session.add(candidate)
            session.flush()
            covered |= {t.id for t in fresh if t.id is not None}
            ticket_repo.add_event(
                session=session,
                ticket=None,
                at=now,
                actor_id=None,
                kind="problem_candidate",
                note=key[:500],
                data={"candidate": candidate.id, "tickets": [t.number for t in fresh]},
            )
            post(desk, session, candidate, now)
            proposed += 1
    return proposed


# ---- the proposal -------------------------------------------------------------------------------


def targets(desk: Desk, queue: str) -> list[Person]:
    """The queue's lead, else its technicians, else the admins."""
    settings = desk.settings.queues.get(queue)
    lead = desk.directory.get(settings.lead) if settings is not None and settings.lead else None
    if lead is not None:
        return [lead]
    return desk.directory.technicians(queue) or desk.directory.admins()


def tickets_of(session: Session, candidate: ProblemCandidate) -> list[Ticket]:
    if not candidate.ticket_ids:
        return []
    stmt = select(Ticket).where(col(Ticket.id).in_(candidate.ticket_ids)).order_by(col(Ticket.id))
    return list(session.exec(stmt).all())


def what(desk: Desk, candidate: ProblemCandidate, lang: str) -> dict[str, str]:
    """The service, the item and the person a candidate is about, as people read them."""
    journey = desk.catalog.get(candidate.service_id) if candidate.service_id else None
    person = desk.directory.get(candidate.person_id)
    item = desk.content.cis.get(candidate.ci_id) if candidate.ci_id else None
    return {
        "service": journey.title.get(lang) if journey is not None else (candidate.service_id or ""),
        "item": item.name(lang) if item is not None else (candidate.ci_id or ""),
        "person": person.name if person is not None else (candidate.person_id or ""),
    }


def message(desk: Desk, session: Session, candidate: ProblemCandidate, person: Person) -> Message:
    lang = person.language
    tz = person.timezone
    rules = desk.settings.problems.recurring
    listed = []
    for ticket in tickets_of(session, candidate):
        requester = desk.directory.get(ticket.requester_id)
        listed.append(
            {
                "number": ticket.number,
                "title": ticket.title,
                "requester": requester.name if requester else ticket.requester_id,
                "when": describe_time(desk.texts, lang, ticket.created_at, tz),
            }
        )
    decider = desk.directory.get(candidate.decided_by)
    problem = problems.get(session, candidate.problem_id) if candidate.problem_id else None
    params: dict[str, Any] = {
        **what(desk, candidate, lang),
        "count": len(listed),
        "reporters": candidate.reporters,
        "days": rules.window.days,
        "incidents": listed,
        "status": candidate.status,
        "name": decider.name if decider is not None else "",
        "problem": problems.number(desk, problem) if problem is not None else "",
    }
    text = desk.texts.render(lang, "problems.candidate", **params)
    if candidate.status != "proposed":
        return Message(text=text)
    return Message(
        text=text,
        choices=(
            Choice(
                desk.texts.plain(lang, "problems.open_button"),
                button(PROBLEM, "open", candidate.id),
                "primary",
            ),
            Choice(
                desk.texts.plain(lang, "problems.dismiss_button"),
                button(PROBLEM, "dismiss", candidate.id),
            ),
        ),
    )


def post(desk: Desk, session: Session, candidate: ProblemCandidate, now: datetime) -> None:
    """Send the proposal, or edit it in place once decided (one message per person)."""
    for person in targets(desk, candidate.queue):
        key = f"pb:{candidate.id}:{person.id}"
        notify(
            session=session,
            to=home_address(desk, session, person),
            message=message(desk, session, candidate, person),
            key=key,
            idem_key=f"{key}:{candidate.status}",
            now=now,
        )
