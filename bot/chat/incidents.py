"""Major-incident buttons: the queue lead declares or dismisses a suspected incident, and a
reporter says "my problem is something else"."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col

from bot import ci_tickets, permissions, problems, workflow
from bot.base.timefmt import describe_time
from bot.chat import conversation, understanding
from bot.incidents import (
    SKIP_KEY,
    TEXT_KEY,
    linked_tickets,
    mark_linked,
    post_alert,
    staff_tz,
    what,
)
from bot.tickets import open_ticket
from bot.turn import Turn
from store import lifecycle
from store.models import IncidentLink, MajorIncident
from store.sql import decide_once, row_id


def on_button(turn: Turn, rest: str) -> None:
    """`mi:declare:<id>`, `mi:dismiss:<id>` (technicians of the queue), `mi:other:<id>`."""
    action, _, raw = rest.partition(":")
    incident_id = row_id(raw)
    incident = turn.session.get(MajorIncident, incident_id) if incident_id is not None else None
    if incident is None or incident.id is None:
        turn.say("insight.incident.gone")
        return
    if action == "other":
        _unlink(turn, incident)
        return
    if action not in ("declare", "dismiss"):
        turn.say("errors.unknown_button")
        return
    if not permissions.may_work_queue(turn.person, incident.queue):
        permissions.refuse(
            turn,
            f"{action} major incident",
            key="perm.not_your_queue_name",
            queue=turn.desk.queue_name(incident.queue, turn.language),
        )
        return
    to = "declared" if action == "declare" else "dismissed"
    assert incident.id is not None
    won = decide_once(
        turn.session, MajorIncident, incident.id, "suspected", to, turn.person.id, turn.now
    )
    if not won:
        status = turn.plain(f"insight.incident.status.{incident.status}")
        turn.say("insight.incident.already", status=status)
        return
    if to == "declared":
        _declare(turn, incident)
    else:
        post_alert(turn.desk, turn.session, incident, turn.now)
        turn.say("insight.incident.dismissed")


def _declare(turn: Turn, incident: MajorIncident) -> None:
    desk, session, now = turn.desk, turn.session, turn.now
    staff = desk.settings.language
    tickets = linked_tickets(session, incident.id or 0)
    journey = desk.catalog.get(incident.service_id) if incident.service_id else None
    since = describe_time(desk.texts, staff, incident.first_at, staff_tz(desk, incident))
    title = desk.texts.plain(
        staff, "insight.incident.problem_title", what=what(desk, incident, staff)
    )
    description = desk.texts.render_text(
        str(desk.texts.raw(staff, "insight.incident.problem_description")),
        count=len(tickets),
        since=since,
        numbers=[f"{t.number}: {t.title}" for t in tickets],
    )
    problem = open_ticket(
        desk,
        session,
        requester=turn.person,
        service_id=incident.service_id,
        ticket_type="problem",
        title=title[:300],
        description=description,
        priority=desk.settings.insight.major_incidents.priority,
        queue=incident.queue,
        answers={"reports": len(tickets)},
        origin=None,
        language=staff,
        now=now,
        sla_policy=journey.sla if journey is not None else "standard",
    )
    event = lifecycle.transition(
        session=session,
        ticket=problem,
        actor_id=turn.person.id,
        now=now,
        kind="claimed",
        to="in_progress",
        values={"assignee_id": turn.person.id, "first_response_at": now},
        data={"incident": incident.id},
    )
    workflow.refresh_triage(desk, session, problem, now, event)
    incident.problem_ticket_id = problem.id
    session.add(incident)
    session.flush()
    ci_tickets.link_problem(desk, session, incident, problem, turn.person.id, now)
    # The problem record on the same ticket: root cause, workaround, the reports linked
    # (by mark_linked below, and as later reports arrive).
    problems.open_problem(
        desk,
        session,
        actor=turn.person,
        title=title[:300],
        service_id=incident.service_id,
        queue=incident.queue,
        incidents=[],
        how="major_incident",
        now=now,
        work=problem,
        incident_id=incident.id,
    )
    for ticket in tickets:
        mark_linked(desk, session, incident, problem, ticket, turn.person.id, now)
    post_alert(desk, session, incident, now)
    turn.say(
        "insight.incident.declared",
        number=problem.number,
        what=what(desk, incident, turn.language),
        count=len(tickets),
    )


def _unlink(turn: Turn, incident: MajorIncident) -> None:
    """ "My problem is something else": drop the link and carry on as if nothing matched."""
    turn.session.execute(
        update(IncidentLink)
        .where(
            col(IncidentLink.key) == f"{incident.id}:p{turn.person.id}",
            col(IncidentLink.status) == "linked",
        )
        .values(status="unlinked")
    )
    turn.say("insight.incident.unlinked")
    if incident.service_id is not None:
        turn.data[SKIP_KEY] = incident.service_id
        conversation.start_service(turn, incident.service_id, understood=False)
        turn.data.pop(SKIP_KEY, None)
        return
    text = str(turn.data.pop(TEXT_KEY, "") or "")
    if text:
        turn.data[SKIP_KEY] = "text"
        understanding.understand(turn, text)
        turn.data.pop(SKIP_KEY, None)
