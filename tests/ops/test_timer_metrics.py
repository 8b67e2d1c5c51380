"""Metrics counted outside a plain turn: SLA warnings and breaches fired by the sweep, the
scheduler's rounds (how late each started), and a turn that breaks."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.metrics import TALLY
from bot.desk import Desk
from bot.ops.exposition import Scrape, render
from notifications.scheduler import build_scheduler, stop_scheduler
from tests.notify.conftest import new_ticket, sweep_at
from tests.notify.test_sla import utc
from tests.ops.helpers import Samples, value
from tests.poison import PILL, poisoned


def exposed() -> Samples:
    """What /metrics would show of the tally, parsed back."""
    text = render(Scrape(TALLY.snapshot(), None)).decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_sla_warnings_and_breaches_are_counted_by_queue_and_target(
    desk: Desk, chat: MemoryChat, clock: FixedClock
) -> None:
    before = exposed()
    new_ticket(desk, priority="P3", queue="service_desk")  # first response due in 4 h
    sweep_at(desk, clock, clock.now(), chat)
    sweep_at(desk, clock, utc(23, 13), chat)  # 75%: the warning
    warned = exposed()
    sweep_at(desk, clock, utc(23, 14), chat)  # the breach
    sweep_at(desk, clock, utc(23, 15), chat)  # fires once, however often the sweep runs
    after = exposed()
    labels = {"queue": "service_desk", "target": "response"}
    assert (
        value(warned, "deskbot_sla_warnings_total", **labels)
        - value(before, "deskbot_sla_warnings_total", **labels)
        == 1
    )
    assert value(warned, "deskbot_sla_breaches_total", **labels) == value(
        before, "deskbot_sla_breaches_total", **labels
    )
    assert (
        value(after, "deskbot_sla_breaches_total", **labels)
        - value(before, "deskbot_sla_breaches_total", **labels)
        == 1
    )


async def test_each_scheduler_round_records_how_late_it_started(desk: Desk) -> None:
    before = exposed()
    scheduler = build_scheduler(desk, {})
    scheduler.start()
    for _ in range(200):  # the first rounds are due at once
        counted = exposed()
        if all(
            value(counted, "deskbot_scheduler_lag_seconds_count", job=job)
            > value(before, "deskbot_scheduler_lag_seconds_count", job=job)
            for job in ("sweep", "insight")
        ):
            break
        await asyncio.sleep(0.05)
    await stop_scheduler(scheduler)
    for job in ("sweep", "insight"):
        grew = value(counted, "deskbot_scheduler_lag_seconds_count", job=job) - value(
            before, "deskbot_scheduler_lag_seconds_count", job=job
        )
        assert grew == 1, job
        assert value(counted, "deskbot_scheduler_lag_seconds_bucket", job=job, le="+Inf") >= 1


def test_a_turn_that_breaks_counts_as_a_dead_letter_and_nothing_it_began(
    desk: Desk, chat: MemoryChat
) -> None:
    chat.say("bob", "talk to a human")
    before = exposed()
    with poisoned(desk):  # the hand-off's ticket is refused by the database
        chat.say("bob", f"my laptop is broken {PILL}")
    after = exposed()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("deskbot_messages_total", channel="memory", outcome="dead_letter") == 1
    assert grew("deskbot_messages_total", channel="memory", outcome="handled") == 0
    assert grew("deskbot_turn_seconds_count", channel="memory") == 1
    # The turn counted a referral before its ticket was refused; it rolled back, so the
    # referral never happened and is not counted.
    assert grew("deskbot_referrals_total", reason="asked") == 0
    assert grew("deskbot_tickets_opened_total", queue="service_desk") == 0
