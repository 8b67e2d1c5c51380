"""Backup and restore (store/backup.py, `deskbot backup` / `deskbot restore`): a store filled
through real journeys, backed up while another thread keeps writing, restored into fresh
SQLite and PostgreSQL databases and compared table by table, row by row."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings, with_database
from bot.cli import main
from bot.desk import Desk
from store import backup as dump
from store import migrate
from store import tickets as repo
from store.db import Store
from tests.conftest import empty_postgres_schema
from tests.desks import build_desk


def reset_password(chat: MemoryChat, person: str, tag: str) -> None:
    chat.say(person, "I forgot my password", event_id=f"{tag}-1")
    chat.say(person, "1", event_id=f"{tag}-2")
    chat.say(person, "no", event_id=f"{tag}-3")
    chat.say(person, "+44 20 7946 0000", event_id=f"{tag}-4")


def fill(chat: MemoryChat) -> None:
    """Tickets, audit events, conversations, outbox rows, timers, matcher outcomes."""
    for n, person in enumerate(("alice", "bob", "wang.fang", "mark")):
        reset_password(chat, person, f"fill-{n}")
    chat.say("bob", "the coffee machine sings opera at night", event_id="fill-odd")
    chat.say("wang.fang", "我忘记密码了", event_id="fill-zh")
    chat.say("dana", "/claim IT-1000", event_id="fill-claim")
    chat.say("dana", "/resolve IT-1000 reset it by phone", event_id="fill-resolve")


def rows_of(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of every deskbot table, in primary-key order, as the models read them."""
    with store.engine.connect() as conn:
        return {
            table.name: [
                dict(r)
                for r in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            ]
            for table in dump.tables()
        }


@pytest.fixture
def fresh_postgres() -> Iterator[Callable[[], str]]:
    """Brand-new, empty PostgreSQL schemas (no tables at all), one per call."""
    with contextlib.ExitStack() as made:

        def new() -> str:
            return made.enter_context(empty_postgres_schema())

        yield new


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Where to restore: a new SQLite file or a new PostgreSQL schema, one per call."""
    if request.param == "postgresql":
        new: Callable[[], str] = request.getfixturevalue("fresh_postgres")
        return new
    names = itertools.count(1)
    return lambda: f"sqlite:///{tmp_path / f'restored-{next(names)}.db'}"


def test_backup_under_load_restores_everything_on_both_databases(
    desk: Desk,
    chat: MemoryChat,
    new_database: Callable[[], str],
    tmp_path: Path,
    clock: FixedClock,
):
    fill(chat)

    # Another person keeps opening tickets the whole time the backup is taken.
    loader = MemoryChat(desk)
    started, backed_up, stop = threading.Event(), threading.Event(), threading.Event()
    after_backup = 0
    failures: list[BaseException] = []

    def keep_writing() -> None:
        nonlocal after_backup
        try:
            n = 0
            while not stop.is_set():
                reset_password(loader, "olivia", f"load-{n}")
                n += 1
                started.set()
                if backed_up.is_set():
                    after_backup += 1
                    if after_backup >= 2:
                        return
        except BaseException as exc:
            failures.append(exc)
            started.set()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        assert started.wait(60)
        under_load = tmp_path / "under-load.jsonl.gz"
        summary = dump.backup(desk.store, under_load)
        backed_up.set()
        writer.join(120)
    finally:
        stop.set()
        writer.join(60)
    assert failures == []
    assert after_backup >= 2  # the writer went on after the snapshot

    # The snapshot restores (every foreign key holds) and is self-consistent: the ticket
    # counter, the tickets and each ticket's audit trail were read at one moment.
    target = Store(new_database())
    try:
        assert dump.restore(target, under_load) == summary
        with target.read() as session:
            tickets = repo.list_tickets(session=session)
            for ticket in tickets:
                assert ticket.id is not None
                kinds = [e.kind for e in repo.events_of(session=session, ticket_id=ticket.id)]
                assert kinds and kinds[0] == "created", ticket.number
        assert len(tickets) == summary.tables["ticket"]
        assert len(tickets) < len(rows_of(desk.store)["ticket"])  # taken mid-load
    finally:
        target.dispose()

    # Quiet now: a second backup restores into a fresh database identical, table by table.
    quiet = tmp_path / "quiet.jsonl.gz"
    summary = dump.backup(desk.store, quiet)
    fresh = Store(new_database())
    try:
        dump.restore(fresh, quiet)
        source, restored = rows_of(desk.store), rows_of(fresh)
        assert summary.rows == sum(len(rows) for rows in source.values())
        assert summary.tables["ticket"] >= 6 and summary.tables["ticket_event"] > 6
        for name, rows in source.items():
            assert restored[name] == rows, name
        # Times come back aware and equal, in UTC.
        created = restored["ticket"][0]["created_at"]
        assert created.utcoffset() is not None and created == clock.now()
    finally:
        fresh.dispose()


def test_restored_postgres_goes_on_numbering_and_counting(
    desk: Desk,
    chat: MemoryChat,
    fresh_postgres: Callable[[], str],
    tmp_path: Path,
    settings: Settings,
):
    """Ids went in as they were: the sequences are moved past them, so the restored desk
    opens its next ticket without colliding with a restored row."""
    fill(chat)
    path = tmp_path / "b.jsonl.gz"
    dump.backup(desk.store, path)
    restored = build_desk(
        with_database(settings, fresh_postgres()), migrate=False, needs_store=False
    )
    try:
        dump.restore(restored.store, path)
        before = rows_of(restored.store)
        reset_password(MemoryChat(restored), "bob", "after")
        after = rows_of(restored.store)
    finally:
        restored.store.dispose()
    assert len(after["ticket"]) == len(before["ticket"]) + 1
    assert after["ticket"][-1]["id"] > before["ticket"][-1]["id"]
    assert after["ticket"][-1]["number"] == f"IT-{1000 + len(before['ticket'])}"
    assert len(after["ticket_event"]) > len(before["ticket_event"])


def test_restore_refuses_a_database_with_rows(desk: Desk, chat: MemoryChat, tmp_path: Path):
    fill(chat)
    path = tmp_path / "b.jsonl.gz"
    dump.backup(desk.store, path)
    with pytest.raises(dump.BackupError, match=r"not empty \(rows in .*ticket"):
        dump.restore(desk.store, path)


def test_restore_refuses_another_schema_revision(desk: Desk, chat: MemoryChat, tmp_path: Path):
    fill(chat)
    path = tmp_path / "b.jsonl.gz"
    dump.backup(desk.store, path)
    lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["revision"] = "0003"
    old = tmp_path / "old.jsonl.gz"
    old.write_bytes(gzip.compress((json.dumps(header) + "\n" + "".join(lines[1:])).encode()))
    target = Store(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        with pytest.raises(dump.BackupError) as caught:
            dump.restore(target, old)
        head = migrate.head(target)
        assert f"schema revision 0003, this deskbot is at {head}" in str(caught.value)
        assert migrate.current(target) is None  # nothing was done
    finally:
        target.dispose()


def test_damaged_files_are_refused_with_a_plain_reason(
    desk: Desk, chat: MemoryChat, tmp_path: Path
):
    fill(chat)
    path = tmp_path / "b.jsonl.gz"
    dump.backup(desk.store, path)
    whole = path.read_bytes()
    lines = gzip.decompress(whole).decode().splitlines(keepends=True)
    cases = {
        "cut.gz": (whole[: len(whole) // 2], "truncated"),
        "no-end.gz": (gzip.compress("".join(lines[:-3]).encode()), "truncated"),
        "garbage.gz": (b"PK\x03\x04 this is a zip", "not a readable deskbot backup"),
        "text.gz": (gzip.compress(b"hello\n"), "not a deskbot backup"),
        "bad-row.gz": (
            gzip.compress("".join([*lines[:3], '["ticket", {"nope": 1}]\n', *lines[3:]]).encode()),
            "line 4: table ticket has no column 'nope'",
        ),
    }
    for name, (data, reason) in cases.items():
        broken = tmp_path / name
        broken.write_bytes(data)
        target = Store(f"sqlite:///{tmp_path / (name + '.db')}")
        try:
            with pytest.raises(dump.BackupError, match=reason):
                dump.restore(target, broken)
            # One transaction: nothing of a half-read file stays behind (at most the empty
            # schema, made before the rows were read), so the database can take a good file.
            if migrate.current(target) is not None:
                assert all(rows == [] for rows in rows_of(target).values()), name
        finally:
            target.dispose()


def test_cli_backs_up_and_restores(
    desk: Desk,
    chat: MemoryChat,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    fill(chat)
    config = Path(__file__).resolve().parents[2] / "config.yaml"
    monkeypatch.setenv("DATABASE_URL", desk.store.url)
    path = tmp_path / "cli.jsonl.gz"
    assert main(["backup", str(path), "--config", str(config), "--format", "json"]) == 0
    told = json.loads(capsys.readouterr().out)
    assert told["tables"]["ticket"] == 4 and told["revision"] == migrate.head(desk.store)
    assert path.stat().st_mode & 0o077 == 0  # the owner's alone
    assert not path.with_name(path.name + ".part").exists()

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["restore", str(path), "--config", str(config)]) == 0
    assert "restored" in capsys.readouterr().out
    assert main(["restore", str(path), "--config", str(config)]) == 1
    assert "not empty" in capsys.readouterr().err
    missing = tmp_path / "missing.jsonl.gz"
    assert main(["restore", str(missing), "--config", str(config)]) == 1
    assert "cannot read it" in capsys.readouterr().err


def test_cli_with_the_database_away_says_so_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    config = Path(__file__).resolve().parents[2] / "config.yaml"
    monkeypatch.setenv("DATABASE_URL", "postgresql://deskbot:secret-pw@127.0.0.1:9/deskbot")
    path = tmp_path / "b.jsonl.gz"
    assert main(["backup", str(path), "--config", str(config)]) == 1
    said = capsys.readouterr().err
    assert (
        said.startswith("error: the database cannot be reached") and "nothing was backed up" in said
    )
    assert "secret-pw" not in said and not path.exists()


def test_sqlite_raw_copy_under_load(desk: Desk, chat: MemoryChat, tmp_path: Path):
    """On SQLite, FILE.db is a copy made by SQLite's online backup API: one consistent
    moment while another thread writes, a database file deskbot can run on as it is."""
    if not desk.store.is_sqlite:
        with pytest.raises(dump.BackupError, match=r"raw SQLite copy, and this database is pos"):
            dump.backup(desk.store, tmp_path / "copy.db")
        return
    fill(chat)
    loader = MemoryChat(desk)
    stop = threading.Event()
    failures: list[BaseException] = []

    def keep_writing() -> None:
        n = 0
        try:
            while not stop.is_set():
                reset_password(loader, "olivia", f"raw-{n}")
                n += 1
        except BaseException as exc:
            failures.append(exc)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        copy = tmp_path / "copy.db"
        summary = dump.backup(desk.store, copy)
    finally:
        stop.set()
        writer.join(60)
    assert failures == []
    assert copy.stat().st_mode & 0o077 == 0
    copied = Store(f"sqlite:///{copy}")
    try:
        rows = rows_of(copied)
        assert {name: len(r) for name, r in rows.items()} == summary.tables
        assert migrate.current(copied) == migrate.head(copied)
        tickets = {t["id"] for t in rows["ticket"]}
        assert tickets and {e["ticket_id"] for e in rows["ticket_event"]} - {None} <= tickets
    finally:
        copied.dispose()
    # Given to `restore`, it is named for what it is.
    target = Store(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        with pytest.raises(dump.BackupError, match="a raw SQLite copy, not a portable backup"):
            dump.restore(target, copy)
    finally:
        target.dispose()
