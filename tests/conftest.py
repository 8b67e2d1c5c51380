"""Shared fixtures. Tests that touch the store run twice: on SQLite and on PostgreSQL.

SQLite: the migrated schema is built once per session and copied for each test.
PostgreSQL: one schema per test session (so parallel runs never meet), migrated once and
truncated before each test. If no PostgreSQL server answers, those runs are skipped and a
banner at the end of the run says so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import psycopg
import pytest
from psycopg import sql

from bot.adapters.memory import MemoryChat
from bot.app import load_config
from bot.base import logcontext
from bot.base.clock import FixedClock
from bot.base.config import Settings, with_database
from bot.desk import Desk
from store.db import Store
from tests.desks import build_desk
from tests.outages import Outage, outage_for

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("DESKBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Monday 23 November 2026, 10:00 in London: inside business hours.
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

_pg_state: dict[str, object] = {}


def _postgres_reason() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per session)."""
    if "reason" not in _pg_state:
        try:
            with psycopg.connect(PG_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_state["reason"] = None
        except psycopg.Error as exc:
            _pg_state["reason"] = f"PostgreSQL at {PG_URL} did not answer: {exc}".strip()
    return _pg_state["reason"]  # type: ignore[return-value]


def pytest_configure(config: pytest.Config) -> None:
    """Keep compiled modules between runs, whatever the environment says: pytest's rewritten
    test modules (rewriting every assert of some 280 modules costs each worker about 5 s of
    CPU at every start) and, for the Python processes the tests start (serve, engine
    children, commands), deskbot's own modules. `__pycache__/` is ignored by git."""
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the workers and every child inherit this


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With several workers (pytest-xdist) the tests run elsewhere: learn from their reports
    that PostgreSQL did not answer, so the banner below still shows."""
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        if reason.startswith("PostgreSQL at ") and "did not answer" in reason:
            _pg_state.setdefault("reason", reason)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reason = _pg_state.get("reason")
    if reason:
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(
            "POSTGRESQL TESTS WERE SKIPPED: only SQLite was tested.", red=True, bold=True
        )
        terminalreporter.write_line(str(reason), red=True)
        terminalreporter.write_line(bar, red=True, bold=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "deskbot.db"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    store.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@contextlib.contextmanager
def empty_postgres_schema() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema of its own, dropped afterwards (skips the
    test when PostgreSQL does not answer)."""
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    with empty_postgres_schema() as url:
        store = Store(url)
        store.upgrade()
        store.dispose()
        yield url


class Emptier:
    """Empties the session's PostgreSQL schema before each test: every table, children
    before the tables they point at, and every sequence back to its start.

    DELETE, not TRUNCATE: a test leaves a handful of rows, and TRUNCATE of some thirty tables
    costs a file swap per table and index (about a second on a busy machine, against some
    fifty milliseconds for the DELETEs), paid by every PostgreSQL test. Only the tables whose
    triggers refuse a DELETE are truncated, and only when they have rows.
    """

    def __init__(self, url: str) -> None:
        base, _, options = url.partition("?options=")
        self.conn = psycopg.connect(base, autocommit=True, options=unquote(options))
        tables = {
            r[0]
            for r in self.conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        }
        refers: dict[str, set[str]] = {t: set() for t in tables}  # table -> tables it points at
        for child, parent in self.conn.execute(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE c.contype = 'f' AND n.nspname = current_schema()"
        ):
            child, parent = child.strip('"'), parent.strip('"')
            if child in refers and parent != child:
                refers[child].add(parent)
        # Children first: a table is emptied once nothing left points at it.
        self.order: list[str] = []
        pointed_at = {t: {c for c in tables if t in refers[c]} for t in tables}
        while pointed_at:
            free = sorted(t for t, children in pointed_at.items() if not children)
            if not free:
                raise RuntimeError(f"foreign keys in a circle among {sorted(pointed_at)}")
            for t in free:
                self.order.append(t)
                del pointed_at[t]
                for children in pointed_at.values():
                    children.discard(t)
        # Tables whose triggers refuse a DELETE (ticket_event is append-only) are truncated:
        # TRUNCATE fires no row triggers.
        self.guarded = sorted(
            r[0].strip('"')
            for r in self.conn.execute(
                "SELECT DISTINCT t.tgrelid::regclass::text FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT t.tgisinternal AND (t.tgtype & 8) <> 0 "  # 8: fires on DELETE
                "AND n.nspname = current_schema()"
            )
        )
        # All of it in one statement run by the server (one round trip, not one for each of
        # some sixty statements), and only what a test touched: a table with rows in it, a
        # sequence that handed out a value since it was last restarted (last_value is NULL
        # until then).
        steps: list[sql.Composable] = [
            sql.SQL("IF EXISTS (SELECT FROM {t}) THEN TRUNCATE {t} CASCADE; END IF;").format(
                t=sql.Identifier(t)
            )
            for t in self.guarded
        ]
        steps += [
            sql.SQL("IF EXISTS (SELECT FROM {t}) THEN DELETE FROM {t}; END IF;").format(
                t=sql.Identifier(t)
            )
            for t in self.order
            if t not in self.guarded
        ]
        steps.append(
            sql.SQL(
                "FOR s IN SELECT sequencename FROM pg_sequences "
                "WHERE schemaname = current_schema() AND last_value IS NOT NULL "
                "LOOP EXECUTE format('ALTER SEQUENCE %I RESTART', s); END LOOP;"
            )
        )
        self.statement = sql.SQL("DO $$ DECLARE s text; BEGIN {} END $$").format(
            sql.SQL(" ").join(steps)
        )

    def empty(self) -> None:
        self.conn.execute(self.statement)  # a DO block is one transaction

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(scope="session")
def pg_emptier(pg_schema_url: str) -> Iterator[Emptier]:
    emptier = Emptier(pg_schema_url)
    yield emptier
    emptier.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a fresh SQLite file, or the truncated PostgreSQL schema."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "deskbot.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_schema_url")
    request.getfixturevalue("pg_emptier").empty()
    return url


@pytest.fixture(autouse=True)
def _own_log_context() -> Iterator[None]:
    """Each test starts with no log fields set: one that wrote a ticket event outside a turn
    must not name its ticket in the next test's lines."""
    with logcontext.cleared():
        yield


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_10AM)


@pytest.fixture(scope="session")
def repository_settings() -> Settings:
    """config.yaml read and checked once: settings are frozen, so tests share them."""
    return load_config(ROOT / "config.yaml", {})


@pytest.fixture
def settings(repository_settings: Settings, db_url: str, tmp_path: Path) -> Settings:
    """The repository's own config.yaml, pointed at the test database (and files kept in
    the test's own folder)."""
    settings = with_database(repository_settings, db_url)
    files = settings.attachments.model_copy(update={"folder": str(tmp_path / "attachments")})
    return settings.model_copy(update={"attachments": files})


@pytest.fixture
def desk(settings: Settings, clock: FixedClock) -> Iterator[Desk]:
    desk = build_desk(settings, clock=clock, migrate=False)
    yield desk
    desk.store.dispose()


@pytest.fixture
def chat(desk: Desk) -> MemoryChat:
    return MemoryChat(desk)


@pytest.fixture
def outage(db_url: str) -> Iterator[Outage]:
    """A real outage of the test database, begun and ended by the test (tests/outages.py)."""
    made = outage_for(db_url)
    yield made
    made.close()
