"""A real database outage, for tests: the store and its driver are the real ones, only the
database goes away for a while.

SQLite: another connection holds the database's write lock, as a long job in another
process would. Writers wait out the store's busy timeout (`database.busy_timeout`, 30 s;
`on_outage_db` sets a short one for tests) and then fail with "database is locked", so the
lock is held a little longer than that.

PostgreSQL: the store reaches the server through a TCP relay on 127.0.0.1 that the test can
cut: every open connection is closed under the store's feet and new ones are closed as soon
as they are accepted - what the store sees when the server restarts or the network drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import make_url

from bot.base.config import Settings, with_database
from bot.base.metrics import MESSAGES, TALLY

BUSY_TIMEOUT = 2.0  # seconds SQLite writers wait for the lock in these tests (30 s in use)


def on_outage_db(settings: Settings, outage: Outage) -> Settings:
    """`settings` on the database the outage can take away, with the short busy timeout."""
    moved = with_database(settings, outage.url)
    database = moved.database.model_copy(update={"busy_timeout": timedelta(seconds=BUSY_TIMEOUT)})
    return moved.model_copy(update={"database": database})


def unavailable(channel: str) -> float:
    """Messages on `channel` the engine tried while the database was away
    (`deskbot_messages_total{outcome="unavailable"}`; an engine child's count included)."""
    return TALLY.snapshot().counters.get((MESSAGES.name, (channel, "unavailable")), 0.0)


async def until_a_turn_meets_it(channel: str, before: float, within: float = 60.0) -> None:
    """Wait until a message on `channel` has been tried during the outage and failed for it
    (more than `before`, the count when it began): an outage long enough to matter, and no
    longer (SQLite: a writer fails once it has waited out the busy timeout)."""
    deadline = time.monotonic() + within
    while unavailable(channel) <= before:
        assert time.monotonic() < deadline, f"no {channel} message met the outage in {within} s"
        await asyncio.sleep(0.05)


class Outage(Protocol):
    url: str  # the database URL the desk under test uses

    def begin(self) -> None: ...

    def end(self) -> None: ...

    def close(self) -> None: ...


class SqliteLock:
    """Another connection holding the write lock of the SQLite file at `url`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = Path(str(make_url(url).database))
        self._conn: sqlite3.Connection | None = None

    def begin(self) -> None:
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("BEGIN IMMEDIATE")

    def end(self) -> None:
        if self._conn is not None:
            self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self.end()


class PostgresGate:
    """A TCP relay to the PostgreSQL server of `url` that can be cut and opened again."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._target = (parsed.host or "127.0.0.1", parsed.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        self.url = parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        self._cut = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = False
        threading.Thread(target=self._accept, name="pg-gate", daemon=True).start()

    def begin(self) -> None:
        """The server goes away: open connections drop, new ones are refused."""
        self._cut.set()
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def end(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closing = True
        self.begin()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                for sock in (source, sink):
                    if sock in self._open:
                        self._open.discard(sock)
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)
                        sock.close()


def outage_for(db_url: str) -> Outage:
    return SqliteLock(db_url) if db_url.startswith("sqlite") else PostgresGate(db_url)
