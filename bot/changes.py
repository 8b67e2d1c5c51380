"""Change control (docs/changes.md): a change's risk, its window and what it clashes with,
the CAB's quorum, the stages its implementer reports from chat, and incidents that follow a
failed change on the same item.

A change ticket's journey names the steps holding its facts (`change:` on its ticket step);
`plan` reads them, `register` keeps them as a `ChangeRecord` next to the ticket. Stages:
pending (the CAB decides; a standard change skips it) -> approved -> scheduled ->
implementing -> succeeded | failed | rolled_back, or rejected. Every move is a ticket event
and the requester is told.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import permissions, workflow
from bot.addresses import home_address
from bot.base.buttons import TICKET, button
from bot.base.config import ChangeSettings
from bot.base.messages import Choice, Message
from bot.desk import Desk
from bot.directory import Person
from bot.turn import Turn
from journeys.model import HOURS
from store import changes as repo
from store import ci_links, ticket_links
from store import tickets as ticket_repo
from store.models import ChangeRecord, Ticket, TicketEvent
from store.outbox import notify

LEVELS = ("low", "medium", "high")

# What the implementer may report next, by stage: action -> (stage it moves to, event kind).
NEXT: dict[str, dict[str, str]] = {
    "approved": {"schedule": "scheduled"},
    "scheduled": {"schedule": "scheduled", "start": "implementing"},
    "implementing": {"done": "succeeded", "failed": "failed", "rolledback": "rolled_back"},
}
ACTIONS = ("schedule", "start", "done", "failed", "rolledback", "review")
_HOURS = re.compile(HOURS)


# ---- risk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Risk:
    level: str  # low | medium | high
    score: int


def assess(
    settings: ChangeSettings,
    *,
    impact: str,
    likelihood: str,
    size: str | None,
    tested: bool | None,
    rollback: bool | None,
) -> Risk:
    """Impact x likelihood from the matrix, plus the size's points, plus points for a change
    not tested (or not said to be) and one that cannot be rolled back."""
    rules = settings.risk
    row = rules.matrix.get(impact) or rules.matrix["medium"]
    score = int(row.get(likelihood, row["medium"]))
    score += rules.size.get(size or "", 0)
    if tested is not True:
        score += rules.untested
    if rollback is not True:
        score += rules.no_rollback
    level = "low"
    if score >= rules.levels["medium"]:
        level = "medium"
    if score >= rules.levels["high"]:
        level = "high"
    return Risk(level, score)


# ---- a change as planned ------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    kind: str
    system: str
    item: str
    impact: str
    likelihood: str
    size: str | None
    tested: bool | None
    rollback: bool | None
    risk: Risk
    start: datetime
    end: datetime


def fold(text: str) -> str:
    """A system's name as compared: case and spacing ignored."""
    return " ".join(text.casefold().split())[:200]


def item_of(desk: Desk, system: str) -> str:
    """What a change touches, for comparing: the configuration item the system's name (or
    alias) names, else the name itself folded."""
    found = desk.content.cis.find(system)
    return found.id if found is not None else fold(system)


def window(
    settings: ChangeSettings, day: Any, hours: Any, timezone: str
) -> tuple[datetime, datetime]:
    """The window in UTC from a day (ISO) and `HH:MM-HH:MM` in the requester's time zone; an
    end before its start is on the next day; no hours: `default_window` from midnight."""
    zone = ZoneInfo(timezone)
    on = date.fromisoformat(str(day)) if day else datetime.now(zone).date()
    found = _HOURS.match(str(hours or ""))
    if found is None:
        start = datetime.combine(on, time(0, 0), zone)
        return _utc(start), _utc(start + settings.default_window)
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    start = datetime.combine(on, time(h1, m1), zone)
    end = datetime.combine(on, time(h2, m2), zone)
    if end <= start:
        end += timedelta(days=1)
    return _utc(start), _utc(end)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC"))


def plan(desk: Desk, requester: Person, facts: dict[str, Any]) -> Plan:
    settings = desk.settings.changes
    system = str(facts.get("system") or "").strip()
    impact = str(facts.get("impact") or "medium")
    likelihood = str(facts.get("likelihood") or "medium")
    size = str(facts["size"]) if facts.get("size") else None
    tested = facts.get("tested") if isinstance(facts.get("tested"), bool) else None
    rollback = facts.get("rollback") if isinstance(facts.get("rollback"), bool) else None
    start, end = window(settings, facts.get("window"), facts.get("hours"), requester.timezone)
    return Plan(
        kind=str(facts.get("kind") or "normal"),
        system=system,
        item=item_of(desk, system),
        impact=impact,
        likelihood=likelihood,
        size=size,
        tested=tested,
        rollback=rollback,
        risk=assess(
            settings,
            impact=impact,
            likelihood=likelihood,
            size=size,
            tested=tested,
            rollback=rollback,
        ),
        start=start,
        end=end,
    )


# ---- conflicts ----------------------------------------------------------------------------


def conflicts(
    desk: Desk,
    session: Session,
    item: str,
    start: datetime,
    end: datetime,
    *,
    exclude: int | None = None,
) -> list[dict[str, Any]]:
    """Other changes on the same item in an overlapping window, and freezes the window
    falls in: `{"kind": "overlap", "number", "system", "start", "end"}` and
    `{"kind": "freeze", "name": {en, zh}, "start", "end"}` (ISO strings, JSON-ready)."""
    found: list[dict[str, Any]] = []
    for record, ticket in repo.overlapping(session, start, end, exclude=exclude):
        if record.item == item:
            found.append(
                {
                    "kind": "overlap",
                    "number": ticket.number,
                    "system": record.system,
                    "start": record.window_start.isoformat(),
                    "end": record.window_end.isoformat(),
                }
            )
    found += freezes_in(desk.settings.changes, start, end)
    return found


def freezes_in(settings: ChangeSettings, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Freeze periods (whole days, UTC) the window [start, end) touches."""
    out = []
    for freeze in settings.freezes:
        begins = datetime.combine(freeze.start, time(0, 0), ZoneInfo("UTC"))
        ends = datetime.combine(freeze.end + timedelta(days=1), time(0, 0), ZoneInfo("UTC"))
        if start < ends and end > begins:
            out.append(
                {
                    "kind": "freeze",
                    "name": dict(freeze.name),
                    "start": freeze.start.isoformat(),
                    "end": freeze.end.isoformat(),
                }
            )
    return out


def describe_conflicts(
    desk: Desk, found: Sequence[dict[str, Any]], lang: str, timezone: str
) -> list[str]:
    """One plain line per conflict, in `lang` (the template escapes them)."""
    lines = []
    for c in found:
        if c["kind"] == "freeze":
            name = c["name"].get(lang) or c["name"].get("en", "")
            lines.append(
                desk.texts.plain(
                    lang, "changes.conflict_freeze", name=name, start=c["start"], end=c["end"]
                )
            )
        else:
            lines.append(
                desk.texts.plain(
                    lang,
                    "changes.conflict_overlap",
                    number=c["number"],
                    system=c["system"],
                    window=span(
                        datetime.fromisoformat(c["start"]),
                        datetime.fromisoformat(c["end"]),
                        timezone,
                    ),
                )
            )
    return lines


def span(start: datetime, end: datetime, timezone: str) -> str:
    """`2026-11-28 22:00-23:30` in `timezone` (the end's day too when it differs)."""
    zone = ZoneInfo(timezone)
    a, b = start.astimezone(zone), end.astimezone(zone)
    tail = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%Y-%m-%d %H:%M")
    return f"{a:%Y-%m-%d %H:%M}-{tail}"


# ---- submission ---------------------------------------------------------------------------


def register(turn: Turn, ticket: Ticket, planned: Plan) -> ChangeRecord:
    """Keep a new change ticket's change record, tell the requester its risk and conflicts,
    and flag the conflicts to the CAB (a normal change's CAB sees them in its request)."""
    desk, session = turn.desk, turn.session
    assert ticket.id is not None
    clashes = conflicts(desk, session, planned.item, planned.start, planned.end)
    standard = planned.kind == "standard"
    record = repo.add_change(
        session,
        ChangeRecord(
            ticket_id=ticket.id,
            kind=planned.kind,
            system=planned.system[:200],
            item=planned.item,
            impact=planned.impact,
            likelihood=planned.likelihood,
            size=planned.size,
            tested=planned.tested,
            rollback=planned.rollback,
            risk=planned.risk.level,
            score=planned.risk.score,
            window_start=planned.start,
            window_end=planned.end,
            stage="approved" if standard else "pending",
            conflicts=clashes,
            review_needed=planned.kind == "emergency",
            created_at=turn.now,
            updated_at=turn.now,
        ),
    )
    event = ticket_repo.add_event(
        session=session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="change_planned",
        note=f"{planned.kind}, risk {planned.risk.level} ({planned.risk.score})",
        data={
            "kind": planned.kind,
            "risk": planned.risk.level,
            "score": planned.risk.score,
            "item": planned.item,
            "window": [planned.start.isoformat(), planned.end.isoformat()],
            "conflicts": clashes,
        },
    )
    if desk.content.cis.get(planned.item) is not None:
        ci_links.link_ci(session, ticket.id, planned.item, "change", turn.now)
    lang, tz = turn.language, turn.person.timezone
    message = Message(
        text=turn.t(
            "changes.planned",
            number=ticket.number,
            risk=risk_label(desk, record.risk, lang),
            score=record.score,
            window=span(record.window_start, record.window_end, tz),
            conflicts=describe_conflicts(desk, clashes, lang, tz),
            standard=standard,
        ),
        choices=next_buttons(desk, ticket, record, lang)
        if standard and may_report(desk, turn.person, ticket, record)
        else (),
    )
    turn.reply(message)
    if clashes and standard:  # no CAB request to show them in: the CAB is told directly
        for member in cab_members(desk):
            if member.id != turn.person.id:
                _tell_cab(desk, session, member, ticket, record, event, turn.now)
    return record


def _tell_cab(
    desk: Desk,
    session: Session,
    member: Person,
    ticket: Ticket,
    record: ChangeRecord,
    event: TicketEvent,
    now: datetime,
) -> None:
    lang = member.language
    notify(
        session=session,
        to=home_address(desk, session, member),
        message=Message(
            text=desk.texts.render(
                lang,
                "changes.cab_conflicts",
                number=ticket.number,
                title=ticket.title,
                conflicts=describe_conflicts(desk, record.conflicts, lang, member.timezone),
            )
        ),
        idem_key=f"changes.cab_conflicts:{event.id}:{member.id}",
        now=now,
    )


def cab_members(desk: Desk) -> list[Person]:
    return desk.directory.group(desk.settings.changes.cab)


def risk_label(desk: Desk, level: str, lang: str) -> str:
    return desk.texts.plain(lang, f"changes.risk.{level}")


# ---- the CAB ------------------------------------------------------------------------------


def quorum_for(
    desk: Desk, session: Session, ticket: Ticket | None, group: str | None, asked: int
) -> int:
    """Approvals the CAB must give for this ticket's change: the configured quorum (fewer
    for an emergency), never more than the members asked. 1 for anything else."""
    record = repo.change_of(session, ticket.id) if ticket is not None else None
    if record is None or group != desk.settings.changes.cab or record.kind == "standard":
        return 1
    settings = desk.settings.changes
    wanted = settings.emergency_quorum if record.kind == "emergency" else settings.quorum
    return max(1, min(wanted, asked))


def approval_note(
    desk: Desk, session: Session, ticket: Ticket | None, lang: str, timezone: str, quorum: int
) -> str:
    """What a CAB member sees besides the summary: risk, window, conflicts, the quorum."""
    record = repo.change_of(session, ticket.id) if ticket is not None else None
    if record is None:
        return ""
    return desk.texts.render(
        lang,
        "changes.approval_note",
        kind=desk.texts.plain(lang, f"changes.kind.{record.kind}"),
        risk=risk_label(desk, record.risk, lang),
        score=record.score,
        window=span(record.window_start, record.window_end, timezone),
        conflicts=describe_conflicts(desk, record.conflicts, lang, timezone),
        quorum=quorum,
    )


def on_decision(
    desk: Desk, session: Session, ticket: Ticket, approved: bool, actor_id: str, now: datetime
) -> None:
    """The CAB decided: the change is approved (its implementer is offered the next step)
    or rejected."""
    record = repo.change_of(session, ticket.id)
    if record is None:
        return
    to = "approved" if approved else "rejected"
    if not repo.move_stage(session, record, ("pending",), to, now):
        return
    event = ticket_repo.add_event(
        session=session,
        ticket=ticket,
        at=now,
        actor_id=actor_id,
        kind=f"change_{to}",
        note=to,
        data={"stage": to},
    )
    if approved:
        _offer_next(desk, session, ticket, record, event, now, skip=None)


# ---- stages -------------------------------------------------------------------------------


def implementer_of(desk: Desk, ticket: Ticket, record: ChangeRecord) -> Person | None:
    """Who implements: the one recorded, else the assignee, else the requester when they
    are a technician (the change owner implements their own change)."""
    for pid in (record.implementer_id, ticket.assignee_id):
        person = desk.directory.get(pid)
        if person is not None:
            return person
    requester = desk.directory.get(ticket.requester_id)
    return requester if requester is not None and permissions.is_staff(requester) else None


def may_report(desk: Desk, person: Person, ticket: Ticket, record: ChangeRecord) -> bool:
    """The implementer, and whoever works the change's queue (its technicians, admins)."""
    implementer = implementer_of(desk, ticket, record)
    if implementer is not None and implementer.id == person.id:
        return True
    return permissions.may_work(person, ticket)


def may_review(desk: Desk, person: Person) -> bool:
    return person.id in {p.id for p in cab_members(desk)} or "admin" in person.roles


def next_buttons(desk: Desk, ticket: Ticket, record: ChangeRecord, lang: str) -> tuple[Choice, ...]:
    actions = [
        a
        for a in NEXT.get(record.stage, {})
        if not (a == "schedule" and record.stage == "scheduled")
    ]
    return tuple(
        Choice(
            desk.texts.plain(lang, f"changes.button.{action}"),
            button(TICKET, "change", f"{ticket.number} {action}"),
            "danger" if action in ("failed", "rolledback") else "primary" if i == 0 else "default",
        )
        for i, action in enumerate(actions)
    )


def _offer_next(
    desk: Desk,
    session: Session,
    ticket: Ticket,
    record: ChangeRecord,
    event: TicketEvent,
    now: datetime,
    *,
    skip: str | None,
) -> None:
    """Tell the implementer (else the change's team) what they can report next."""
    implementer = implementer_of(desk, ticket, record)
    if implementer is None:
        stage = desk.texts.plain(desk.settings.language, f"changes.stage.{record.stage}")
        workflow.tell_team(desk, session, ticket, event, "changes.next_team", now=now, stage=stage)
        return
    if implementer.id == skip:
        return
    lang = implementer.language
    workflow.tell_person(
        desk,
        session,
        implementer,
        ticket,
        event,
        "changes.next",
        now=now,
        choices=next_buttons(desk, ticket, record, lang),
        stage=desk.texts.plain(lang, f"changes.stage.{record.stage}"),
        window=span(record.window_start, record.window_end, implementer.timezone),
    )


def report(turn: Turn, ticket: Ticket, action: str, rest: str) -> None:
    """`/change IT-1042 schedule [YYYY-MM-DD HH:MM-HH:MM] | start | done | failed |
    rolledback [note] | review [note]`: the implementer reports a stage (role-checked)."""
    desk, session = turn.desk, turn.session
    record = repo.change_of(session, ticket.id)
    if record is None:
        turn.say("changes.not_a_change", number=ticket.number)
        return
    if action == "review":
        _review(turn, ticket, record, rest)
        return
    if not may_report(desk, turn.person, ticket, record):
        permissions.refuse(turn, f"change {action}", ticket, key="changes.not_yours")
        return
    to = NEXT.get(record.stage, {}).get(action)
    if to is None:
        _not_now(turn, ticket, record, action)
        return
    values: dict[str, Any] = {}
    if record.implementer_id is None:
        values["implementer_id"] = turn.person.id
    note = rest.strip()
    if action == "schedule" and note:
        moved = _new_window(turn, note)
        if moved is None:
            turn.say("changes.bad_window", value=note)
            return
        values["window_start"], values["window_end"] = moved
        note = ""
    if to == record.stage and "window_start" not in values:  # scheduled already, same window
        _not_now(turn, ticket, record, action)
        return
    if to in repo.OUTCOMES:
        values["outcome_at"] = turn.now
    before = record.stage
    if not repo.move_stage(session, record, (before,), to, turn.now, **values):
        turn.say("changes.moved_meanwhile", number=ticket.number)
        return
    event = _ticket_move(turn, ticket, record, before, to, note)
    if event is None:
        return
    if "window_start" in values:  # rescheduled: the new window's clashes are flagged anew
        record.conflicts = conflicts(
            desk,
            session,
            record.item,
            record.window_start,
            record.window_end,
            exclude=record.ticket_id,
        )
        session.add(record)
        session.flush()
    tz = turn.person.timezone
    turn.reply(
        Message(
            text=turn.t(
                "changes.reported",
                number=ticket.number,
                stage=turn.plain(f"changes.stage.{to}"),
                window=span(record.window_start, record.window_end, tz),
                conflicts=describe_conflicts(desk, record.conflicts, turn.language, tz)
                if "window_start" in values
                else [],
            ),
            choices=next_buttons(desk, ticket, record, turn.language),
        )
    )
    if ticket.requester_id != turn.person.id:
        requester = desk.directory.get(ticket.requester_id)
        workflow.requester_told(
            turn,
            ticket,
            event,
            "changes.told_stage",
            stage=desk.texts.plain(ticket.language, f"changes.stage.{to}"),
            window=span(
                record.window_start,
                record.window_end,
                requester.timezone if requester else "UTC",
            ),
            note=note,
        )
    if to in repo.FAILED:
        link_incidents(desk, session, ticket, record, turn.now)
    if to in repo.OUTCOMES and record.review_needed:
        for member in cab_members(desk):
            workflow.tell_person(
                desk,
                session,
                member,
                ticket,
                event,
                "changes.review_asked",
                now=turn.now,
                stage=desk.texts.plain(member.language, f"changes.stage.{to}"),
            )


def _not_now(turn: Turn, ticket: Ticket, record: ChangeRecord, action: str) -> None:
    turn.say(
        "changes.not_now",
        number=ticket.number,
        stage=turn.plain(f"changes.stage.{record.stage}"),
        action=turn.plain(f"changes.button.{action}"),
    )


def _ticket_move(
    turn: Turn, ticket: Ticket, record: ChangeRecord, before: str, to: str, note: str
) -> TicketEvent | None:
    """The ticket's own status follows: implementing -> in progress (with the implementer
    as its assignee when it has none), an outcome -> resolved. Audited either way."""
    kind = f"change_{to}"
    data: dict[str, Any] = {"stage": to, "from_stage": before}
    status: str | None = None
    values: dict[str, Any] = {}
    if to == "implementing" and ticket.status != "in_progress":
        status = "in_progress"
    if to == "implementing" and ticket.assignee_id is None:
        values["assignee_id"] = record.implementer_id or turn.person.id
    if to in repo.OUTCOMES:
        status, values["resolved_at"] = "resolved", turn.now
    if to == "scheduled":
        data["window"] = [record.window_start.isoformat(), record.window_end.isoformat()]
    event = workflow.change(turn, ticket, kind, to=status, note=note, values=values, data=data)
    if event is None:  # the ticket could not follow: the stage stays where it was
        repo.move_stage(turn.session, record, (to,), before, turn.now)
    return event


def _new_window(turn: Turn, text: str) -> tuple[datetime, datetime] | None:
    day, _, hours = text.strip().partition(" ")
    try:
        on = date.fromisoformat(day)
    except ValueError:
        return None
    if hours and _HOURS.match(hours) is None:
        return None
    return window(turn.desk.settings.changes, on.isoformat(), hours, turn.person.timezone)


def _review(turn: Turn, ticket: Ticket, record: ChangeRecord, note: str) -> None:
    """An emergency change's review by a CAB member, once its outcome is in."""
    if not may_review(turn.desk, turn.person):
        permissions.refuse(turn, "change review", ticket, key="changes.not_cab")
        return
    if not record.review_needed or record.stage not in repo.OUTCOMES or record.reviewed_by:
        turn.say("changes.no_review", number=ticket.number)
        return
    record.reviewed_by = turn.person.id
    record.updated_at = turn.now
    turn.session.add(record)
    event = ticket_repo.add_event(
        session=turn.session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="change_reviewed",
        note=note.strip(),
        data={"stage": record.stage},
    )
    turn.say("changes.reviewed", number=ticket.number)
    workflow.requester_told(turn, ticket, event, "changes.told_reviewed", note=note.strip())


# ---- incidents after a failed change ------------------------------------------------------


def concerns(desk: Desk, session: Session, record: ChangeRecord, incident: Ticket) -> bool:
    """Whether an incident is about the change's item. A configuration item: the incident
    is linked to it, or its service is one of the item's. A system by name only: the
    incident's service id or title, or one of its answers, names the same system."""
    item = desk.content.cis.get(record.item)
    if item is not None:
        assert incident.id is not None
        if record.item in ci_links.cis_of(session, incident.id):
            return True
        return incident.service_id is not None and incident.service_id in item.services
    names = {fold(incident.service_id or "")}
    journey = desk.catalog.get(incident.service_id) if incident.service_id else None
    if journey is not None:
        names |= {fold(t) for t in journey.title.root.values()}
    names |= {fold(str(v)) for v in incident.answers.values() if isinstance(v, str)}
    return record.item in names


def link_incidents(
    desk: Desk, session: Session, ticket: Ticket, record: ChangeRecord, now: datetime
) -> int:
    """A change failed: incidents on its item since its window began (within
    `changes.incidents_within`) are tied to it, and its implementer is told. Returns how
    many were tied."""
    until = min(now, record.window_start + desk.settings.changes.incidents_within)
    found = [
        t
        for t in repo.incidents_between(session, record.window_start, until)
        if concerns(desk, session, record, t)
    ]
    return sum(_tie(desk, session, ticket, record, incident, now) for incident in found)


def on_incident(desk: Desk, session: Session, incident: Ticket, now: datetime) -> int:
    """A new incident: tie it to failed changes on its item that ended recently enough."""
    tied = 0
    since = now - desk.settings.changes.incidents_within
    for record in repo.failed_since(session, since):
        change = session.get(Ticket, record.ticket_id)
        if change is not None and concerns(desk, session, record, incident):
            tied += _tie(desk, session, change, record, incident, now)
    return tied


def _tie(
    desk: Desk,
    session: Session,
    change: Ticket,
    record: ChangeRecord,
    incident: Ticket,
    now: datetime,
) -> bool:
    actor = record.implementer_id or change.requester_id
    if not ticket_links.add_link(
        session=session, ticket=change, other=incident, kind="related", actor_id=actor, now=now
    ):
        return False
    event = ticket_repo.add_event(
        session=session,
        ticket=change,
        at=now,
        actor_id=None,
        kind="change_incident",
        note=incident.number,
        data={"incident": incident.number, "item": record.item},
    )
    ticket_repo.add_event(
        session=session,
        ticket=incident,
        at=now,
        actor_id=None,
        kind="related",
        note=change.number,
        data={"other": change.number, "after_failed_change": True},
    )
    implementer = implementer_of(desk, change, record)
    if implementer is not None:
        workflow.tell_person(
            desk,
            session,
            implementer,
            change,
            event,
            "changes.incident_linked",
            now=now,
            incident=incident.number,
            incident_title=incident.title,
        )
    return True


# ---- the calendar -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    number: str
    system: str
    kind: str
    risk: str
    stage: str
    start: datetime
    end: datetime
    clashes: tuple[str, ...]  # the numbers of changes on the same item in overlapping windows


def week_of(today: date, arg: str) -> date | None:
    """The Monday of the week `arg` names: empty (this week), `next`, `+N` / `-N` weeks, or
    a date in it; None when it names none of these."""
    monday = today - timedelta(days=today.weekday())
    text = arg.strip().lower()
    if not text or text in ("this", "本周"):
        return monday
    if text in ("next", "下周"):
        return monday + timedelta(weeks=1)
    if re.fullmatch(r"[+-]?\d{1,2}", text):
        return monday + timedelta(weeks=int(text))
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day - timedelta(days=day.weekday())


def calendar(desk: Desk, session: Session, monday: date, timezone: str) -> dict[date, list[Entry]]:
    """Every change whose window touches each day of the week (in `timezone`), with the
    changes it clashes with."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(monday, time(0, 0), zone)
    end = start + timedelta(days=7)
    rows = repo.overlapping(session, start, end)
    days: dict[date, list[Entry]] = {monday + timedelta(days=i): [] for i in range(7)}
    for record, ticket in rows:
        clashes = tuple(
            other.number
            for r, other in repo.overlapping(
                session, record.window_start, record.window_end, exclude=record.ticket_id
            )
            if r.item == record.item
        )
        entry = Entry(
            ticket.number,
            record.system,
            record.kind,
            record.risk,
            record.stage,
            record.window_start,
            record.window_end,
            clashes,
        )
        first = record.window_start.astimezone(zone).date()
        last = (record.window_end - timedelta(seconds=1)).astimezone(zone).date()
        for day in days:
            if first <= day <= last:
                days[day].append(entry)
    return days


def calendar_message(desk: Desk, session: Session, monday: date, lang: str, timezone: str) -> str:
    days = calendar(desk, session, monday, timezone)
    settings = desk.settings.changes
    rows = []
    for day, entries in days.items():
        frozen = [
            f.name.get(lang) or f.name.get("en", "")
            for f in settings.freezes
            if f.start <= day <= f.end
        ]
        rows.append(
            {
                "day": day.isoformat(),
                "weekday": desk.texts.plain(lang, f"changes.weekday.{day.weekday()}"),
                "freeze": ", ".join(frozen),
                "entries": [
                    {
                        "number": e.number,
                        "system": e.system,
                        "window": span(e.start, e.end, timezone),
                        "kind": desk.texts.plain(lang, f"changes.kind.{e.kind}"),
                        "risk": risk_label(desk, e.risk, lang),
                        "stage": desk.texts.plain(lang, f"changes.stage.{e.stage}"),
                        "clashes": ", ".join(e.clashes),
                        "frozen": bool(frozen),
                    }
                    for e in sorted(entries, key=lambda e: (e.start, e.number))
                ],
            }
        )
    return desk.texts.render(
        lang,
        "changes.calendar",
        start=monday.isoformat(),
        end=(monday + timedelta(days=6)).isoformat(),
        days=rows,
        empty=not any(r["entries"] for r in rows),
        timezone=timezone,
    )
