"""Problem records: the cause behind incidents, worked until it is found and fixed.

A problem (`store.models.Problem`, shown as `PRB-12`, prefix `problems.prefix`) is opened
by a technician from an incident (`/problem IT-1042 title`), from a recurring-fault proposal
(`bot/recurring.py`) or by declaring a major incident (`bot/chat/incidents.py`). Its work
(queue, owner, SLA, notes) is a ticket of type `problem`; the record adds the root cause, the
workaround and a status: investigating -> known_error (a root cause or a workaround is
recorded) -> resolved (its work ticket is resolved). Every change is an event on the work
ticket, and linking also on the incident (docs/problems.md).

While a problem is open, a new incident of its service is linked to it and its reporter is
offered the workaround; publishing the workaround makes a known-error article through the
`/kb` path (`bot.known_errors`). Resolving the problem resolves its open incidents and asks
their requesters to confirm (Fixed / Not fixed), as `/resolve` does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot import known_errors, workflow
from bot.desk import Desk
from bot.directory import Person
from bot.tickets import open_ticket, status_label
from bot.turn import Turn
from store import ci_links, lifecycle
from store import tickets as ticket_repo
from store.models import KnowledgeArticle, Problem, ProblemLink, Ticket
from store.sql import insert_ignore

STATUSES = ("investigating", "known_error", "resolved")
OPEN = ("investigating", "known_error")
TITLE_CHARS = (3, 300)
FIELDS = ("root_cause", "workaround")


# ---- numbers and lookups --------------------------------------------------------------------


def number(desk: Desk, problem: Problem) -> str:
    return f"{desk.settings.problems.prefix}-{problem.id}"


def parse_number(desk: Desk, raw: str) -> int | None:
    """`PRB-12` (any case) -> 12; anything else -> None."""
    prefix, dash, digits = raw.strip().lstrip("#").upper().partition("-")
    if dash and prefix == desk.settings.problems.prefix and digits.isdigit():
        return int(digits)
    return None


def get(session: Session, problem_id: int) -> Problem | None:
    return session.get(Problem, problem_id)


def of_work_ticket(session: Session, ticket_id: int) -> Problem | None:
    """The problem whose work ticket this is."""
    return session.exec(select(Problem).where(Problem.ticket_id == ticket_id)).first()


def of_incident(session: Session, ticket_id: int) -> Problem | None:
    """The problem an incident is linked to (the open one first, else the latest)."""
    rows = session.exec(
        select(Problem)
        .join(ProblemLink, col(ProblemLink.problem_id) == col(Problem.id))
        .where(col(ProblemLink.ticket_id) == ticket_id, col(ProblemLink.status) == "linked")
        .order_by(col(Problem.id).desc())
    ).all()
    return next((p for p in rows if p.status in OPEN), rows[0] if rows else None)


def work_ticket(session: Session, problem: Problem) -> Ticket:
    ticket = session.get(Ticket, problem.ticket_id)
    assert ticket is not None  # a foreign key
    return ticket


def linked(session: Session, problem_id: int) -> list[Ticket]:
    """The incidents linked to a problem, oldest first."""
    return list(
        session.exec(
            select(Ticket)
            .join(ProblemLink, col(ProblemLink.ticket_id) == col(Ticket.id))
            .where(col(ProblemLink.problem_id) == problem_id, col(ProblemLink.status) == "linked")
            .order_by(col(Ticket.id))
        ).all()
    )


def linked_ids(session: Session, among: list[int]) -> set[int]:
    """Which of the tickets `among` are linked to some problem."""
    if not among:
        return set()
    rows = session.exec(
        select(ProblemLink.ticket_id).where(
            col(ProblemLink.status) == "linked", col(ProblemLink.ticket_id).in_(among)
        )
    )
    return set(rows.all())


def open_problems(session: Session, queues: list[str] | None = None) -> list[Problem]:
    stmt = select(Problem).where(col(Problem.status).in_(OPEN)).order_by(col(Problem.id))
    rows = list(session.exec(stmt).all())
    if queues is None:
        return rows
    return [p for p in rows if work_ticket(session, p).queue in queues]


def for_service(session: Session, service_id: str) -> list[Problem]:
    """Open problems of a service, newest first."""
    stmt = (
        select(Problem)
        .where(col(Problem.status).in_(OPEN), col(Problem.service_id) == service_id)
        .order_by(col(Problem.id).desc())
    )
    return list(session.exec(stmt).all())


def items_of(desk: Desk, session: Session, ticket_id: int) -> list[str]:
    """The configuration items a ticket concerns, without devices: a person's own laptop
    says who reported, not what failed."""
    out = []
    for ci_id in ci_links.cis_of(session, ticket_id):
        item = desk.content.cis.get(ci_id)
        if item is None or item.kind != "device":
            out.append(ci_id)
    return out


def matching(desk: Desk, session: Session, ticket: Ticket) -> list[Problem]:
    """Open problems a new incident may belong to: the same service, or a configuration
    item in common with the problem's; newest first."""
    assert ticket.id is not None
    candidates = open_problems(session)
    if not candidates:
        return []
    items = set(items_of(desk, session, ticket.id))
    found = []
    for problem in reversed(candidates):
        if ticket.service_id and problem.service_id == ticket.service_id:
            found.append(problem)
        elif items and items & set(ci_links.cis_of(session, problem.ticket_id)):
            found.append(problem)
    return found


# ---- opening and linking ----------------------------------------------------------------------


def _audit(
    session: Session,
    desk: Desk,
    problem: Problem,
    ticket: Ticket,
    kind: str,
    actor_id: str | None,
    now: datetime,
    note: str = "",
    **data: Any,
) -> None:
    ticket_repo.add_event(
        session=session,
        ticket=ticket,
        at=now,
        actor_id=actor_id,
        kind=kind,
        note=note,
        data={"problem": number(desk, problem), **data},
    )


def open_problem(
    desk: Desk,
    session: Session,
    *,
    actor: Person,
    title: str,
    service_id: str | None,
    queue: str,
    incidents: list[Ticket],
    how: str,
    now: datetime,
    work: Ticket | None = None,
    incident_id: int | None = None,
    items: tuple[str, ...] = (),
) -> Problem:
    """Open a problem (and its work ticket, claimed by `actor`, unless `work` is given) and
    link `incidents` to it. The work ticket concerns `items` and the incidents' items."""
    if work is None:
        staff = desk.settings.language
        work = open_ticket(
            desk,
            session,
            requester=actor,
            service_id=service_id,
            ticket_type="problem",
            title=title[:300],
            description=desk.texts.render_text(
                str(desk.texts.raw(staff, "problems.description")),
                numbers=[f"{t.number}: {t.title}" for t in incidents],
            ),
            priority=desk.settings.problems.priority,
            queue=queue,
            answers={"incidents": [t.number for t in incidents]},
            origin=None,
            language=staff,
            now=now,
        )
        event = lifecycle.transition(
            session=session,
            ticket=work,
            actor_id=actor.id,
            now=now,
            kind="claimed",
            to="in_progress",
            values={"assignee_id": actor.id, "first_response_at": now},
        )
        workflow.refresh_triage(desk, session, work, now, event)
    assert work.id is not None
    problem = Problem(
        ticket_id=work.id,
        title=title[:300],
        service_id=service_id,
        status="investigating",
        incident_id=incident_id,
        created_by=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(problem)
    session.flush()
    _audit(session, desk, problem, work, "problem_opened", actor.id, now, title, how=how)
    for incident in incidents:
        link(desk, session, problem, incident, how=how, actor_id=actor.id, now=now)
    concerned = list(items)
    for incident in incidents:
        concerned += items_of(desk, session, incident.id or 0)
    for ci_id in dict.fromkeys(concerned):
        ci_links.link_ci(session, work.id, ci_id, "problem", now)
    return problem


def link(
    desk: Desk,
    session: Session,
    problem: Problem,
    incident: Ticket,
    *,
    how: str,
    actor_id: str | None,
    now: datetime,
) -> bool:
    """Link an incident (again); False if it was linked already. Audited on both tickets."""
    assert problem.id is not None and incident.id is not None
    values = {
        "problem_id": problem.id,
        "ticket_id": incident.id,
        "status": "linked",
        "how": how,
        "actor_id": actor_id,
        "created_at": now,
    }
    if not insert_ignore(session, ProblemLink, values):
        relinked = session.execute(
            update(ProblemLink)
            .where(
                col(ProblemLink.problem_id) == problem.id,
                col(ProblemLink.ticket_id) == incident.id,
                col(ProblemLink.status) == "unlinked",
            )
            .values(status="linked", how=how, actor_id=actor_id)
            .returning(col(ProblemLink.id))
        ).first()
        if relinked is None:
            return False
    work = work_ticket(session, problem)
    _audit(
        session,
        desk,
        problem,
        incident,
        "problem_linked",
        actor_id,
        now,
        number(desk, problem),
        how=how,
    )
    _audit(
        session,
        desk,
        problem,
        work,
        "problem_incident_linked",
        actor_id,
        now,
        incident.number,
        how=how,
    )
    return True


def unlink(
    desk: Desk, session: Session, problem: Problem, incident: Ticket, actor_id: str, now: datetime
) -> bool:
    """False if the incident was not linked."""
    done = session.execute(
        update(ProblemLink)
        .where(
            col(ProblemLink.problem_id) == problem.id,
            col(ProblemLink.ticket_id) == incident.id,
            col(ProblemLink.status) == "linked",
        )
        .values(status="unlinked", actor_id=actor_id)
        .returning(col(ProblemLink.id))
    ).first()
    if done is None:
        return False
    work = work_ticket(session, problem)
    _audit(
        session, desk, problem, incident, "problem_unlinked", actor_id, now, number(desk, problem)
    )
    _audit(
        session, desk, problem, work, "problem_incident_unlinked", actor_id, now, incident.number
    )
    return True


# ---- root cause, workaround, status ------------------------------------------------------------


def set_status(
    desk: Desk, session: Session, problem: Problem, to: str, actor_id: str | None, now: datetime
) -> bool:
    """Move the record to `to` (audited); False if it was there already."""
    assert to in STATUSES
    if problem.status == to:
        return False
    was = problem.status
    problem.status = to
    problem.updated_at = now
    if to == "resolved":
        problem.resolved_at = now
    session.add(problem)
    session.flush()
    work = work_ticket(session, problem)
    _audit(session, desk, problem, work, "problem_status", actor_id, now, to, was=was, to=to)
    return True


def record(
    desk: Desk,
    session: Session,
    problem: Problem,
    field: str,
    text: str,
    actor_id: str,
    now: datetime,
) -> bool:
    """Record the root cause or the workaround (audited). The first one makes an open
    problem a known error; returns whether the status changed."""
    assert field in FIELDS
    setattr(problem, field, text)
    problem.updated_at = now
    session.add(problem)
    session.flush()
    work = work_ticket(session, problem)
    _audit(session, desk, problem, work, field, actor_id, now, text)
    if problem.status == "investigating":
        return set_status(desk, session, problem, "known_error", actor_id, now)
    return False


def publish(
    desk: Desk, session: Session, problem: Problem, actor_id: str, now: datetime
) -> tuple[KnowledgeArticle, bool]:
    """The workaround becomes a known-error article (the `/kb` path: stored, offered by
    self-help in the problem's service at once). Call only with a workaround."""
    assert problem.workaround.strip()
    work = work_ticket(session, problem)
    low, high = known_errors.TITLE_CHARS
    title = " ".join(problem.title.split())[:high]
    if len(title) < low:
        title = number(desk, problem)
    row, created = known_errors.save_article(
        desk, session, work, title=title, body=problem.workaround, by=actor_id, now=now
    )
    ticket_repo.add_event(
        session=session,
        ticket=work,
        at=now,
        actor_id=actor_id,
        kind="kb_article",
        note=row.article_id,
        data={"article": row.article_id, "created": created, "problem": number(desk, problem)},
    )
    problem.article_id = row.article_id
    problem.updated_at = now
    session.add(problem)
    session.flush()
    known_errors.refresh(desk, session=session, matcher=False)
    return row, created


# ---- new reports while a problem is open ------------------------------------------------------


def offer_workaround(turn: Turn, ticket: Ticket) -> bool:
    """A new incident of the service or a configuration item of an open problem that has a
    workaround: link it and tell the reporter the workaround. True when offered."""
    desk = turn.desk
    if not desk.settings.problems.offer_workaround or ticket.type != "incident":
        return False
    found = next((p for p in matching(desk, turn.session, ticket) if p.workaround), None)
    if found is None:
        return False
    link(desk, turn.session, found, ticket, how="reported", actor_id=None, now=turn.now)
    turn.say(
        "problems.offered",
        number=ticket.number,
        problem=number(desk, found),
        title=found.title,
        workaround=found.workaround,
    )
    return True


# ---- resolving ----------------------------------------------------------------------------------


def on_work_resolved(turn: Turn, work: Ticket, note: str) -> None:
    """The problem's work ticket was resolved (`/resolve`, `/problem PRB-12 resolve`): the
    record is resolved, and each open linked incident is resolved with the explanation and
    its requester asked to confirm (Fixed / Not fixed)."""
    if work.id is None:
        return
    problem = of_work_ticket(turn.session, work.id)
    if problem is None or not set_status(
        turn.desk, turn.session, problem, "resolved", turn.person.id, turn.now
    ):
        return
    resolved = 0
    for incident in linked(turn.session, problem.id or 0):
        if workflow.resolve_behind(
            turn,
            incident,
            note,
            {"problem": number(turn.desk, problem)},
            "problems.told_resolved",
            problem=problem.title,
        ):
            resolved += 1
    if resolved or problem.incident_id is None:
        turn.say("problems.resolved_summary", problem=number(turn.desk, problem), count=resolved)


def _item_name(desk: Desk, ci_id: str, lang: str) -> str:
    item = desk.content.cis.get(ci_id)
    return item.name(lang) if item is not None else ci_id


# ---- showing ------------------------------------------------------------------------------------


def view(desk: Desk, session: Session, problem: Problem, lang: str) -> dict[str, Any]:
    """What `/problem PRB-12` shows, as template parameters."""
    work = work_ticket(session, problem)
    owner = desk.directory.get(work.assignee_id)
    journey = desk.catalog.get(problem.service_id) if problem.service_id else None
    incidents = []
    for ticket in linked(session, problem.id or 0):
        requester = desk.directory.get(ticket.requester_id)
        incidents.append(
            {
                "number": ticket.number,
                "title": ticket.title,
                "status": status_label(desk, ticket.status, lang),
                "requester": requester.name if requester else ticket.requester_id,
            }
        )
    return {
        "problem": number(desk, problem),
        "title": problem.title,
        "status": desk.texts.plain(lang, f"problems.status.{problem.status}"),
        "service": journey.title.get(lang) if journey is not None else "",
        "queue": desk.queue_name(work.queue, lang),
        "owner": owner.name if owner is not None else "",
        "work": work.number,
        "root_cause": problem.root_cause,
        "workaround": problem.workaround,
        "article": problem.article_id or "",
        "items": [_item_name(desk, c, lang) for c in ci_links.cis_of(session, problem.ticket_id)],
        "incidents": incidents,
    }
