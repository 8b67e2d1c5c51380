"""The SLA clock: working time in the queue's business hours, stopped in some statuses.

The stops are read from the audit trail (every status change is a `ticket_event` with
`to_status`), so nothing else needs to track them. Targets come from config.yaml per SLA
policy and priority. A target in whole days ("3d") counts working days of the queue's
calendar, so 75% of it is a real point in working time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.base.calendar import BusinessCalendar
from store.models import TicketEvent

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Span:
    """A ticket was in `status` from `start` until `end` (None: still is)."""

    status: str
    start: datetime
    end: datetime | None


def status_spans(events: Sequence[TicketEvent]) -> list[Span]:
    """The ticket's statuses over time, from the events that changed it (oldest first)."""
    spans: list[Span] = []
    for event in sorted(events, key=lambda e: (e.at, e.id or 0)):
        if not event.to_status:
            continue
        if spans and spans[-1].end is None:
            if spans[-1].status == event.to_status:
                continue
            spans[-1] = Span(spans[-1].status, spans[-1].start, event.at)
        spans.append(Span(event.to_status, event.at, None))
    return spans


def stops(spans: Iterable[Span], statuses: Iterable[str]) -> list[tuple[datetime, datetime | None]]:
    """The intervals in which the clock stood still (`end` None: it still does)."""
    wanted = set(statuses)
    out: list[tuple[datetime, datetime | None]] = []
    for span in spans:
        if span.status not in wanted:
            continue
        if out and out[-1][1] == span.start:  # adjacent stops merge
            out[-1] = (out[-1][0], span.end)
        else:
            out.append((span.start, span.end))
    return out


class SlaClock:
    """Working time since `start`, minus the stops."""

    def __init__(
        self,
        calendar: BusinessCalendar,
        start: datetime,
        stopped: Sequence[tuple[datetime, datetime | None]] = (),
    ) -> None:
        self.calendar = calendar
        self.start = start
        self.stopped = [(a, b) for a, b in stopped if b is None or b > start]

    @property
    def running(self) -> bool:
        return not self.stopped or self.stopped[-1][1] is not None

    def _runs(self) -> list[tuple[datetime, datetime | None]]:
        """The intervals in which the clock ran (`end` None: it still runs)."""
        runs: list[tuple[datetime, datetime | None]] = []
        at = self.start
        for a, b in self.stopped:
            if a > at:
                runs.append((at, a))
            if b is None:
                return runs
            at = max(at, b)
        runs.append((at, None))
        return runs

    def working(self, target: timedelta) -> timedelta:
        """A target as working time: whole days are working days of this calendar."""
        if target >= DAY and target % DAY == timedelta(0):
            return self.calendar.day_length * (target // DAY)
        return target

    def elapsed(self, now: datetime) -> timedelta:
        total = timedelta(0)
        for a, b in self._runs():
            end = now if b is None else min(b, now)
            total += self.calendar.elapsed(a, end)
        return total

    def due(self, target: timedelta, share: float = 1.0) -> datetime | None:
        """When `share` of `target` will have run out; None while the clock stands still
        before reaching it (the moment is not known until it runs again)."""
        remaining = self.working(target) * share
        for a, b in self._runs():
            if b is None:
                return self.calendar.add_working(a, remaining)
            available = self.calendar.elapsed(a, b)
            if remaining <= available:
                return self.calendar.add_working(a, remaining)
            remaining -= available
        return None
