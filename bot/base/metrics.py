"""What deskbot counts about the service, wherever the work happens.

The metric definitions (name, kind, labels, meaning) and one tally per process. Code on any
floor counts into `TALLY`; nothing here knows Prometheus: the composition root
(`bot/ops/exposition.py`) renders the tally, and the gauges it reads from the database, in
Prometheus' text format.

Several engine processes: each child drains its tally after every message and sends the
difference to the app process with the replies (`bot/processes.py`), which adds it to its
own. The app process alone owns the numbers served on /metrics, so they add up whatever
process did the work, and a child that dies loses nothing but the message it was handling
(whose turn rolled back anyway).

A turn counts inside `TALLY.held()`: what it counted is added only if the turn ends
without an exception, so a turn rolled back by an outage and tried again counts once.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "histogram"]
LabelValues = tuple[str, ...]
# Counts: (metric name, label values) -> total. Histograms: per bucket upper bound, then sum.
Key = tuple[str, LabelValues]


@dataclass(frozen=True)
class Metric:
    name: str  # Prometheus name: counters end in _total, durations in _seconds
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()  # histograms: upper bounds (+Inf is added)


LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)

MESSAGES = Metric(
    "deskbot_messages_total",
    "counter",
    "Messages and button presses the engine took, by channel and outcome (handled, "
    "duplicate, unknown_person, rate_limited, dead_letter, unavailable).",
    ("channel", "outcome"),
)
TURN_SECONDS = Metric(
    "deskbot_turn_seconds",
    "histogram",
    "Time the engine spent on one message (Engine.handle), by channel.",
    ("channel",),
    LATENCY,
)
MATCHER = Metric(
    "deskbot_matcher_decisions_total",
    "counter",
    "Free-text messages the intent matcher decided, by tier (high, medium, low) and outcome "
    "(understood, offered, out_of_scope, not_understood).",
    ("tier", "outcome"),
)
OFFERS = Metric(
    "deskbot_matcher_offers_total",
    "counter",
    "Offered candidates the person answered: picked one, or rejected them all.",
    ("outcome",),
)
REFERRALS = Metric(
    "deskbot_referrals_total",
    "counter",
    "Requests handed to a person instead of a journey, by reason (asked, no approver).",
    ("reason",),
)
JOURNEYS_STARTED = Metric(
    "deskbot_journeys_started_total", "counter", "Journeys started, by service.", ("service",)
)
JOURNEYS_COMPLETED = Metric(
    "deskbot_journeys_completed_total",
    "counter",
    "Journeys that reached an end, by service and outcome (ticket, self_solved, handoff, "
    "refused, rejected).",
    ("service", "outcome"),
)
JOURNEYS_ABANDONED = Metric(
    "deskbot_journeys_abandoned_total",
    "counter",
    "Journeys left before their end, by service and reason (cancelled, expired, switched).",
    ("service", "reason"),
)
TICKETS_OPENED = Metric(
    "deskbot_tickets_opened_total", "counter", "Tickets opened, by queue.", ("queue",)
)
TICKETS_RESOLVED = Metric(
    "deskbot_tickets_resolved_total", "counter", "Tickets resolved, by queue.", ("queue",)
)
SLA_WARNINGS = Metric(
    "deskbot_sla_warnings_total",
    "counter",
    "SLA warnings sent, by queue and target (response, resolution).",
    ("queue", "target"),
)
SLA_BREACHES = Metric(
    "deskbot_sla_breaches_total",
    "counter",
    "SLA breaches alerted, by queue and target (response, resolution).",
    ("queue", "target"),
)
OUTBOX_SENT = Metric(
    "deskbot_outbox_sent_total", "counter", "Outbox messages delivered, by channel.", ("channel",)
)
OUTBOX_RETRIES = Metric(
    "deskbot_outbox_retries_total",
    "counter",
    "Outbox sends that failed and will be tried again, by channel and reason (rate_limited: "
    "the platform said wait; error: anything else).",
    ("channel", "reason"),
)
OUTBOX_DEAD = Metric(
    "deskbot_outbox_dead_letters_total",
    "counter",
    "Outbox messages given up on (dead letters), by channel.",
    ("channel",),
)
RATE_LIMITED = Metric(
    "deskbot_rate_limited_total",
    "counter",
    "Messages refused by flood control, by limit (messages: per minute; requests: new "
    "requests per hour).",
    ("limit",),
)
ENGINE_RESTARTS = Metric(
    "deskbot_engine_restarts_total",
    "counter",
    "Engine processes that died and were replaced (or were tried again after failing to start).",
)
SCHEDULER_LAG = Metric(
    "deskbot_scheduler_lag_seconds",
    "histogram",
    "How late each scheduler round started after its planned time, by job (outbox, sweep, "
    "insight).",
    ("job",),
    LAG,
)
SCHEDULER_SKIPPED = Metric(
    "deskbot_scheduler_skipped_total",
    "counter",
    "Scheduler rounds skipped because the previous round of the job was still running.",
    ("job",),
)

METRICS: tuple[Metric, ...] = (
    MESSAGES,
    TURN_SECONDS,
    MATCHER,
    OFFERS,
    REFERRALS,
    JOURNEYS_STARTED,
    JOURNEYS_COMPLETED,
    JOURNEYS_ABANDONED,
    TICKETS_OPENED,
    TICKETS_RESOLVED,
    SLA_WARNINGS,
    SLA_BREACHES,
    OUTBOX_SENT,
    OUTBOX_RETRIES,
    OUTBOX_DEAD,
    RATE_LIMITED,
    ENGINE_RESTARTS,
    SCHEDULER_LAG,
    SCHEDULER_SKIPPED,
)


@dataclass
class Histogram:
    """One histogram series: counts per bucket (not cumulative; the last is +Inf) and sum."""

    counts: list[int]
    total: float = 0.0

    def add(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total += other.total


@dataclass
class Counts:
    """Counter totals and histogram series (a tally's content, or a difference of one)."""

    counters: dict[Key, float]
    histograms: dict[Key, Histogram]

    @classmethod
    def empty(cls) -> Counts:
        return cls({}, {})

    def __bool__(self) -> bool:
        return bool(self.counters or self.histograms)

    def add(self, other: Counts) -> None:
        for key, value in other.counters.items():
            self.counters[key] = self.counters.get(key, 0.0) + value
        for key, hist in other.histograms.items():
            mine = self.histograms.get(key)
            if mine is None:
                self.histograms[key] = Histogram(list(hist.counts), hist.total)
            else:
                mine.add(hist)


class Tally:
    """This process's counts; thread-safe (engine threads, the event loop, the sweep)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = Counts.empty()
        self._local = threading.local()

    def count(self, metric: Metric, *labels: str, by: float = 1.0) -> None:
        _check(metric, "counter", labels)
        self._put(Counts({(metric.name, labels): by}, {}))

    def observe(self, metric: Metric, value: float, *labels: str) -> None:
        _check(metric, "histogram", labels)
        counts = [0] * (len(metric.buckets) + 1)
        counts[bisect.bisect_left(metric.buckets, value)] = 1
        self._put(Counts({}, {(metric.name, labels): Histogram(counts, value)}))

    @contextmanager
    def held(self) -> Iterator[None]:
        """Counts made in this thread inside are added only if the block ends without an
        exception (one turn: rolled back means not counted)."""
        outer: Counts | None = getattr(self._local, "held", None)
        mine = Counts.empty()
        self._local.held = mine
        try:
            yield
        finally:
            self._local.held = outer
        if outer is not None:
            outer.add(mine)
        else:
            self.absorb(mine)

    def absorb(self, counts: Counts) -> None:
        """Add counts made elsewhere (an engine child's difference)."""
        with self._lock:
            self._counts.add(counts)

    def drain(self) -> Counts:
        """Everything counted since the last drain, and start again from nothing (an engine
        child sends this to the app process with its replies)."""
        with self._lock:
            counts, self._counts = self._counts, Counts.empty()
        return counts

    def snapshot(self) -> Counts:
        """A copy of the totals (the app process renders these)."""
        copy = Counts.empty()
        with self._lock:
            copy.add(self._counts)
        return copy

    def _put(self, counts: Counts) -> None:
        held: Counts | None = getattr(self._local, "held", None)
        if held is not None:
            held.add(counts)
        else:
            self.absorb(counts)


def _check(metric: Metric, kind: Kind, labels: LabelValues) -> None:
    if metric.kind != kind or len(labels) != len(metric.labels):
        raise ValueError(f"{metric.name} is a {metric.kind} with labels {metric.labels}")


TALLY = Tally()  # the process's own (engine children drain theirs into the app process's)

# How a journey ended (journeys.state.Ended.outcome, or "expired"): left before its end...
ABANDONED = frozenset({"cancelled", "expired", "switched"})


def journey_ended(service: str, outcome: str) -> None:
    """Count a journey's end as abandoned or completed (ticket, self_solved, handoff...)."""
    if outcome in ABANDONED:
        TALLY.count(JOURNEYS_ABANDONED, service, outcome)
    else:
        TALLY.count(JOURNEYS_COMPLETED, service, outcome)
