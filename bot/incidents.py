"""Major incidents: many reports of one failure, handled as one problem.

1. **Detect** (the insight job, one replica per slot): when `major_incidents.threshold`
   different people report incidents of the same service, or without a service in words
   reading alike (rapidfuzz token_sort_ratio >= `similarity`), within `window`, the queue is
   alerted ("possible major incident") with Declare / Not a major incident buttons.
2. **Declare** (`mi:declare:<id>`, a technician of that queue): a problem ticket is opened
   and claimed, the reports are linked to it (audited on each ticket) and their requesters
   are told. Later reports of that service are linked as they arrive.
3. **Absorb**: a new request for that service (or one reading like it) is told "we know
   about it since 10:02" and linked instead of opening a duplicate; "My problem is
   something else" (`mi:other:<id>`) unlinks it and carries on as usual.
4. **Resolve**: resolving the problem ticket (`/resolve`) resolves every linked ticket through
   the lifecycle with the explanation and tells every linked person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, utils
from sqlalchemy import bindparam, or_, update
from sqlmodel import Session, col, select

from bot import problems, workflow
from bot.addresses import home_address
from bot.base.buttons import MENU, SERVICE, button
from bot.base.messages import Address, Choice, Message
from bot.base.texts import trusted
from bot.base.timefmt import describe_time
from bot.ci_tickets import impact_params
from bot.desk import Desk
from bot.tickets import triage_addresses
from bot.turn import Turn
from store import lifecycle
from store import tickets as ticket_repo
from store.models import IncidentLink, MajorIncident, Ticket
from store.outbox import notify
from store.sql import insert_ignore

PREFIX = "mi"  # button values: mi:declare:<id>, mi:dismiss:<id>, mi:other:<id>
SKIP_KEY = "mi_skip"  # conversation data: the person said their problem is something else
TEXT_KEY = "mi_text"
OPEN = ("suspected", "declared")
SAMPLE_CHARS = 80


# ---- matching reports -----------------------------------------------------------------------


def text_of(ticket: Ticket) -> str:
    """What the person said: a general request's own words, else the ticket's title."""
    said = ticket.answers.get("request") if isinstance(ticket.answers, dict) else None
    return str(said or ticket.title)


def similarity(a: str, b: str) -> float:
    return float(fuzz.token_sort_ratio(a, b, processor=utils.default_process))


def _matches(desk: Desk, incident: MajorIncident, service: str | None, text: str) -> bool:
    if incident.service_id is not None:
        return service == incident.service_id
    threshold = desk.settings.insight.major_incidents.similarity
    return service is None and similarity(incident.sample, text) >= threshold


def open_incidents(session: Session, statuses: Sequence[str] = OPEN) -> list[MajorIncident]:
    # Checked for every free-text request, and there is rarely one: a prebuilt Core
    # existence check answers the usual "none" without building and running an ORM query.
    session.flush()  # what an ORM query would see: this transaction's own changes
    if not session.connection().execute(_ANY_OPEN, {"statuses": list(statuses)}).scalar():
        return []
    stmt = (
        select(MajorIncident)
        .where(col(MajorIncident.status).in_(list(statuses)))
        .order_by(col(MajorIncident.id))
    )
    return list(session.exec(stmt).all())


_INCIDENT = MajorIncident.__table__  # type: ignore[attr-defined]
_ANY_OPEN = (
    select(_INCIDENT.c.id)
    .where(_INCIDENT.c.status.in_(bindparam("statuses", expanding=True)))
    .limit(1)
)


def links_of(session: Session, incident_id: int) -> list[IncidentLink]:
    stmt = (
        select(IncidentLink)
        .where(IncidentLink.incident_id == incident_id, IncidentLink.status == "linked")
        .order_by(col(IncidentLink.id))
    )
    return list(session.exec(stmt).all())


def reporters(session: Session, incident_id: int) -> int:
    """How many different people reported the incident (linked tickets and "me too"s)."""
    return len({link.person_id for link in links_of(session, incident_id)})


def linked_tickets(session: Session, incident_id: int) -> list[Ticket]:
    ids = [link.ticket_id for link in links_of(session, incident_id) if link.ticket_id]
    if not ids:
        return []
    stmt = select(Ticket).where(col(Ticket.id).in_(ids)).order_by(col(Ticket.id))
    return list(session.exec(stmt).all())


def what(desk: Desk, incident: MajorIncident, lang: str) -> str:
    """The failure as people read it: the service's title, or the reports' words."""
    journey = desk.catalog.get(incident.service_id) if incident.service_id else None
    if journey is not None:
        return journey.title.get(lang)
    sample = incident.sample
    return sample if len(sample) <= SAMPLE_CHARS else sample[: SAMPLE_CHARS - 1] + "…"


def staff_tz(desk: Desk, incident: MajorIncident) -> str:
    return str(desk.calendar_for(incident.queue).tz.key)


# ---- detection ------------------------------------------------------------------------------


def detect(desk: Desk, now: datetime) -> int:
    """Look for clusters of recent incident reports; returns how many reports were linked."""
    rules = desk.settings.insight.major_incidents
    if not rules.enabled:
        return 0
    with desk.store.begin() as session:
        desk.store.lock(session, "insight:major_incidents")
        stmt = (
            select(Ticket)
            .where(
                # Incidents, and requests without a service ("the shared drive is down").
                or_(col(Ticket.type) == "incident", col(Ticket.service_id).is_(None)),
                col(Ticket.type) != "problem",
                col(Ticket.created_at) >= now - rules.window,
                col(Ticket.created_at) <= now,
                col(Ticket.status).in_(ticket_repo.ACTIVE),
            )
            .order_by(col(Ticket.created_at), col(Ticket.id))
        )
        recent = list(session.exec(stmt).all())
        if not recent:
            return 0
        ids = [t.id for t in recent]
        taken = set(
            session.exec(
                select(IncidentLink.ticket_id).where(col(IncidentLink.ticket_id).in_(ids))
            ).all()
        )
        fresh = [t for t in recent if t.id not in taken]
        linked = 0
        rest: list[Ticket] = []
        incidents = open_incidents(session)
        grown: dict[int, MajorIncident] = {}
        for ticket in fresh:
            found = next(
                (i for i in incidents if _matches(desk, i, ticket.service_id, text_of(ticket))),
                None,
            )
            if found is None:
                rest.append(ticket)
                continue
            _attach(desk, session, found, ticket, now)
            assert found.id is not None
            grown[found.id] = found
            linked += 1
        for incident in grown.values():
            post_alert(desk, session, incident, now)
        for key, service, sample, group in _clusters(desk, rest):
            # People, not tickets: one person reporting five times is not an outage.
            if len({t.requester_id for t in group}) >= rules.threshold:
                _open_incident(desk, session, key, service, sample, group, now)
                linked += len(group)
        return linked


def _clusters(
    desk: Desk, tickets: Sequence[Ticket]
) -> list[tuple[str, str | None, str, list[Ticket]]]:
    """Reports grouped by service, and reports without a service grouped by their words."""
    threshold = desk.settings.insight.major_incidents.similarity
    by_service: dict[str, list[Ticket]] = {}
    by_text: list[tuple[str, list[Ticket]]] = []
    for ticket in tickets:
        if ticket.service_id:
            by_service.setdefault(ticket.service_id, []).append(ticket)
            continue
        said = text_of(ticket)
        for seed, group in by_text:
            if similarity(seed, said) >= threshold:
                group.append(ticket)
                break
        else:
            by_text.append((said, [ticket]))
    out: list[tuple[str, str | None, str, list[Ticket]]] = [
        (f"service:{sid}", sid, text_of(group[0]), group) for sid, group in by_service.items()
    ]
    out += [(f"text:{seed[:100]}", None, seed, group) for seed, group in by_text]
    return out


def _open_incident(
    desk: Desk,
    session: Session,
    key: str,
    service: str | None,
    sample: str,
    group: list[Ticket],
    now: datetime,
) -> MajorIncident:
    queue = Counter(t.queue for t in group).most_common(1)[0][0]
    incident = MajorIncident(
        key=key[:120],
        service_id=service,
        sample=sample[:2000],
        queue=queue,
        status="suspected",
        first_at=min(t.created_at for t in group),
        detected_at=now,
    )
    session.add(incident)
    session.flush()
    for ticket in group:
        _link_ticket(session, incident, ticket, now)
    post_alert(desk, session, incident, now)
    return incident


def _link_ticket(session: Session, incident: MajorIncident, ticket: Ticket, now: datetime) -> bool:
    return insert_ignore(
        session,
        IncidentLink,
        {
            "key": f"{incident.id}:t{ticket.id}",
            "incident_id": incident.id,
            "ticket_id": ticket.id,
            "person_id": ticket.requester_id,
            "channel": ticket.channel,
            "conversation": ticket.conversation,
            "language": ticket.language,
            "text": text_of(ticket)[:2000],
            "status": "linked",
            "created_at": now,
        },
    )


def _attach(
    desk: Desk, session: Session, incident: MajorIncident, ticket: Ticket, now: datetime
) -> None:
    """A new report of an open incident: link it; once declared, also tell its requester."""
    if not _link_ticket(session, incident, ticket, now):
        return
    if incident.status == "declared" and incident.problem_ticket_id is not None:
        problem = session.get(Ticket, incident.problem_ticket_id)
        if problem is not None:
            mark_linked(desk, session, incident, problem, ticket, None, now)


def mark_linked(
    desk: Desk,
    session: Session,
    incident: MajorIncident,
    problem: Ticket,
    ticket: Ticket,
    actor_id: str | None,
    now: datetime,
) -> None:
    """Audit the link on the report and tell its requester that IT handles it as one."""
    if problem.id is not None:
        record = problems.of_work_ticket(session, problem.id)
        if record is not None:
            problems.link(
                desk, session, record, ticket, how="major_incident", actor_id=actor_id, now=now
            )
    try:
        event = lifecycle.transition(
            session=session,
            ticket=ticket,
            actor_id=actor_id,
            now=now,
            kind="linked_to_problem",
            note=problem.number,
            data={"problem": problem.number, "incident": incident.id},
        )
    except lifecycle.Conflict:
        return  # changed meanwhile; it stays linked and is resolved with the problem
    workflow.tell_requester(
        desk,
        session,
        ticket,
        event,
        "insight.incident.told_linked",
        now=now,
        problem=problem.number,
        what=what(desk, incident, ticket.language),
    )


# ---- alerting the queue -----------------------------------------------------------------------


def alert_targets(desk: Desk, session: Session, queue: str) -> list[tuple[Address, str]]:
    """(address, edit key): the queue's triage channels, else its technicians, else its lead,
    else the admins, each in their private chat."""
    triage = triage_addresses(desk, queue)
    if triage:
        return [(a, "") for a in triage]
    people = desk.directory.technicians(queue)
    if not people:
        lead = desk.settings.queues[queue].lead if queue in desk.settings.queues else None
        person = desk.directory.present(lead)
        people = [person] if person is not None else desk.directory.admins()
    return [(home_address(desk, session, p), p.id) for p in people]


def _alert_message(desk: Desk, session: Session, incident: MajorIncident) -> Message:
    lang = desk.settings.language
    texts = desk.texts
    tickets = linked_tickets(session, incident.id or 0)
    reports = reporters(session, incident.id or 0)
    journey = desk.catalog.get(incident.service_id) if incident.service_id else None
    service = journey.title.get(lang) if journey is not None else ""
    common: dict[str, Any] = {
        "count": reports,
        "service": service,
        "sample": what(desk, incident, lang),
        "what": what(desk, incident, lang),
        "impact": _impact(desk, session, incident, lang),
    }
    decider = desk.directory.get(incident.decided_by)
    name = decider.name if decider is not None else ""
    problem = (
        session.get(Ticket, incident.problem_ticket_id) if incident.problem_ticket_id else None
    )
    number = problem.number if problem is not None else ""
    if incident.status == "suspected":
        since = describe_time(texts, lang, incident.first_at, staff_tz(desk, incident))
        numbers = ", ".join(t.number for t in tickets)
        return Message(
            text=texts.render(
                lang, "insight.incident.alert", since=since, numbers=numbers, **common
            ),
            choices=(
                Choice(
                    texts.plain(lang, "insight.incident.declare"),
                    f"{PREFIX}:declare:{incident.id}",
                    "danger",
                ),
                Choice(
                    texts.plain(lang, "insight.incident.dismiss"), f"{PREFIX}:dismiss:{incident.id}"
                ),
            ),
        )
    if incident.status == "declared":
        key = "insight.incident.alert_declared"
    elif incident.status == "dismissed":
        key = "insight.incident.alert_dismissed"
    else:
        key = "insight.incident.alert_resolved"
    return Message(
        text=texts.render(lang, key, name=name, number=number, note=incident.note, **common)
    )


def _impact(desk: Desk, session: Session, incident: MajorIncident, lang: str) -> str:
    """The items behind the incident, and the people and services depending on them."""
    params = impact_params(desk, session, incident, lang)
    return trusted(desk.texts.render(lang, "ci.impact", **params)) if params else ""


def post_alert(
    desk: Desk, session: Session, incident: MajorIncident, now: datetime, reason: str = ""
) -> None:
    """Post the alert, or edit it in place: same key per target, so it stays one message.
    `reason`: what changed when neither the status nor the reports did (an item linked)."""
    message = _alert_message(desk, session, incident)
    reports = reporters(session, incident.id or 0)
    for address, person in alert_targets(desk, session, incident.queue):
        key = f"mi:{incident.id}" + (f":{person}" if person else "")
        notify(
            session=session,
            to=address,
            message=message,
            key=key,
            idem_key=f"{key}:{incident.status}:{reports}:{address.channel}:{address.conversation}"
            + (f":{reason}" if reason else ""),
            now=now,
        )


# ---- declaring and dismissing (buttons) ------------------------------------------------------


# ---- new requests during a declared incident (hooks in conversation / understanding) ---------


def absorb_service(turn: Turn, service_id: str, service_type: str) -> bool:
    """At the start of an incident journey: True when a declared major incident covers it
    (the person was told and linked instead of opening a duplicate)."""
    if service_type != "incident":
        return False
    if turn.data.pop(SKIP_KEY, None) == service_id:
        return False  # they said their problem is something else
    for incident in open_incidents(turn.session, ("declared",)):
        if incident.service_id == service_id:
            _absorb(turn, incident, "")
            return True
    return False


def absorb_text(turn: Turn, text: str) -> bool:
    """A free-text request reading like a declared incident without a service: True when
    the person was told and linked."""
    if turn.data.pop(SKIP_KEY, None) == "text":
        return False
    threshold = turn.desk.settings.insight.major_incidents.similarity
    for incident in open_incidents(turn.session, ("declared",)):
        if incident.service_id is None and similarity(incident.sample, text) >= threshold:
            turn.data[TEXT_KEY] = text
            _absorb(turn, incident, text)
            return True
    return False


def _absorb(turn: Turn, incident: MajorIncident, text: str) -> None:
    session = turn.session
    problem = (
        session.get(Ticket, incident.problem_ticket_id) if incident.problem_ticket_id else None
    )
    if problem is None or incident.id is None:
        return
    has_ticket = any(
        t.requester_id == turn.person.id and t.status in ticket_repo.ACTIVE
        for t in linked_tickets(session, incident.id)
    )
    if not has_ticket:
        values = {
            "key": f"{incident.id}:p{turn.person.id}",
            "incident_id": incident.id,
            "ticket_id": None,
            "person_id": turn.person.id,
            "channel": turn.inbound.channel,
            "conversation": turn.inbound.conversation,
            "language": turn.language,
            "text": text[:2000],
            "status": "linked",
            "created_at": turn.now,
        }
        if not insert_ignore(session, IncidentLink, values):
            # Asked again (or after saying it was something else): linked, told here.
            session.execute(
                update(IncidentLink)
                .where(col(IncidentLink.key) == values["key"])
                .values(
                    status="linked",
                    channel=values["channel"],
                    conversation=values["conversation"],
                    language=values["language"],
                )
            )
        ticket_repo.add_event(
            session=session,
            ticket=problem,
            at=turn.now,
            actor_id=turn.person.id,
            kind="incident_linked",
            note=text[:500],
            data={"incident": incident.id, "channel": turn.inbound.channel},
        )
        post_alert(turn.desk, session, incident, turn.now)
    turn.data.pop("pending_text", None)
    turn.reply(
        Message(
            text=turn.t(
                "insight.incident.known",
                what=what(turn.desk, incident, turn.language),
                since=since_text(turn, incident.first_at),
                number=problem.number,
            ),
            choices=(
                Choice(turn.plain("insight.incident.different"), f"{PREFIX}:other:{incident.id}"),
            ),
        )
    )


# ---- resolving the problem (hook in the resolve verb) ---------------------------------------


def on_problem_resolved(turn: Turn, problem: Ticket, note: str) -> None:
    """Resolve every linked ticket with the explanation and tell every linked person."""
    session, desk, now = turn.session, turn.desk, turn.now
    if problem.type != "problem" or problem.id is None:
        return
    found = session.exec(
        select(MajorIncident).where(
            MajorIncident.problem_ticket_id == problem.id, MajorIncident.status == "declared"
        )
    ).first()
    if found is None or found.id is None:
        return
    won = session.execute(
        update(MajorIncident)
        .where(col(MajorIncident.id) == found.id, col(MajorIncident.status) == "declared")
        .values(status="resolved", resolved_at=now, note=note)
        .returning(col(MajorIncident.id))
    ).first()
    if won is None:
        return
    session.refresh(found)
    people = tickets = 0
    for link in links_of(session, found.id):
        if link.ticket_id is not None:
            ticket = session.get(Ticket, link.ticket_id)
            if ticket is not None and workflow.resolve_behind(
                turn,
                ticket,
                note,
                {"problem": problem.number, "incident": found.id},
                "insight.incident.resolved_ticket",
                what=what(turn.desk, found, ticket.language),
            ):
                tickets += 1
                people += 1
            continue
        if link.channel is None or link.conversation is None:
            continue
        lang = link.language
        again = button(SERVICE, found.service_id) if found.service_id else button(MENU, "human")
        notify(
            session=session,
            to=Address(link.channel, link.conversation, link.person_id),
            message=Message(
                text=desk.texts.render(
                    lang,
                    "insight.incident.resolved_person",
                    what=what(desk, found, lang),
                    note=note,
                ),
                choices=(Choice(desk.texts.plain(lang, "insight.incident.still_broken"), again),),
            ),
            idem_key=f"mi:{found.id}:resolved:{link.id}",
            now=now,
        )
        people += 1
    post_alert(desk, session, found, now)
    turn.say("insight.incident.resolved_summary", people=people, tickets=tickets)


def since_text(turn: Turn, moment: datetime) -> str:
    tz = turn.person.timezone
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    if moment.astimezone(zone).date() == turn.now.astimezone(zone).date():
        return moment.astimezone(zone).strftime("%H:%M")
    return describe_time(turn.desk.texts, turn.language, moment, tz)
