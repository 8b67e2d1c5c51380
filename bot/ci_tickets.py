"""Tickets and configuration items (docs/cis.md): which items a new ticket concerns, links
made and removed by technicians (each audited on the ticket), what is known about one item
(open tickets, recent changes, problems, owner, relations), and who and what depends on
the item behind a major incident."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.cis import Cmdb, ConfigurationItem
from bot.desk import Desk
from bot.directory import Person
from journeys.model import AskStep, ChooseStep, Journey, TicketStep
from store import ci_links
from store import tickets as repo
from store.models import IncidentLink, MajorIncident, Ticket, TicketEvent

LIST_LIMIT = 10  # tickets of each kind shown for an item
NAMES_LIMIT = 8  # people or items named in a major-incident alert (the rest counted)
# The tickets whose requester's own device is linked: what a person reports or asks for.
# A change or a problem is raised by staff about systems, not about their own laptop.
DEVICE_TYPES = ("incident", "request")


# ---- at ticket creation ---------------------------------------------------------------------


def journey_items(cmdb: Cmdb, journey: Journey, answers: dict[str, object]) -> list[str]:
    """The items the journey's answers name: a chosen option's `ci`, an answer to an ask
    step with `ci: true` (found by name or alias), and the ticket step's `cis`."""
    found: list[str] = []
    for step in journey.steps:
        if isinstance(step, ChooseStep):
            chosen = answers.get(step.id)
            found += [o.ci for o in step.options if o.ci and o.value == chosen]
        elif isinstance(step, AskStep) and step.ci:
            said = answers.get(step.id)
            item = cmdb.find_in(said) if isinstance(said, str) and said.strip() else None
            if item is not None:
                found.append(item.id)
        elif isinstance(step, TicketStep):
            found += step.cis
    return [ci for ci in dict.fromkeys(found) if cmdb.get(ci) is not None]


def link_new_ticket(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    requester: Person,
    answers: dict[str, object],
    now: datetime,
) -> list[str]:
    """Link a new ticket to the items it concerns; returns their ids. The requester's own
    devices where the service concerns such a device, then the items its answers name (for
    a change: the items it touches)."""
    cmdb = desk.content.cis
    links: list[tuple[str, str]] = []
    if ticket.type in DEVICE_TYPES and ticket.service_id:
        links += [
            (d.id, "requester_device")
            for d in cmdb.devices_of(requester.id, active_only=True)
            if ticket.service_id in d.services
        ]
    journey = desk.catalog.get(ticket.service_id) if ticket.service_id else None
    if journey is not None:
        how = {"change": "change", "problem": "problem"}.get(ticket.type, "journey_answer")
        links += [(ci, how) for ci in journey_items(cmdb, journey, answers)]
    made: list[str] = []
    for ci_id, how in links:
        if link(session, ticket, ci_id, how, None, now):
            made.append(ci_id)
    return made


# ---- linking and unlinking, audited ---------------------------------------------------------


def link(
    session: Session, ticket: Ticket, ci_id: str, how: str, actor_id: str | None, now: datetime
) -> TicketEvent | None:
    """Link the item to the ticket and audit it; None when they were linked already."""
    assert ticket.id is not None
    if not ci_links.link_ci(session, ticket.id, ci_id, how, now):
        return None
    return repo.add_event(
        session=session,
        ticket=ticket,
        at=now,
        actor_id=actor_id,
        kind="ci_linked",
        note=ci_id,
        data={"ci": ci_id, "how": how},
    )


def unlink(
    session: Session, ticket: Ticket, ci_id: str, actor_id: str, now: datetime
) -> TicketEvent | None:
    """Remove the link and audit it; None when there was none."""
    assert ticket.id is not None
    if not ci_links.unlink_ci(session, ticket.id, ci_id):
        return None
    return repo.add_event(
        session=session,
        ticket=ticket,
        at=now,
        actor_id=actor_id,
        kind="ci_unlinked",
        note=ci_id,
        data={"ci": ci_id},
    )


def names_of(desk: Desk, session: Session, ticket: Ticket, lang: str) -> list[str]:
    """The names of the items linked to the ticket (an id no longer in cis.yaml as is)."""
    assert ticket.id is not None
    cmdb = desk.content.cis
    out = []
    for ci_id in ci_links.cis_of(session, ticket.id):
        item = cmdb.get(ci_id)
        out.append(item.name(lang) if item is not None else ci_id)
    return out


def item_rows(desk: Desk, session: Session, ticket: Ticket, lang: str) -> list[dict[str, str]]:
    """The items linked to the ticket, oldest link first: id, name and how linked."""
    assert ticket.id is not None
    cmdb = desk.content.cis
    rows = []
    for link in ci_links.links_of(session, ticket.id):
        item = cmdb.get(link.ci_id)
        rows.append(
            {
                "id": link.ci_id,
                "name": item.name(lang) if item is not None else link.ci_id,
                "how": desk.texts.plain(lang, f"ci.how.{link.how}"),
            }
        )
    return rows


# ---- what is known about one item -----------------------------------------------------------


@dataclass(frozen=True)
class ItemReport:
    item: ConfigurationItem
    owner: Person | None
    runs_on: list[ConfigurationItem]
    depends_on: list[ConfigurationItem]
    used_by: list[ConfigurationItem]
    dependents: list[ConfigurationItem]
    open_tickets: list[tuple[Ticket, str]]  # (ticket, how linked), newest first
    changes: list[tuple[Ticket, str]]
    problems: list[tuple[Ticket, str]]
    hidden: int = 0  # linked tickets the asker may not see (other teams' queues)


def report(
    desk: Desk,
    session: Session,
    item: ConfigurationItem,
    visible: Callable[[Ticket], bool] | None = None,
) -> ItemReport:
    """Open tickets (incidents and requests), recent changes (change tickets, newest first)
    and problems (linked as a problem or of type problem, open ones first) of `item`;
    `visible`: which tickets the asker may see (the rest are only counted)."""
    cmdb = desk.content.cis
    everything = ci_links.linked_tickets(session, item.id)
    linked = [(t, how) for t, how in everything if visible is None or visible(t)]
    changes = [(t, how) for t, how in linked if t.type == "change"]
    problems = [(t, how) for t, how in linked if t.type == "problem" or how == "problem"]
    problems.sort(key=lambda pair: pair[0].status not in repo.ACTIVE)  # stable: newest first
    taken = {t.id for t, _ in changes} | {t.id for t, _ in problems}
    open_tickets = [(t, how) for t, how in linked if t.status in repo.ACTIVE and t.id not in taken]

    def items(ids: Sequence[str]) -> list[ConfigurationItem]:
        return [i for i in (cmdb.get(ci) for ci in ids) if i is not None]

    return ItemReport(
        item=item,
        owner=desk.directory.get(item.owner),
        runs_on=items(item.runs_on),
        depends_on=items(item.depends_on),
        used_by=cmdb.used_by(item.id),
        dependents=cmdb.dependents(item.id),
        open_tickets=open_tickets[:LIST_LIMIT],
        changes=changes[:LIST_LIMIT],
        problems=problems[:LIST_LIMIT],
        hidden=len(everything) - len(linked),
    )


def ticket_row(desk: Desk, ticket: Ticket, how: str, lang: str) -> dict[str, str]:
    requester = desk.directory.get(ticket.requester_id)
    return {
        "number": ticket.number,
        "title": ticket.title,
        "status": ticket.status,
        "status_label": _status(desk, ticket.status, lang),
        "priority": ticket.priority,
        "type": ticket.type,
        "requester": requester.name if requester else ticket.requester_id,
        "how": how,
        "how_label": desk.texts.plain(lang, f"ci.how.{how}"),
        "created_at": ticket.created_at.isoformat(),
    }


def _status(desk: Desk, status: str, lang: str) -> str:
    """The status in the technicians' wording (as bot.tickets.status_label with staff)."""
    for key in (f"status_staff.{status}", f"status.{status}"):
        if desk.texts.has(key):
            return desk.texts.plain(lang, key)
    return status


def as_record(desk: Desk, found: ItemReport, lang: str) -> dict[str, Any]:
    """The report as plain data: for the chat template and `deskbot ci show --format json`."""
    item = found.item

    def refs(items: Sequence[ConfigurationItem]) -> list[dict[str, str]]:
        return [{"id": i.id, "name": i.name(lang), "kind": i.kind} for i in items]

    def rows(pairs: Sequence[tuple[Ticket, str]]) -> list[dict[str, str]]:
        return [ticket_row(desk, t, how, lang) for t, how in pairs]

    return {
        "id": item.id,
        "name": item.name(lang),
        "names": dict(item.names),
        "kind": item.kind,
        "kind_label": desk.texts.plain(lang, f"ci.kind.{item.kind}"),
        "owner": {"id": found.owner.id, "name": found.owner.name} if found.owner else None,
        "services": list(item.services),
        "aliases": list(item.aliases),
        "runs_on": refs(found.runs_on),
        "depends_on": refs(found.depends_on),
        "used_by": refs(found.used_by),
        "dependents": refs(found.dependents),
        "open_tickets": rows(found.open_tickets),
        "changes": rows(found.changes),
        "problems": rows(found.problems),
        "hidden": found.hidden,
    }


# ---- major incidents ------------------------------------------------------------------------


def incident_items(
    desk: Desk, session: Session, incident: MajorIncident, *, from_problem: bool = True
) -> list[ConfigurationItem]:
    """The items behind a major incident: those linked to its problem ticket (a technician
    may add the real cause with /ci), else those its reports name most (not the reporters'
    own devices), else the one system of its service."""
    cmdb = desk.content.cis
    if from_problem and incident.problem_ticket_id is not None:
        named = [
            link.ci_id
            for link in ci_links.links_of(session, incident.problem_ticket_id)
            if link.how != "requester_device"
        ]
        if named:
            return [i for i in (cmdb.get(ci) for ci in named) if i is not None]
    reports = session.exec(
        select(IncidentLink.ticket_id).where(
            col(IncidentLink.incident_id) == incident.id, col(IncidentLink.status) == "linked"
        )
    ).all()
    counts = Counter(
        link.ci_id
        for link in ci_links.cis_of_tickets(session, [t for t in reports if t is not None])
        if link.how != "requester_device"
    )
    if counts:
        top = counts.most_common(1)[0][1]
        return [i for ci, n in counts.items() if n == top and (i := cmdb.get(ci)) is not None]
    if incident.service_id:
        systems = [i for i in cmdb.for_service(incident.service_id) if i.kind != "device"]
        if len(systems) == 1:
            return systems
    return []


@dataclass(frozen=True)
class Impact:
    """Who and what depends on the items behind a major incident."""

    items: list[ConfigurationItem]
    dependents: list[ConfigurationItem]  # everything standing on them, nearest first
    owners: list[Person]  # of the items and their dependents
    requesters: list[Person]  # of open tickets on the dependents

    @property
    def people(self) -> list[Person]:
        return list({p.id: p for p in (*self.owners, *self.requesters)}.values())


def impact(desk: Desk, session: Session, items: Sequence[ConfigurationItem]) -> Impact:
    cmdb = desk.content.cis
    mine = {i.id for i in items}
    dependents: dict[str, ConfigurationItem] = {}
    for item in items:
        for dependent in cmdb.dependents(item.id):
            if dependent.id not in mine:
                dependents.setdefault(dependent.id, dependent)
    owners = [
        p
        for p in (desk.directory.get(i.owner) for i in (*items, *dependents.values()))
        if p is not None
    ]
    requesters: list[Person] = []
    for dependent in dependents.values():
        for ticket, _how in ci_links.linked_tickets(session, dependent.id):
            person = desk.directory.get(ticket.requester_id)
            if ticket.status in repo.ACTIVE and person is not None:
                requesters.append(person)
    unique = list({p.id: p for p in owners}.values())
    return Impact(list(items), list(dependents.values()), unique, requesters)


def impact_params(
    desk: Desk, session: Session, incident: MajorIncident, lang: str
) -> dict[str, Any]:
    """What an alert about `incident` says about the items behind it (empty: none known)."""
    items = incident_items(desk, session, incident)
    if not items:
        return {}
    found = impact(desk, session, items)
    people = [p.name for p in found.people]
    dependents = [i.name(lang) for i in found.dependents]
    return {
        "items": [i.name(lang) for i in items],
        "dependents": dependents[:NAMES_LIMIT],
        "more_dependents": max(0, len(dependents) - NAMES_LIMIT),
        "people": people[:NAMES_LIMIT],
        "more_people": max(0, len(people) - NAMES_LIMIT),
    }


def link_problem(
    desk: Desk,
    session: Session,
    incident: MajorIncident,
    problem: Ticket,
    actor_id: str | None,
    now: datetime,
) -> None:
    """A declared major incident's problem ticket is linked to the items behind it."""
    for item in incident_items(desk, session, incident, from_problem=False):
        link(session, problem, item.id, "problem", actor_id, now)
