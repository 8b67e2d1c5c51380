"""The store on SQLite and PostgreSQL: migrations, audit immutability, races, time zones."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

from store import conversations
from store import tickets as repo
from store.conversations import Conversation
from store.db import Store
from store.events import claim_event, forget_events
from store.migrate import current, head, include_object
from store.models import ProcessedEvent

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_migrations_reach_head_and_match_the_models(db_url: str):
    store = Store(db_url)
    assert current(store) == head(store)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(context, SQLModel.metadata) == []
    store.dispose()


def new_ticket(store: Store, number: str):
    with store.begin() as session:
        return repo.create_ticket(
            session=session,
            number=number,
            now=NOW,
            type="incident",
            requester_id="alice",
            status="new",
            priority="P3",
            queue="service_desk",
            title="t",
        )


def test_audit_trail_is_append_only(db_url: str):
    store = Store(db_url)
    ticket = new_ticket(store, "IT-1")
    with store.begin() as session:
        repo.add_event(session=session, ticket=ticket, at=NOW, actor_id="alice", kind="created")
    for statement in ("UPDATE ticket_event SET note = 'forged'", "DELETE FROM ticket_event"):
        with pytest.raises(DBAPIError, match="append-only"), store.begin() as session:
            session.execute(text(statement))
    with store.read() as session:
        [event] = repo.events_of(session=session, ticket_id=ticket.id)
    assert event.note == "" and event.kind == "created"
    store.dispose()


def test_ticket_numbers_are_unique_under_concurrent_writers(db_url: str):
    store = Store(db_url)
    numbers: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            with store.begin() as session:
                n = repo.next_number(session=session, prefix="IT", start=1000)
            with lock:
                numbers.append(n)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(numbers) == [f"IT-{n}" for n in range(1000, 1060)]
    store.dispose()


CHILD = """
import sys
from store.db import Store
from store import tickets as repo
store = Store(sys.argv[1])
out = []
for _ in range(15):
    with store.begin() as session:
        out.append(repo.next_number(session=session, prefix="IT", start=1000))
print(" ".join(out))
"""


def test_ticket_numbers_are_unique_across_processes(db_url: str):
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, db_url], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    numbers = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        numbers += out.split()
    assert sorted(numbers, key=lambda n: int(n[3:])) == [f"IT-{n}" for n in range(1000, 1045)]


def test_event_ids_are_claimed_once_and_forgotten_later(db_url: str):
    store = Store(db_url)
    with store.begin() as session:
        assert claim_event(session=session, channel="slack", event_id="Ev1", now=NOW)
        assert not claim_event(session=session, channel="slack", event_id="Ev1", now=NOW)
        assert claim_event(session=session, channel="telegram", event_id="Ev1", now=NOW)
    with store.begin() as session:
        assert forget_events(session=session, before=NOW + timedelta(seconds=1)) == 2
    with store.read() as session:
        assert session.get(ProcessedEvent, ("slack", "Ev1")) is None
    store.dispose()


def test_conversation_rows_round_trip_and_count_every_save(db_url: str):
    store = Store(db_url)
    key = {"channel": "slack", "person_id": "alice", "conversation": "D1"}
    later = NOW + timedelta(minutes=5)

    def save(session: Session, row: Conversation | None, data: dict[str, object]) -> Conversation:
        return conversations.save_conversation(
            session=session,
            **key,
            service_id="vpn",
            language="de",
            data=data,
            now=NOW,
            expires_at=later,
            row=row,
            loaded=True,
        )

    with store.begin() as session:
        assert conversations.load_conversation(session=session, **key) is None
        first = save(session, None, {"journey": {"step": "a"}})
        # A nested turn that also found no row: the second insert turns into an update.
        again = save(session, None, {"journey": {"step": "b"}})
    assert (first.version, again.id, again.version) == (1, first.id, 2)
    with store.begin() as session:
        row = conversations.load_conversation(session=session, **key)
        assert row is not None and row.data == {"journey": {"step": "b"}}
        assert (row.language, row.service_id, row.expires_at) == ("de", "vpn", later)
        conversations.clear_expiry(session=session, row_id=row.id)
    with store.read() as session:
        row = conversations.load_conversation(session=session, **key)
        assert row is not None and row.expires_at is None and row.version == 2
    store.dispose()


def test_times_come_back_aware_utc_and_naive_times_are_refused(db_url: str):
    store = Store(db_url)
    shanghai = timezone(timedelta(hours=8))
    with store.begin() as session:
        t = repo.create_ticket(
            session=session,
            number="IT-9",
            now=datetime(2026, 11, 23, 18, 0, tzinfo=shanghai),
            type="request",
            requester_id="wang.fang",
            status="new",
            priority="P4",
            queue="service_desk",
            title="x",
        )
    with store.read() as session:
        again = repo.get_ticket(session=session, number="it-9")
    assert again is not None and again.created_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert again.created_at.tzinfo is not None
    with pytest.raises(Exception, match="naive datetime"), store.begin() as session:
        repo.create_ticket(
            session=session,
            number="IT-10",
            now=datetime(2026, 1, 1),
            type="request",
            requester_id="a",
            status="new",
            priority="P4",
            queue="q",
            title="x",
        )
    del t
    store.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000
    store.dispose()
