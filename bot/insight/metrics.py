"""The service-insight figures, computed from the store (definitions: docs/insight.md).

Loading reads each table once for the whole period (plus a 7-day look-back for repeat
requests) and turns rows into small *facts* (a request, a resolution with its business-hours
duration, a survey...). Every figure is then a pure function of the facts inside an interval,
so the period's figures and each week's trend come from the same code and the same numbers.

Durations are business time on the ticket's queue calendar with the SLA clock's pauses
(`notifications.sla`): the first-response clock stops in `notifications.sla.pause_on`
statuses, the resolution clock also while the ticket is resolved, closed, cancelled or
rejected. Percentiles are nearest-rank.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.desk import Desk
from bot.insight.problems import ProblemFigures, problem_figures
from notifications.plan import approval_calendar, sla_target
from notifications.sla import SlaClock, status_spans, stops
from store import tickets as ticket_repo
from store.models import (
    Approval,
    IncidentLink,
    MajorIncident,
    MatchOutcome,
    Survey,
    Ticket,
    TicketEvent,
)

REPEAT_WINDOW = timedelta(days=7)
HOUR = timedelta(hours=1)
CHUNK = 500  # ids per IN (...) query
# What a request through the desk can be (docs/insight.md, "Requests").
KINDS = ("ticket", "self_solved", "completed", "kb", "linked")
SELF_SERVED = frozenset({"self_solved", "completed", "kb"})
GENERAL = "_general"  # requests without a service (a person asked for a person)

T = TypeVar("T")


# ---- the facts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFact:
    """One request that came through the desk."""

    at: datetime
    person: str
    service: str | None
    kind: str  # one of KINDS


@dataclass(frozen=True)
class Measured:
    """A duration in business hours, measured at the moment `at` (its end)."""

    at: datetime
    hours: float


@dataclass(frozen=True)
class Resolution:
    """A desk ticket resolved (and not reopened by the end of the period)."""

    at: datetime
    hours: float
    response_met: bool
    resolution_met: bool


@dataclass(frozen=True)
class Reopenable:
    """A ticket's moves to resolved and to reopened (for the reopen rate)."""

    resolved: tuple[datetime, ...]
    reopened: tuple[datetime, ...]


@dataclass(frozen=True)
class OpenTicket:
    """A desk ticket opened in the period and still active at its end."""

    created: datetime
    over_target: bool


@dataclass(frozen=True)
class SurveyFact:
    sent: datetime
    score: int | None


@dataclass(frozen=True)
class MatchFact:
    at: datetime
    outcome: str
    topic: str | None = None  # referred: the referral topic (catalog/referrals.yaml)


@dataclass
class Facts:
    """Everything the figures are computed from, for one period."""

    start: datetime
    end: datetime
    requests: list[RequestFact] = field(default_factory=list)
    logged: list[datetime] = field(default_factory=list)
    responses: list[Measured] = field(default_factory=list)
    unanswered: list[datetime] = field(default_factory=list)  # created, no first response yet
    resolutions: list[Resolution] = field(default_factory=list)
    reopenable: list[Reopenable] = field(default_factory=list)
    open_tickets: list[OpenTicket] = field(default_factory=list)
    surveys: list[SurveyFact] = field(default_factory=list)
    approvals: list[Measured] = field(default_factory=list)
    approvals_waiting: int = 0
    matches: list[MatchFact] = field(default_factory=list)
    incidents: list[datetime] = field(default_factory=list)  # declared
    incident_reports: list[datetime] = field(default_factory=list)  # reports linked


# ---- the figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """`part` of `whole`; `value` is None when there is nothing to divide by."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        return {"count": self.part, "of": self.whole, "rate": _round(value, 4)}


@dataclass(frozen=True)
class Spread:
    """How many durations, and their 50th and 90th percentiles (hours)."""

    count: int
    p50: float | None
    p90: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "p50_hours": _round(self.p50), "p90_hours": _round(self.p90)}


@dataclass(frozen=True)
class Figures:
    """The report's figures for one interval [start, end)."""

    start: datetime
    end: datetime
    requests: int
    requesters: int
    by_kind: dict[str, int]
    services: list[tuple[str, int]]  # (service id or GENERAL, requests), most used first
    self_service: Rate
    bypass: Rate
    repeats: Rate
    reopened: Rate
    first_response: Spread
    awaiting_response: int
    resolution: Spread
    sla: Rate
    sla_response: Rate
    sla_resolution: Rate
    open_over_target: int
    csat_average: float | None
    csat_responses: Rate
    approval_wait: Spread
    approvals_waiting: int
    matcher_understood: Rate
    matcher_disambiguated: Rate
    matcher_not_understood: Rate
    matcher_unanswered: Rate
    matcher_referred: Rate  # pointed elsewhere: not for IT (catalog/referrals.yaml)
    referrals: list[tuple[str, int]]  # (topic, messages), most first
    incidents_declared: int
    incident_reports: int

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON: machine names, rates as {count, of, rate}, hours rounded."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "requests": self.requests,
            "active_requesters": self.requesters,
            "requests_by_kind": dict(self.by_kind),
            "services": [{"service": s, "requests": n} for s, n in self.services],
            "self_service": self.self_service.as_dict(),
            "bypass": self.bypass.as_dict(),
            "repeat_requests": self.repeats.as_dict(),
            "reopened": self.reopened.as_dict(),
            "first_response": self.first_response.as_dict(),
            "awaiting_first_response": self.awaiting_response,
            "resolution": self.resolution.as_dict(),
            "sla": self.sla.as_dict(),
            "sla_first_response": self.sla_response.as_dict(),
            "sla_resolution": self.sla_resolution.as_dict(),
            "open_over_target": self.open_over_target,
            "csat_average": _round(self.csat_average, 2),
            "csat_responses": self.csat_responses.as_dict(),
            "approval_wait": self.approval_wait.as_dict(),
            "approvals_waiting": self.approvals_waiting,
            "matcher": {
                "understood_at_once": self.matcher_understood.as_dict(),
                "after_disambiguation": self.matcher_disambiguated.as_dict(),
                "not_understood": self.matcher_not_understood.as_dict(),
                "unanswered": self.matcher_unanswered.as_dict(),
                "referred": self.matcher_referred.as_dict(),
                "referrals": [{"topic": t, "messages": n} for t, n in self.referrals],
            },
            "major_incidents": {
                "declared": self.incidents_declared,
                "reports_linked": self.incident_reports,
            },
        }


@dataclass(frozen=True)
class Report:
    """The period's figures and the same figures week by week."""

    period: Figures
    weeks: list[Figures]
    timezone: str
    problems: ProblemFigures | None = None  # for the whole period (bot/insight/problems.py)

    def as_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "period": self.period.as_dict(),
            "weeks": [w.as_dict() for w in self.weeks],
            "problems": self.problems.as_dict() if self.problems is not None else None,
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[float]) -> Spread:
    return Spread(len(values), percentile(values, 50), percentile(values, 90))


def _within(
    items: Iterable[T], when: Callable[[T], datetime], lo: datetime, hi: datetime
) -> list[T]:
    return [item for item in items if lo <= when(item) < hi]


def repeat_count(requests: Sequence[RequestFact], lo: datetime, hi: datetime) -> tuple[int, int]:
    """(repeats, requests with a service) among the requests made in [lo, hi).

    A repeat is a request for a service that the same person also asked for (in any way)
    within the 7 days before it; the earlier one may lie before `lo`.
    """
    by_key: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for r in requests:
        if r.service is not None:
            by_key[(r.person, r.service)].append(r.at)
    repeats = whole = 0
    for r in requests:
        if r.service is None or not lo <= r.at < hi:
            continue
        whole += 1
        earlier = by_key[(r.person, r.service)]
        if any(r.at - REPEAT_WINDOW <= t < r.at for t in earlier):
            repeats += 1
    return repeats, whole


def figures(facts: Facts, lo: datetime, hi: datetime) -> Figures:
    """Every figure for requests, tickets, surveys... falling in [lo, hi)."""
    requests = _within(facts.requests, lambda r: r.at, lo, hi)
    by_kind = Counter(r.kind for r in requests)
    services = Counter(r.service or GENERAL for r in requests)
    logged = len(_within(facts.logged, lambda t: t, lo, hi))
    repeats, with_service = repeat_count(facts.requests, lo, hi)

    reopened = resolved = 0
    for item in facts.reopenable:
        inside = [t for t in item.resolved if lo <= t < hi]
        if not inside:
            continue
        resolved += 1
        if any(t >= min(inside) for t in item.reopened):
            reopened += 1

    responses = _within(facts.responses, lambda m: m.at, lo, hi)
    resolutions = _within(facts.resolutions, lambda r: r.at, lo, hi)
    surveys = _within(facts.surveys, lambda s: s.sent, lo, hi)
    scores = [s.score for s in surveys if s.score is not None]
    approvals = _within(facts.approvals, lambda m: m.at, lo, hi)
    matched = _within(facts.matches, lambda m: m.at, lo, hi)
    matches = Counter(m.outcome for m in matched)
    topics = Counter(m.topic or "" for m in matched if m.outcome == "referred")
    decided = sum(matches.values())
    not_understood = matches["not_understood"] + matches["out_of_scope"] + matches["rejected"]
    return Figures(
        start=lo,
        end=hi,
        requests=len(requests),
        requesters=len({r.person for r in requests}),
        by_kind={kind: by_kind[kind] for kind in KINDS},
        services=sorted(services.items(), key=lambda kv: (-kv[1], kv[0])),
        self_service=Rate(sum(by_kind[k] for k in SELF_SERVED), len(requests)),
        bypass=Rate(logged, len(requests) + logged),
        repeats=Rate(repeats, with_service),
        reopened=Rate(reopened, resolved),
        first_response=spread([m.hours for m in responses]),
        awaiting_response=len(_within(facts.unanswered, lambda t: t, lo, hi)),
        resolution=spread([r.hours for r in resolutions]),
        sla=Rate(sum(r.response_met and r.resolution_met for r in resolutions), len(resolutions)),
        sla_response=Rate(sum(r.response_met for r in resolutions), len(resolutions)),
        sla_resolution=Rate(sum(r.resolution_met for r in resolutions), len(resolutions)),
        open_over_target=sum(
            t.over_target for t in _within(facts.open_tickets, lambda t: t.created, lo, hi)
        ),
        csat_average=sum(scores) / len(scores) if scores else None,
        csat_responses=Rate(len(scores), len(surveys)),
        approval_wait=spread([m.hours for m in approvals]),
        approvals_waiting=facts.approvals_waiting if hi == facts.end else 0,
        matcher_understood=Rate(matches["understood"], decided),
        matcher_disambiguated=Rate(matches["picked"], decided),
        matcher_not_understood=Rate(not_understood, decided),
        matcher_unanswered=Rate(matches["offered"], decided),
        matcher_referred=Rate(matches["referred"], decided),
        referrals=sorted(topics.items(), key=lambda kv: (-kv[1], kv[0])),
        incidents_declared=len(_within(facts.incidents, lambda t: t, lo, hi)),
        incident_reports=len(_within(facts.incident_reports, lambda t: t, lo, hi)),
    )


# ---- weeks --------------------------------------------------------------------------------


def report_timezone(desk: Desk) -> str:
    hours = desk.settings.business_hours
    default = hours.get("default") or next(iter(hours.values()))
    return default.timezone


def week_bounds(start: datetime, end: datetime, tz: str) -> list[tuple[datetime, datetime]]:
    """Weeks (Monday 00:00 in `tz`) overlapping [start, end), clipped to it."""
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    monday = datetime.combine(
        (local - timedelta(days=local.weekday())).date(), datetime.min.time(), zone
    )
    bounds = []
    lo = start
    while lo < end:
        monday = datetime.combine(monday.date() + timedelta(days=7), datetime.min.time(), zone)
        hi = min(end, monday.astimezone(start.tzinfo))
        if hi > lo:
            bounds.append((lo, hi))
        lo = hi
    return bounds


def build_report(desk: Desk, session: Session, start: datetime, end: datetime) -> Report:
    """The period's figures and the weekly trend, read from the store."""
    facts = load_facts(desk, session, start, end)
    tz = report_timezone(desk)
    weeks = [figures(facts, lo, hi) for lo, hi in week_bounds(start, end, tz)]
    return Report(
        period=figures(facts, start, end),
        weeks=weeks,
        timezone=tz,
        problems=problem_figures(session, start, end),
    )


# ---- loading ------------------------------------------------------------------------------


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _events_by_ticket(
    session: Session, ids: Sequence[int], end: datetime
) -> dict[int, list[TicketEvent]]:
    found: dict[int, list[TicketEvent]] = defaultdict(list)
    for part in _chunks(sorted(ids)):
        stmt = (
            select(TicketEvent)
            .where(col(TicketEvent.ticket_id).in_(part), col(TicketEvent.at) < end)
            .order_by(col(TicketEvent.id))
        )
        for event in session.exec(stmt).all():
            assert event.ticket_id is not None
            found[event.ticket_id].append(event)
    return found


def _tickets(session: Session, ids: Iterable[int]) -> list[Ticket]:
    out: list[Ticket] = []
    for part in _chunks(sorted(set(ids))):
        out += session.exec(select(Ticket).where(col(Ticket.id).in_(part))).all()
    return out


def is_desk_request(ticket: Ticket) -> bool:
    """A ticket someone raised through the desk (not logged by IT, not a problem record)."""
    return ticket.source == "desk" and ticket.type != "problem"


def _business_hours(clock: SlaClock, moment: datetime) -> float:
    return clock.elapsed(moment) / HOUR


def load_facts(desk: Desk, session: Session, start: datetime, end: datetime) -> Facts:
    """Read what the figures for [start, end) need (and the look-back for repeats)."""
    facts = Facts(start=start, end=end)
    lookback = start - REPEAT_WINDOW
    created = list(
        session.exec(
            select(Ticket).where(col(Ticket.created_at) >= lookback, col(Ticket.created_at) < end)
        ).all()
    )
    moved = session.exec(
        select(TicketEvent.ticket_id).where(
            col(TicketEvent.to_status).in_(("resolved", "reopened")),
            col(TicketEvent.at) >= start,
            col(TicketEvent.at) < end,
        )
    ).all()
    known = {t.id for t in created}
    tickets = created + _tickets(session, {i for i in moved if i is not None and i not in known})
    measured = [t for t in tickets if t.id is not None and t.type != "problem"]
    events = _events_by_ticket(session, [t.id for t in measured if t.id is not None], end)
    for ticket in tickets:
        if ticket.created_at >= lookback and is_desk_request(ticket):
            facts.requests.append(
                RequestFact(ticket.created_at, ticket.requester_id, ticket.service_id, "ticket")
            )
        if ticket.source == "logged" and start <= ticket.created_at:
            facts.logged.append(ticket.created_at)
    for ticket in measured:
        assert ticket.id is not None
        _ticket_facts(desk, facts, ticket, events.get(ticket.id, []))
    _journey_facts(desk, session, facts, lookback)
    _incident_facts(session, facts, lookback)
    _survey_facts(session, facts)
    _approval_facts(desk, session, facts)
    facts.matches = [
        MatchFact(row.at, row.outcome, row.intent_id if row.outcome == "referred" else None)
        for row in session.exec(
            select(MatchOutcome).where(col(MatchOutcome.at) >= start, col(MatchOutcome.at) < end)
        ).all()
    ]
    return facts


def _ticket_facts(desk: Desk, facts: Facts, ticket: Ticket, events: list[TicketEvent]) -> None:
    """Response and resolution times, SLA, and reopening for one ticket."""
    start, end = facts.start, facts.end
    resolved = tuple(e.at for e in events if e.to_status == "resolved")
    reopened = tuple(e.at for e in events if e.to_status == "reopened")
    if any(start <= t < end for t in resolved):
        facts.reopenable.append(Reopenable(resolved, reopened))
    if not is_desk_request(ticket):
        return
    calendar = desk.calendar_for(ticket.queue)
    pause_on = set(desk.settings.notifications.sla.pause_on)
    spans = status_spans(events)
    response_clock = SlaClock(calendar, ticket.created_at, stops(spans, pause_on))
    resolution_clock = SlaClock(
        calendar, ticket.created_at, stops(spans, pause_on | set(ticket_repo.DONE))
    )
    target = sla_target(desk, ticket)
    responded = ticket.first_response_at
    if responded is not None and responded >= end:
        responded = None  # not yet, as seen at the end of the period
    in_period = start <= ticket.created_at < end
    if in_period:
        if responded is not None:
            facts.responses.append(
                Measured(ticket.created_at, _business_hours(response_clock, responded))
            )
        else:
            facts.unanswered.append(ticket.created_at)
    # The ticket's resolution as seen at the end: its last move to resolved, if nothing
    # reopened it afterwards.
    last = next((e for e in reversed(events) if e.to_status == "resolved"), None)
    settled = last is not None and not any(t > last.at for t in reopened)
    if last is not None and settled and start <= last.at < end:
        took = resolution_clock.elapsed(last.at)
        first = response_clock.elapsed(responded) if responded is not None else took
        facts.resolutions.append(
            Resolution(
                at=last.at,
                hours=took / HOUR,
                response_met=first <= response_clock.working(target.first_response),
                resolution_met=took <= resolution_clock.working(target.resolution),
            )
        )
    status = next((e.to_status for e in reversed(events) if e.to_status), ticket.status)
    if in_period and status in ticket_repo.ACTIVE:
        over = resolution_clock.elapsed(end) > resolution_clock.working(target.resolution)
        facts.open_tickets.append(OpenTicket(ticket.created_at, over))


def _journey_facts(desk: Desk, session: Session, facts: Facts, lookback: datetime) -> None:
    """Requests settled without a ticket: self-solved journeys and helpful direct answers."""
    stmt = select(TicketEvent).where(
        col(TicketEvent.ticket_id).is_(None),
        col(TicketEvent.kind).in_(("journey_ended", "kb_self_solved")),
        col(TicketEvent.at) >= lookback,
        col(TicketEvent.at) < facts.end,
    )
    for event in session.exec(stmt).all():
        if event.actor_id is None:
            continue
        if event.kind == "journey_ended":
            if event.note not in ("self_solved", "completed"):
                continue
            service = event.data.get("service_id")
            facts.requests.append(
                RequestFact(event.at, event.actor_id, str(service) if service else None, event.note)
            )
        else:
            article = desk.catalog.kb.get(event.note, "en")
            service = article.services[0] if article is not None and article.services else None
            facts.requests.append(RequestFact(event.at, event.actor_id, service, "kb"))


def _incident_facts(session: Session, facts: Facts, lookback: datetime) -> None:
    """People told "we know about it" (a request without a ticket), and declared incidents."""
    stmt = (
        select(IncidentLink, MajorIncident.service_id)
        .join(MajorIncident, col(MajorIncident.id) == col(IncidentLink.incident_id))
        .where(
            col(IncidentLink.created_at) >= lookback,
            col(IncidentLink.created_at) < facts.end,
            col(IncidentLink.status) == "linked",
        )
    )
    for link, service in session.exec(stmt).all():
        if link.ticket_id is None:
            facts.requests.append(RequestFact(link.created_at, link.person_id, service, "linked"))
        if link.created_at >= facts.start:
            facts.incident_reports.append(link.created_at)
    declared = select(MajorIncident.decided_at).where(
        col(MajorIncident.status).in_(("declared", "resolved")),
        col(MajorIncident.decided_at) >= facts.start,
        col(MajorIncident.decided_at) < facts.end,
    )
    facts.incidents = [at for at in session.exec(declared).all() if at is not None]


def _survey_facts(session: Session, facts: Facts) -> None:
    stmt = select(Survey).where(col(Survey.sent_at) >= facts.start, col(Survey.sent_at) < facts.end)
    for survey in session.exec(stmt).all():
        answered = survey.answered_at is not None and survey.answered_at < facts.end
        facts.surveys.append(SurveyFact(survey.sent_at, survey.score if answered else None))


def _approval_facts(desk: Desk, session: Session, facts: Facts) -> None:
    """Business-hours waits of the decisions made in the period, and those still waiting."""
    decided = select(Approval).where(
        col(Approval.status).in_(("approved", "rejected")),
        col(Approval.decided_at) >= facts.start,
        col(Approval.decided_at) < facts.end,
    )
    for approval in session.exec(decided).all():
        assert approval.decided_at is not None
        calendar = approval_calendar(desk, session, approval)
        hours = calendar.elapsed(approval.created_at, approval.decided_at) / HOUR
        facts.approvals.append(Measured(approval.decided_at, hours))
    waiting = select(Approval.id).where(
        col(Approval.created_at) < facts.end,
        (col(Approval.status) == "pending") | (col(Approval.decided_at) >= facts.end),
    )
    facts.approvals_waiting = len(session.exec(waiting).all())
