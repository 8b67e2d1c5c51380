"""Race-free claim: technicians pressing Claim on the same tickets at the same moment, from
threads and from separate processes, on SQLite and PostgreSQL. Exactly one wins each
ticket; every other one is told who has it; the audit trail and the requester's notices
show exactly one claim."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.app import load_config
from bot.base.markup import to_plain
from bot.base.messages import Inbound
from bot.chat.engine import Engine
from bot.desk import Desk
from store.models import OutboxMessage
from tests.desks import handed
from tests.tickets import race_worker
from tests.tickets.helpers import SLACK_TRIAGE, get, kinds, new_ticket

ROOT = Path(__file__).resolve().parents[2]
TECHNICIANS = ["dana", "alex", "chen.jie", "priya"]  # priya is an admin: every queue


def open_tickets(desk: Desk, count: int) -> list[str]:
    return [new_ticket(desk, "alice", f"Laptop {i} won't boot") for i in range(count)]


def lang(desk: Desk, person_id: str) -> str:
    person = desk.directory.get(person_id)
    assert person is not None
    return person.language


def assert_one_winner_each(
    desk: Desk, numbers: list[str], results: list[tuple[str, str, str]], people: list[str]
) -> None:
    by_ticket: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for person, number, text in results:
        by_ticket[number].append((person, text))
    texts = desk.texts
    for number in numbers:
        answers = by_ticket[number]
        assert sorted(p for p, _ in answers) == sorted(people)
        title = get(desk, number).title
        winners = [
            p
            for p, text in answers
            if text == texts.plain(lang(desk, p), "tickets.claimed", number=number, title=title)
        ]
        assert len(winners) == 1, answers
        winner = desk.directory.get(winners[0])
        assert winner is not None
        for person, text in answers:
            if person != winner.id:  # told who has it, in their own language
                told = texts.plain(
                    lang(desk, person), "tickets.already_claimed", number=number, name=winner.name
                )
                assert text == told
        ticket = get(desk, number)
        assert ticket.assignee_id == winner.id and ticket.status == "in_progress"
        assert kinds(desk, number).count("claimed") == 1
    with desk.store.read() as session:
        notices = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.idem_key).startswith("tickets.told_claimed:")
            )
        ).all()
    assert len(notices) == len(numbers)  # each requester heard about exactly one claim


def test_concurrent_claims_from_threads(tdesk: Desk) -> None:
    numbers = open_tickets(tdesk, 5)
    barrier = threading.Barrier(len(TECHNICIANS))
    results: list[tuple[str, str, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def technician(person: str) -> None:
        engine = Engine(tdesk)
        try:
            barrier.wait(timeout=30)
            for number in numbers:
                replies = engine.handle(
                    Inbound(
                        "slack",
                        SLACK_TRIAGE,
                        person,
                        action=f"t:claim:{number}",
                        event_id=uuid.uuid4().hex,
                    )
                )
                with lock:
                    results.append((person, number, "\n".join(to_plain(r.text) for r in replies)))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=technician, args=(p,)) for p in TECHNICIANS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert_one_winner_each(tdesk, numbers, results, TECHNICIANS)


@pytest.mark.slow  # spawns three interpreters, each building a desk
def test_concurrent_claims_from_processes(tdesk: Desk, db_url: str) -> None:
    numbers = open_tickets(tdesk, 4)
    people = TECHNICIANS[:3]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(people))
    out = ctx.Queue()
    now = tdesk.clock.now().isoformat()
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": db_url})  # as the workers do
    contents = handed(settings)
    procs = [
        ctx.Process(
            target=race_worker.claim_all, args=(db_url, now, p, numbers, barrier, out, contents)
        )
        for p in people
    ]
    for p in procs:
        p.start()
    results: list[tuple[str, str, str]] = []
    try:
        while len(results) < len(people) * len(numbers):
            results.append(out.get(timeout=120))
    except queue.Empty:
        pass
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * len(people)
    assert_one_winner_each(tdesk, numbers, results, people)
