"""/metrics: the tally (bot/base/metrics.py), the database's numbers and the live state of
the engine and the channels, in Prometheus' text format (prometheus_client renders it).

A custom collector rather than prometheus_client's own Counter objects: the numbers are
already added up in `TALLY` (engine children send theirs with their replies), so the
collector only turns them into metric families at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bot.base import metrics
from bot.base.metrics import Counts
from store.health import Reading

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    labels: tuple[str, ...] = ()


# What /metrics reads from the database (at most every `ops.gauges_every`) and from the
# running service, beside the counters and histograms of bot/base/metrics.py.
OUTBOX_PENDING = Gauge(
    "deskbot_outbox_pending",
    "Outbox messages not sent yet (due now or later), by channel: the outbox's depth.",
    ("channel",),
)
OUTBOX_DUE = Gauge(
    "deskbot_outbox_due",
    "Outbox messages due to be sent now and not sent, by channel.",
    ("channel",),
)
OUTBOX_OLDEST_DUE = Gauge(
    "deskbot_outbox_oldest_due_seconds",
    "How long the oldest outbox message due and not sent has been due, by channel (0: none).",
    ("channel",),
)
OUTBOX_DEAD_KEPT = Gauge(
    "deskbot_outbox_dead_letters_kept",
    "Outbox messages given up on and kept for `deskbot outbox retry`, by channel.",
    ("channel",),
)
INBOX_DEAD_KEPT = Gauge(
    "deskbot_inbox_dead_letters_kept",
    "Messages from people that could not be handled, kept for `deskbot inbox`.",
)
APPROVALS_WAITING = Gauge("deskbot_approvals_waiting", "Approvals waiting for a decision.")
APPROVALS_OLDEST = Gauge(
    "deskbot_approvals_oldest_waiting_seconds",
    "How long the oldest approval waiting for a decision has waited (0: none).",
)
TICKETS_OPEN = Gauge(
    "deskbot_tickets_open", "Tickets not resolved or closed, by queue.", ("queue",)
)
DATABASE_UP = Gauge(
    "deskbot_database_up", "1 when the database answered the last reading for /metrics, else 0."
)
CHANNEL_UP = Gauge(
    "deskbot_channel_up",
    "1 while a chat platform can reach deskbot (connected, listening or polling), else 0.",
    ("channel",),
)
ENGINE_DOWN = Gauge(
    "deskbot_engine_processes_down",
    "Engine processes dead or still starting (0 when every one takes messages).",
)
GAUGES = (
    OUTBOX_PENDING,
    OUTBOX_DUE,
    OUTBOX_OLDEST_DUE,
    OUTBOX_DEAD_KEPT,
    INBOX_DEAD_KEPT,
    APPROVALS_WAITING,
    APPROVALS_OLDEST,
    TICKETS_OPEN,
    DATABASE_UP,
    CHANNEL_UP,
    ENGINE_DOWN,
)


@dataclass
class Scrape:
    """What one scrape shows besides the tally."""

    counts: Counts
    reading: Reading | None  # None: the database did not answer
    channels: dict[str, bool] = field(default_factory=dict)  # name -> receiving
    engine_down: int = 0


def render(scrape: Scrape) -> bytes:
    """The text exposition of one scrape, with this process's own CPU and memory."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(scrape))
    ProcessCollector(registry=registry)  # process_cpu_seconds_total, memory, open fds
    return generate_latest(registry)


class _Collector(Collector):
    def __init__(self, scrape: Scrape) -> None:
        self.scrape = scrape

    def collect(self) -> Iterable[Metric]:
        yield from _tallied(self.scrape.counts)
        yield from _gauges(self.scrape)


def _tallied(counts: Counts) -> Iterator[Metric]:
    for metric in metrics.METRICS:
        if metric.kind == "counter":
            counter = CounterMetricFamily(
                metric.name.removesuffix("_total"), metric.help, labels=metric.labels
            )
            for (name, labels), value in sorted(counts.counters.items()):
                if name == metric.name:
                    counter.add_metric(list(labels), value)
            if not metric.labels and not any(n == metric.name for n, _ in counts.counters):
                counter.add_metric([], 0.0)  # an unlabelled counter is 0 before it moves
            yield counter
            continue
        histogram = HistogramMetricFamily(metric.name, metric.help, labels=metric.labels)
        bounds = [*(_bound(b) for b in metric.buckets), "+Inf"]
        for (name, labels), series in sorted(counts.histograms.items()):
            if name != metric.name:
                continue
            cumulative = list(accumulate(series.counts))
            histogram.add_metric(
                list(labels),
                list(zip(bounds, (float(c) for c in cumulative), strict=True)),
                series.total,
            )
        yield histogram


def _bound(bound: float) -> str:
    return repr(float(bound))


def _gauges(scrape: Scrape) -> Iterator[Metric]:
    reading = scrape.reading
    yield _gauge(DATABASE_UP, {(): 1.0 if reading is not None else 0.0})
    yield _gauge(CHANNEL_UP, {(n,): float(up) for n, up in scrape.channels.items()})
    yield _gauge(ENGINE_DOWN, {(): float(scrape.engine_down)})
    if reading is None:
        return  # nothing read: absent rather than a stale or made-up number
    yield _gauge(OUTBOX_PENDING, _by(reading.outbox_pending))
    yield _gauge(OUTBOX_DUE, _by(reading.outbox_due))
    oldest = dict.fromkeys((*scrape.channels, *reading.outbox_pending), 0.0)
    yield _gauge(OUTBOX_OLDEST_DUE, _by({**oldest, **reading.oldest_due_seconds}))
    yield _gauge(OUTBOX_DEAD_KEPT, _by(reading.outbox_dead))
    yield _gauge(INBOX_DEAD_KEPT, {(): float(reading.inbox_dead)})
    yield _gauge(APPROVALS_WAITING, {(): float(reading.approvals_waiting)})
    yield _gauge(APPROVALS_OLDEST, {(): reading.oldest_approval_seconds})
    yield _gauge(TICKETS_OPEN, _by(reading.open_tickets))


def _by(values: Mapping[str, float]) -> dict[tuple[str, ...], float]:
    return {(key,): float(value) for key, value in values.items()}


def _gauge(gauge: Gauge, values: Mapping[tuple[str, ...], float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(gauge.name, gauge.help, labels=gauge.labels)
    for labels, value in sorted(values.items()):
        family.add_metric(list(labels), value)
    return family


def names() -> set[str]:
    """Every metric name /metrics can show (as a PromQL query names it)."""
    found: set[str] = set()
    for metric in metrics.METRICS:
        if metric.kind == "histogram":
            found |= {f"{metric.name}_bucket", f"{metric.name}_sum", f"{metric.name}_count"}
        else:
            found.add(metric.name)
    found |= {gauge.name for gauge in GAUGES}
    return found
