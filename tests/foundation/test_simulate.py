"""`deskbot simulate`: the scheduler's jobs on a moved clock against a copy of the store."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.desk import Desk
from store import tickets as repo
from store.models import OutboxMessage
from tests.tickets.helpers import new_ticket

from .helpers import deskbot


def _outbox(desk: Desk) -> list[tuple[int | None, str]]:
    with desk.store.read() as session:
        return [(r.id, r.status) for r in session.exec(select(OutboxMessage)).all()]


def test_the_days_ahead_are_shown_and_the_live_store_is_untouched(desk: Desk, db_url: str):
    chat = MemoryChat(desk)
    for line in ("I forgot my password", "1", "yes", "+44 20 7946 0000"):
        chat.say("alice", line)
    chat.say("dana", "/claim IT-1000")
    chat.say("dana", "/resolve IT-1000 Reset it with you on the phone")
    assert new_ticket(desk, "bob", "Monitor flickers") == "IT-1001"  # nobody claims it
    chat.flush()
    before = _outbox(desk)

    ran = deskbot(
        "simulate", "--days", "10", "--step", "2h", "--format", "json",
        env={"DATABASE_URL": db_url},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    shown = json.loads(ran.stdout)["messages"]
    said = [(m["to"], m["text"]) for m in shown]
    # Alice: asked to confirm before her resolved ticket closes, then told it closed.
    assert any(to == "Alice Morgan" and "was marked resolved" in t for to, t in said)
    assert any(to == "Alice Morgan" and t.startswith("I've closed IT-1000") for to, t in said)
    # Bob's fault waits unclaimed: the lead is warned, then the breach is escalated.
    lead = [t for to, t in said if to == "Dana Whitfield"]
    assert any("IT-1001" in t for t in lead), said
    times = [m["at"] for m in shown]
    assert times == sorted(times)

    # Nothing of that happened for real: the live store is as it was.
    with desk.store.read() as session:
        alice = repo.get_ticket(session=session, number="IT-1000")
        assert alice is not None and alice.status == "resolved"
    assert _outbox(desk) == before


def test_bad_arguments_are_named():
    ran = deskbot("simulate", "--step", "soon")
    assert ran.returncode == 2 and "--step" in ran.stderr
