"""Problem figures for `deskbot report` (docs/insight.md, "Problems"): problems opened and
resolved in the period, open at its end, incidents per problem, recurring-fault candidates,
and the same by service. Read once for the period (not week by week)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from store.models import Problem, ProblemCandidate, ProblemLink

GENERAL = "_general"  # problems without a service


@dataclass(frozen=True)
class ServiceProblems:
    service: str  # a service id, or GENERAL
    opened: int = 0
    resolved: int = 0
    open: int = 0
    incidents: int = 0  # linked to the problems of the service seen in the period
    candidates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "opened": self.opened,
            "resolved": self.resolved,
            "open_at_end": self.open,
            "incidents_linked": self.incidents,
            "recurring_candidates": self.candidates,
        }


@dataclass(frozen=True)
class ProblemFigures:
    opened: int
    resolved: int
    open: int  # at the end of the period
    problems_seen: int  # open at some time in the period
    incidents: int  # linked to those
    candidates: int  # recurring faults proposed in the period
    by_service: list[ServiceProblems] = field(default_factory=list)

    @property
    def per_problem(self) -> float | None:
        return self.incidents / self.problems_seen if self.problems_seen else None

    def as_dict(self) -> dict[str, Any]:
        per = self.per_problem
        return {
            "opened": self.opened,
            "resolved": self.resolved,
            "open_at_end": self.open,
            "problems_in_period": self.problems_seen,
            "incidents_linked": self.incidents,
            "incidents_per_problem": None if per is None else round(per, 2),
            "recurring_candidates": self.candidates,
            "by_service": [s.as_dict() for s in self.by_service],
        }


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def problem_figures(session: Session, start: datetime, end: datetime) -> ProblemFigures:
    """The problem figures of [start, end)."""
    seen = list(
        session.exec(
            select(Problem).where(
                col(Problem.created_at) < end,
                col(Problem.resolved_at).is_(None) | (col(Problem.resolved_at) >= start),
            )
        ).all()
    )
    ids = [p.id for p in seen if p.id is not None]
    links: Counter[int] = Counter()
    if ids:
        rows = session.exec(
            select(ProblemLink.problem_id, func.count())
            .where(
                col(ProblemLink.problem_id).in_(ids),
                col(ProblemLink.status) == "linked",
                col(ProblemLink.created_at) < end,
            )
            .group_by(col(ProblemLink.problem_id))
        ).all()
        links.update(dict(rows))
    proposed = session.exec(
        select(ProblemCandidate.service_id).where(
            col(ProblemCandidate.created_at) >= start, col(ProblemCandidate.created_at) < end
        )
    ).all()
    services: dict[str, dict[str, int]] = {}

    def bump(service: str | None, name: str, by: int = 1) -> None:
        row = services.setdefault(service or GENERAL, Counter())
        row[name] += by

    opened = resolved = still_open = 0
    for problem in seen:
        service = problem.service_id
        bump(service, "incidents", links[problem.id or 0])
        if _within(problem.created_at, start, end):
            opened += 1
            bump(service, "opened")
        if _within(problem.resolved_at, start, end):
            resolved += 1
            bump(service, "resolved")
        if problem.resolved_at is None or problem.resolved_at >= end:
            still_open += 1
            bump(service, "open")
    for service in proposed:
        bump(service, "candidates")
    by_service = [
        ServiceProblems(service=s, **counts)
        for s, counts in sorted(services.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    ]
    return ProblemFigures(
        opened=opened,
        resolved=resolved,
        open=still_open,
        problems_seen=len(seen),
        incidents=sum(links.values()),
        candidates=len(proposed),
        by_service=by_service,
    )
