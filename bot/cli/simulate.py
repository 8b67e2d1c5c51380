"""`deskbot simulate [--days 7] [--step 1h]`: see time pass before going live.

The store is copied (a backup restored into a throw-away SQLite file, whatever the live
database is), and the jobs `deskbot serve`'s scheduler runs - the sweep (reminders, SLA
warnings and breaches, nudges, auto-close, surveys), the insight job (major incidents, the
weekly digest, `/report`s) and the outbox dispatcher - run on a clock moved forward step
by step. Every message they would send is printed instead of sent. The live store is only
read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import build_desk
from bot.base.clock import FixedClock, SystemClock
from bot.base.config import parse_duration, with_database
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from bot.cli.common import add_config, add_format, print_json, print_table, settings_from
from bot.desk import Desk
from bot.insight.job import InsightJob
from notifications.dispatch import Dispatcher
from notifications.sweep import Sweeper
from store import backup as dump

CHANNELS = ("slack", "telegram", "console", "memory")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="show the reminders, SLA alerts, auto-closes and surveys the coming days would "
        "bring, on a copy of the store",
    )
    add_config(p)
    add_format(p)
    p.add_argument("--days", type=int, default=7, help="how far ahead (default 7)")
    p.add_argument("--step", default="1h", help="how often the jobs run (default 1h)")
    p.set_defaults(func=simulate)


@dataclass(frozen=True)
class Sent:
    at: datetime
    out: Outbound
    edit: bool


class Recorder:
    """Stands in for every platform: keeps what would have been sent, and when."""

    def __init__(self, name: str, clock: FixedClock, sent: list[Sent]) -> None:
        self.name = name
        self.clock = clock
        self.sent = sent

    async def send(self, out: Outbound, *, edit: str | None = None) -> str | None:
        self.sent.append(Sent(self.clock.now(), out, edit is not None))
        return edit or f"sim-{len(self.sent)}"


def simulate(args: argparse.Namespace) -> int:
    try:
        step = parse_duration(args.step)
    except ValueError as exc:
        print(f"error: --step: {exc}", file=sys.stderr)
        return 2
    if step < timedelta(minutes=1) or not 1 <= args.days <= 90:
        print("error: --step must be at least 1m and --days between 1 and 90", file=sys.stderr)
        return 2
    settings = settings_from(args)
    live = build_desk(settings, migrate=False)  # refuses a schema behind the code
    with tempfile.TemporaryDirectory(prefix="deskbot-simulate-") as folder:
        copy = Path(folder) / "copy.jsonl.gz"
        try:
            dump.backup(live.store, copy)
        finally:
            live.store.dispose()
        clock = FixedClock(SystemClock().now())
        desk = build_desk(
            with_database(settings, f"sqlite:///{Path(folder) / 'simulated.db'}"),
            clock=clock,
            migrate=True,
        )
        try:
            dump.restore(desk.store, copy)
            sent = asyncio.run(_run(desk, clock, timedelta(days=args.days), step))
        finally:
            desk.store.dispose()
    rows = [_row(desk, s) for s in sent]
    if args.format == "json":
        print_json({"days": args.days, "step": args.step, "messages": rows})
    else:
        print_table(rows, ["at", "channel", "to", "edit", "text"])
        print(f"{len(rows)} messages in {args.days} days (simulated; nothing was sent)")
    return 0


async def _run(desk: Desk, clock: FixedClock, ahead: timedelta, step: timedelta) -> list[Sent]:
    sent: list[Sent] = []
    channels = {name: Recorder(name, clock, sent) for name in CHANNELS}
    dispatcher = Dispatcher.for_desk(desk, channels, worker="simulate")
    sweeper, insight = Sweeper(desk, worker="simulate"), InsightJob(desk, worker="simulate")
    end = clock.now() + ahead
    while True:
        # The same jobs, in the order a scheduler tick would leave them.
        await asyncio.to_thread(sweeper.sweep)
        await asyncio.to_thread(insight.run_once)
        while await dispatcher.run_once():
            pass
        if clock.now() >= end:
            return sent
        clock.advance(step)


def _row(desk: Desk, sent: Sent) -> dict[str, Any]:
    to = sent.out.to
    person = desk.directory.get(to.person_id)
    lines = to_plain(sent.out.text).strip().splitlines()
    return {
        "at": sent.at.isoformat(timespec="minutes"),
        "channel": to.channel,
        "to": person.name if person else to.conversation,
        "edit": "edit" if sent.edit else "",
        "text": (lines[0] if lines else "")[:100],
    }
