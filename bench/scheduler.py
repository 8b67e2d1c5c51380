"""Benchmark: one sweep and one dispatch round with 1k ... 1M open tickets, and throughput.

    .venv/bin/python -m bench.scheduler [--sizes 1000,10000,100000,1000000] [--due 100]
                                        [--database postgresql://...]

For each size a fresh database gets that many open tickets, bulk-inserted directly: each
with its `created` audit event, three pending timers (resolution SLA warning and breach,
nudge) and one delivered outbox message of history. The follow cursor is moved to the end,
as if the sweep had kept up. Then `--due` tickets change (a new audit event each) and
`--due` other tickets have their nudge and SLA warning due now, and we time:

* one sweep: re-plan the changed tickets, fire the due timers (2 x due notices);
* one dispatch round: send every pending message to a fake channel;
* throughput: 2,000 messages to 200 conversations through the dispatcher, rounds of 50.

The sweep and the round should cost the same at every size: they read new events from a
cursor, due timers from a partial index, and pending messages from partial indexes.
Ratios are against the smallest size, measured in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, text, update

from bot.adapters.memory import MemoryChannel
from bot.app import build_desk, load_config
from bot.base.clock import FixedClock
from bot.base.messages import Address, Message
from bot.desk import Desk
from notifications.dispatch import Dispatcher
from notifications.sla import SlaClock
from notifications.sweep import Sweeper
from store import outbox
from store.db import Store
from store.models import FollowCursor, OutboxMessage, Ticket, TicketEvent, Timer
from store.outbox import notify

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 10:00 London
CHUNK = 20_000
PEOPLE = ("alice", "bob", "wang.fang", "mark", "li.wei", "olivia")


@dataclass
class Row:
    size: int
    insert_s: float
    sweep_ms: float
    sweep_cpu: float
    replanned: int
    fired: int
    round_ms: float
    round_cpu: float
    sent: int
    per_second: float


def chunks(total: int, make: Any) -> Iterator[list[dict[str, Any]]]:
    for start in range(1, total + 1, CHUNK):
        yield [make(i) for i in range(start, min(total, start + CHUNK - 1) + 1)]


def populate(desk: Desk, size: int, due: int) -> None:
    """Bulk-insert `size` open tickets with events, timers and outbox history."""
    calendar = desk.calendar_for("service_desk")
    fresh = NOW - timedelta(hours=1)
    stale = NOW - timedelta(days=6)  # Tue 17 Nov: a nudge (3 working days) is overdue
    target = desk.settings.sla["standard"]["P4"].resolution  # 5 working days

    def moments(created: datetime) -> tuple[datetime, datetime, datetime]:
        clock = SlaClock(calendar, created)
        warn, breach = clock.due(target, 0.75), clock.due(target)
        assert warn is not None and breach is not None
        return warn, breach, calendar.add(created, timedelta(days=3))

    plans = {fresh: moments(fresh), stale: moments(stale)}

    def created_at(i: int) -> datetime:
        return stale if i <= due else fresh

    def ticket(i: int) -> dict[str, Any]:
        at = created_at(i)
        person = PEOPLE[i % len(PEOPLE)]
        return {
            "id": i,
            "number": f"IT-{i}",
            "type": "incident",
            "service_id": "password_reset",
            "requester_id": person,
            "status": "open",
            "priority": "P4",
            "queue": "service_desk",
            "title": f"Bench ticket {i}",
            "description": "",
            "answers": {},
            "source": "desk",
            "language": "en",
            "channel": "memory",
            "conversation": person,
            "created_at": at,
            "updated_at": at,
            "first_response_at": at,
            "resolution_due": plans[at][1],
        }

    def event(i: int) -> dict[str, Any]:
        return {
            "id": i,
            "ticket_id": i,
            "at": created_at(i),
            "actor_id": PEOPLE[i % len(PEOPLE)],
            "kind": "created",
            "to_status": "open",
            "note": "",
            "data": {},
        }

    def timer(n: int) -> dict[str, Any]:
        i, which = (n + 2) // 3, n % 3
        warn, breach, nudge = plans[created_at(i)]
        kind, key, at = (
            ("sla_warn", f"sla:resolution:warn:t{i}", warn),
            ("sla_breach", f"sla:resolution:breach:t{i}", breach),
            ("nudge", f"nudge:t{i}:e{i}", nudge),
        )[which]
        return {
            "id": n,
            "key": key,
            "kind": kind,
            "subject": f"t{i}",
            "due_at": at,
            "status": "pending",
            "data": {"target": "resolution"} if kind != "nudge" else {"after": i},
            "attempts": 0,
            "created_at": created_at(i),
            "updated_at": created_at(i),
        }

    def sent(i: int) -> dict[str, Any]:
        person = PEOPLE[i % len(PEOPLE)]
        return {
            "id": i,
            "idem_key": f"history:{i}",
            "channel": "memory",
            "conversation": person,
            "person_id": person,
            "payload": {"text": "old news"},
            "status": "sent",
            "attempts": 1,
            "available_at": created_at(i),
            "created_at": created_at(i),
            "sent_at": created_at(i),
        }

    with desk.store.engine.begin() as conn:
        for model, total, make in (
            (Ticket, size, ticket),
            (TicketEvent, size, event),
            (Timer, size * 3, timer),
            (OutboxMessage, size, sent),
        ):
            table = getattr(model, "__table__")  # noqa: B009 - SQLModel hides it from typing
            for rows in chunks(total, make):
                conn.execute(insert(table), rows)
            if desk.store.dialect == "postgresql":
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), :n)"),
                    {"n": total},
                )
        conn.execute(
            insert(FollowCursor.__table__),  # type: ignore[attr-defined]
            [
                {"name": "ticket_event", "position": size, "holes": {}, "updated_at": NOW},
                {"name": "approval", "position": 0, "holes": {}, "updated_at": NOW},
            ],
        )


def change_some(desk: Desk, size: int, due: int) -> None:
    """`due` tickets (not the overdue ones) get claimed: new audit events to follow."""
    with desk.store.begin() as session:
        for i in range(size - due + 1, size + 1):
            session.execute(
                update(Ticket)
                .where(Ticket.id == i)  # type: ignore[arg-type]
                .values(status="in_progress", assignee_id="alex", updated_at=NOW)
            )
            session.add(
                TicketEvent(
                    ticket_id=i,
                    at=NOW,
                    actor_id="alex",
                    kind="claimed",
                    from_status="open",
                    to_status="in_progress",
                )
            )


def throughput(desk: Desk, clock: FixedClock, messages: int = 2000) -> float:
    with desk.store.begin() as session:
        for n in range(messages):
            conv = f"t{n % 200}"
            notify(
                session=session,
                to=Address("memory", conv, None),
                message=Message(text=f"message {n}"),
                idem_key=f"bench:{n}",
                now=clock.now(),
            )
    channel = MemoryChannel("memory")
    dispatcher = Dispatcher.for_desk(desk, {"memory": channel})
    start = time.perf_counter()
    while asyncio.run(dispatcher.run_once()):
        pass
    elapsed = time.perf_counter() - start
    assert len(channel.shown) == messages
    return messages / elapsed


def fresh_database(base: str | None, tmp: Path, size: int) -> tuple[str, Any]:
    """A migrated empty database for one size, and how to drop it afterwards."""
    if base is None:
        url = f"sqlite:///{tmp / f'bench-{size}-{uuid.uuid4().hex[:6]}.db'}"
        Store(url).upgrade()
        return url, lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    store = Store(url)
    store.upgrade()
    store.dispose()

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return url, drop


def measure(size: int, due: int, database: str | None, tmp: Path) -> Row:
    url, drop = fresh_database(database, tmp, size)
    clock = FixedClock(NOW)
    desk = build_desk(load_config(ROOT / "config.yaml", {"DATABASE_URL": url}), clock=clock)
    try:
        start = time.perf_counter()
        populate(desk, size, due)
        if desk.store.is_sqlite:
            with desk.store.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with desk.store.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        inserted = time.perf_counter() - start
        change_some(desk, size, due)

        start, cpu = time.perf_counter(), time.process_time()
        report = Sweeper(desk).sweep(NOW)
        sweep_ms = (time.perf_counter() - start) * 1000
        sweep_cpu = (time.process_time() - cpu) * 1000

        channels = {"memory": MemoryChannel("memory"), "console": MemoryChannel("console")}
        dispatcher = Dispatcher.for_desk(desk, channels)
        with desk.store.read() as session:
            pending = outbox.pending_count(session=session)
        start, cpu = time.perf_counter(), time.process_time()
        sent = asyncio.run(dispatcher.run_once(limit=pending))
        round_ms = (time.perf_counter() - start) * 1000
        round_cpu = (time.process_time() - cpu) * 1000
        per_second = throughput(desk, clock)
        return Row(
            size=size,
            insert_s=inserted,
            sweep_ms=sweep_ms,
            sweep_cpu=sweep_cpu,
            replanned=report.tickets,
            fired=report.outcomes["sent"],
            round_ms=round_ms,
            round_cpu=round_cpu,
            sent=sent,
            per_second=per_second,
        )
    finally:
        desk.store.dispose()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite files)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="deskbot-bench-"))
    backend = "PostgreSQL" if args.database else "SQLite"
    print(
        f"deskbot scheduler benchmark · {backend} · {args.due} changed + {args.due} overdue tickets"
    )
    header = (
        f"{'open tickets':>12} {'insert s':>8} | {'sweep ms':>8} {'cpu ms':>7} {'x base':>6} "
        f"{'planned':>7} {'fired':>5} | {'round ms':>8} {'cpu ms':>7} {'x base':>6} {'sent':>4} "
        f"| {'notif/s':>7}"
    )
    print(header)
    print("-" * len(header))
    base: Row | None = None
    try:
        for size in sizes:
            row = measure(size, args.due, args.database, tmp)
            base = base or row
            sweep_x, round_x = row.sweep_cpu / base.sweep_cpu, row.round_cpu / base.round_cpu
            print(
                f"{row.size:>12,} {row.insert_s:>8.1f} | {row.sweep_ms:>8.0f} "
                f"{row.sweep_cpu:>7.0f} {sweep_x:>6.2f} {row.replanned:>7} {row.fired:>5} | "
                f"{row.round_ms:>8.0f} {row.round_cpu:>7.0f} {round_x:>6.2f} "
                f"{row.sent:>4} | {row.per_second:>7.0f}",
                flush=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
