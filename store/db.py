"""Database engine and explicit transactions for SQLite (default) and PostgreSQL.

SQLite: WAL so readers never block the writer, a busy timeout so writers queue instead
of failing, and `BEGIN IMMEDIATE` for write transactions so a read-then-write can never
lose a race (a DEFERRED transaction that reads first fails instantly with "database is
locked" when another writer got in between). PostgreSQL: psycopg 3; row-level decisions
use conditional UPDATEs, `FOR UPDATE` and transaction-scoped advisory locks.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bot.base.outages import Unavailable
from store import migrate

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

# SQLite: the file cannot be opened or written, or another process kept it locked for longer
# than the busy timeout below.
SQLITE_OUTAGES = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
)
# PostgreSQL SQLSTATE classes that say "not now" rather than "not this": connection
# exceptions, insufficient resources, operator intervention (shutdown, restart,
# cancelled), transaction rollback (serialization, deadlock), system errors.
POSTGRES_OUTAGES = ("08", "53", "57", "40", "58")


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached or stayed busy, so that the same
    work may succeed later - as opposed to a mistake in the data, the schema or the
    credentials, which trying again cannot fix."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:  # the connection broke under the statement
            return True
        orig: BaseException | None = exc.orig
    else:  # the driver's own (our BEGIN IMMEDIATE runs in an event SQLAlchemy does not wrap)
        orig = exc
    if isinstance(orig, sqlite3.OperationalError):
        return str(orig).lower().startswith(SQLITE_OUTAGES)
    if isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError):
        # No SQLSTATE: the client's own error (could not connect, the server closed the
        # connection); else the server's, by class.
        state = getattr(orig, "sqlstate", None)
        return state is None or state[:2] in POSTGRES_OUTAGES
    return False


def reports_outages(work: Callable[P, R]) -> Callable[P, R]:
    """`work`, with a database outage (`is_outage`) raised as `Unavailable`: the caller may
    try the same work again later (its transaction rolled back whole)."""

    @functools.wraps(work)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return work(*args, **kwargs)
        except Unavailable:
            raise
        except Exception as exc:
            if is_outage(exc):
                raise Unavailable(_first_line(exc)) from exc
            raise

    return checked


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def normalise_url(url: str, base_dir: Path | None = None) -> str:
    """Accept `postgres://` and `postgresql://` for psycopg 3; anchor relative SQLite paths."""
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        url = parsed.set(database=str(path)).render_as_string(hide_password=False)
    return url


def in_memory(url: str) -> bool:
    """An SQLite database in this process's memory: only this process can see it (no child
    processes, no replicas)."""
    return url.startswith("sqlite") and make_url(url).database in (None, "", ":memory:")


class Store:
    """Owns the SQLAlchemy engine and hands out sessions inside transactions."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        base_dir: Path | None = None,
        busy_timeout: float = 30.0,
    ) -> None:
        self.url = normalise_url(url, base_dir)
        self.is_sqlite = self.url.startswith("sqlite")
        self.in_memory = in_memory(self.url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine, int(busy_timeout * 1000))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any exception."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        bind = self.engine.execution_options(deskbot_readonly=True)
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session

    def lock(self, session: Session, name: str) -> None:
        """Serialise work on `name` until the transaction ends, across processes.

        SQLite write transactions are already serialised by BEGIN IMMEDIATE.
        """
        if self.is_sqlite:
            return
        key = int.from_bytes(
            hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
        )
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def upgrade(self) -> None:
        """Apply every Alembic migration up to head."""
        migrate.upgrade(self)

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is DEFERRED).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("deskbot_readonly", False)
        # Straight to the driver: the statement needs no SQLAlchemy processing, and this
        # runs once per transaction (every inbound message).
        conn.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
