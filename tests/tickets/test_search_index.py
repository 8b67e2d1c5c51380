"""The search index itself, on SQLite and PostgreSQL: both databases read the tokens as
`store.search_text` wrote them, the migration indexes tickets that were already there, and
`deskbot tickets --search` finds, filters, ranks and limits as /find does."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import text

from bot.adapters.memory import MemoryChat
from bot.desk import Desk
from store import search
from store import tickets as repo
from store.db import Store
from store.migrate import upgrade
from store.search_text import document
from tests.conftest import PG_URL
from tests.foundation.helpers import deskbot
from tests.tickets.helpers import new_ticket

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SAMPLES = (
    "打印机卡纸了，三楼 HP-LaserJet 4200",
    "Café crème: naïve user's PASSWORD reset (ＡＢＣ１２３)",
    "VPN token 0x1f expired; see KB-42, e.g. foo_bar.baz@example.com",
    "비밀번호 재설정 / パスワード 再設定",
    "x² ½ Ⅻ straße ŒUVRE",
)


def test_both_databases_read_the_tokens_as_they_were_written(db_url: str) -> None:
    """The 'simple' parser and the unicode61 tokenizer split nothing further and fold nothing
    differently, so a token written is a token found on either database."""
    store = Store(db_url)
    for sample in SAMPLES:
        tokens = document(sample).split()
        with store.engine.connect() as conn:
            if store.dialect == "postgresql":
                got = conn.execute(
                    text("SELECT tsvector_to_array(to_tsvector('simple', :d))"),
                    {"d": " ".join(tokens)},
                ).scalar_one()
            else:
                conn.exec_driver_sql(
                    "CREATE VIRTUAL TABLE temp.probe USING "
                    "fts5(body, tokenize='unicode61 remove_diacritics 0')"
                )
                conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(probe, row)")
                conn.execute(text("INSERT INTO probe(body) VALUES (:d)"), {"d": " ".join(tokens)})
                got = [r[0] for r in conn.exec_driver_sql("SELECT term FROM temp.terms")]
                conn.exec_driver_sql("DROP TABLE temp.terms")
                conn.exec_driver_sql("DROP TABLE temp.probe")
        assert sorted(got) == sorted(set(tokens)), sample
    store.dispose()


def test_query_text_cannot_reach_the_query_syntax(db_url: str) -> None:
    store = Store(db_url)
    with store.begin() as session:
        repo.create_ticket(
            session=session,
            number="IT-1",
            now=NOW,
            type="incident",
            requester_id="alice",
            status="new",
            priority="P3",
            queue="service_desk",
            title="printer OR NOT jam near x",
        )
    with store.read() as session:
        for raw in ('printer" OR "x', "printer') | ('x", "NEAR(printer jam)", "jam*", "-printer"):
            found = search.search(session, raw, search.Filters())
            # Operators are words like any other: found, never an error or an exclusion.
            assert [t.number for t in found.tickets] == ["IT-1"], raw
    store.dispose()


def _schema_at(db_url: str, tmp_path: Path, revision: str) -> tuple[Store, str | None]:
    """A fresh database migrated up to `revision` (PostgreSQL: a schema of its own)."""
    if db_url.startswith("sqlite"):
        return Store(f"sqlite:///{tmp_path / 'old.db'}"), None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return Store(f"{PG_URL}?options=-csearch_path%3D{schema}"), schema


def test_the_migration_indexes_the_tickets_already_there(db_url: str, tmp_path: Path) -> None:
    store, schema = _schema_at(db_url, tmp_path, "0008")
    try:
        upgrade(store, "0008")
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO ticket (id, number, type, requester_id, status, priority, queue, "
                    "title, description, answers, source, language, created_at, updated_at) "
                    "VALUES (7, 'IT-7', 'incident', 'wang.fang', 'open', 'P3', 'service_desk', "
                    "'打印机卡纸', 'third floor', :answers, 'desk', 'zh', :at, :at)"
                ),
                {"at": NOW, "answers": '{"model": "LaserJet"}'},
            )
            conn.execute(
                text(
                    "INSERT INTO ticket_event (ticket_id, at, actor_id, kind, note, data) "
                    "VALUES (7, :at, 'dana', 'note', 'replaced the fuser unit', '{}')"
                ),
                {"at": NOW},
            )
        upgrade(store)
        with store.read() as session:
            for words in ("打印机", "laserjet", "fuser", "third floor"):
                found = search.search(session, words, search.Filters())
                assert [t.number for t in found.tickets] == ["IT-7"], words
    finally:
        store.dispose()
        if schema:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_tickets_search_from_the_command_line(db_url: str, tdesk: Desk, tchat: MemoryChat) -> None:
    jam = new_ticket(tdesk, "alice", "Printer jammed on floor 3")
    net = new_ticket(tdesk, "bob", "Network printer offline", queue="network")
    zh = new_ticket(tdesk, "wang.fang", "打印机没有反应")
    tchat.say("dana", f"/note {jam} the printer needed a new fuser")
    env = {"DATABASE_URL": db_url}

    result = deskbot("tickets", "--search", "printer", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == 2 and {t["number"] for t in data["tickets"]} == {jam, net}
    assert [t["rank"] for t in data["tickets"]] == [1, 2]
    first = next(t for t in data["tickets"] if t["number"] == jam)
    assert first["queue"] == "service_desk" and "printer" in first["snippet"].lower()

    one = json.loads(
        deskbot(
            "tickets", "--search", "printer", "--queue", "network", "--format", "json", env=env
        ).stdout
    )
    assert [t["number"] for t in one["tickets"]] == [net]
    limited = deskbot("tickets", "--search", "printer", "--limit", "1", env=env)
    assert limited.returncode == 0 and "(1 more;" in limited.stdout
    assert zh in deskbot("tickets", "--search", "打印机", env=env).stdout
    by = json.loads(
        deskbot(
            "tickets", "--search", "printer", "--requester", "bob", "--format", "json", env=env
        ).stdout
    )
    assert [t["number"] for t in by["tickets"]] == [net]
    fuser = json.loads(deskbot("tickets", "--search", "fuser", "--format", "json", env=env).stdout)
    assert [t["number"] for t in fuser["tickets"]] == [jam]

    bad = deskbot("tickets", "--search", "printer", "--since", "soon", env=env)
    assert bad.returncode == 2 and "can't read soon as a time" in bad.stderr
    nothing = deskbot("tickets", "--search", "the", env=env)
    assert nothing.returncode == 2 and "needs a word" in nothing.stderr
