"""Claim race benchmark: technicians in separate processes pressing Claim on the same
tickets at the same moment, through the real engine, against a naive baseline.

    .venv/bin/python -m bench.claim_race [--tickets 40] [--processes 4] [--postgres URL]

Both runs use the same tickets, processes and barrier. "desk" is `Engine.handle` with a
`t:claim:` button (the conditional UPDATE in store.lifecycle); "naive" reads the ticket in
one transaction and assigns it in another if it looked free, which is what the lifecycle
guards against. Printed: how many tickets had more than one "winner" (doubles), and
claims per second for each, with the ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from bot.app import build_desk, load_config
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Address, Inbound
from bot.chat.engine import Engine
from bot.desk import Desk
from bot.tickets import open_ticket
from store import tickets as repo
from store.models import Ticket

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PEOPLE = ["dana", "alex", "chen.jie", "priya", "dana", "alex"]  # ids may repeat past four


def make_desk(url: str) -> Desk:
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": url})
    return build_desk(settings, clock=FixedClock(NOW), migrate=False)


def worker(url: str, mode: str, person: str, numbers: list[str], barrier: Any, out: Any) -> None:
    desk = make_desk(url)
    engine = Engine(desk)
    lang = desk.directory.people[person].language
    won: list[str] = []
    barrier.wait(timeout=120)
    start = time.perf_counter()
    for i, number in enumerate(numbers):
        if mode == "desk":
            inbound = Inbound(
                "slack", "C0BENCH", person, action=f"t:claim:{number}", event_id=uuid.uuid4().hex
            )
            said = [to_plain(r.text) for r in engine.handle(inbound)]
            mine = desk.texts.plain(lang, "tickets.claimed", number=number, title=f"bench {i}")
            if mine in said:
                won.append(number)
        elif naive_claim(desk, number, person):
            won.append(number)
    out.put((person, won, time.perf_counter() - start))
    desk.store.dispose()


def naive_claim(desk: Desk, number: str, person: str) -> bool:
    """Read, then write: two transactions, no condition on the write."""
    with desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        free = ticket is not None and ticket.assignee_id is None
    if not free:
        return False
    with desk.store.begin() as session:
        session.execute(
            update(Ticket).where(col(Ticket.number) == number).values(assignee_id=person)
        )
    return True


def prepare(url: str, tickets: int) -> list[str]:
    desk = make_desk(url)
    desk.store.upgrade()
    alice = desk.directory.get("alice")
    assert alice is not None
    numbers = []
    with desk.store.begin() as session:
        for i in range(tickets):
            t = open_ticket(
                desk,
                session,
                requester=alice,
                service_id=None,
                ticket_type="incident",
                title=f"bench {i}",
                description="",
                priority="P3",
                queue="service_desk",
                answers={},
                origin=Address("memory", "alice", "alice"),
                language="en",
                now=NOW,
            )
            numbers.append(t.number)
    desk.store.dispose()
    return numbers


def run(url: str, mode: str, tickets: int, processes: int) -> tuple[int, float]:
    """Returns (tickets won by more than one process, claims per second)."""
    numbers = prepare(url, tickets)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(url, mode, PEOPLE[i], numbers, barrier, out))
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    wins = Counter(n for _, won, _ in results for n in won)
    doubles = sum(1 for n in numbers if wins[n] > 1)
    slowest = max(elapsed for _, _, elapsed in results)
    return doubles, tickets * processes / slowest


def fresh_sqlite(tmp: Path, name: str) -> str:
    return f"sqlite:///{tmp / name}.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=40)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--postgres", help="a PostgreSQL URL with an empty schema per run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", lambda name: fresh_sqlite(Path(tmp), name))]
        if args.postgres:
            backends.append(("postgresql", lambda name: pg_schema(args.postgres, name)))
        for backend, url_for in backends:
            desk_doubles, desk_rate = run(url_for("desk"), "desk", args.tickets, args.processes)
            naive_doubles, naive_rate = run(url_for("naive"), "naive", args.tickets, args.processes)
            print(
                f"{backend}: {args.processes} processes x {args.tickets} tickets | "
                f"desk: {desk_doubles} doubles, {desk_rate:.0f} claims/s | "
                f"naive: {naive_doubles} doubles, {naive_rate:.0f} claims/s | "
                f"desk/naive speed {desk_rate / naive_rate:.2f}x"
            )
    if args.postgres:
        drop_schemas(args.postgres)


SCHEMAS: list[str] = []


def pg_schema(base: str, name: str) -> str:
    import psycopg

    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    SCHEMAS.append(schema)
    return f"{base}?options=-csearch_path%3D{schema}"


def drop_schemas(base: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        for schema in SCHEMAS:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
