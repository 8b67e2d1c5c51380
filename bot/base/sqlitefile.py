"""Small SQLite files a process keeps for itself between runs (the directory sync's snapshot
and state): opened with their schema, read with their head (`meta`: key -> text), changed in
one transaction, or written anew into a file renamed into place once complete. Not the
store: nothing else reads them while they are written."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

META = "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"


def opened(path: Path, schema: str) -> tuple[sqlite3.Connection, dict[str, str]] | None:
    """The file and its head, or None when there is none or it is not such a file."""
    if not path.exists():
        return None
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.executescript(META + schema)
        head = {str(k): str(v) for k, v in db.execute("SELECT k, v FROM meta")}
    except sqlite3.Error:
        db.close()
        return None
    return db, head


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All of it or nothing: an interrupted write leaves the file as it was."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def anew(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A new file in place of `path`, written in one transaction and renamed into place once
    complete (anyone with the old one open keeps reading the old)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fresh.unlink(missing_ok=True)
    try:
        db = sqlite3.connect(fresh, isolation_level=None)
        fresh.chmod(0o600)  # people's emails and accounts: as private as the people file
        try:
            db.executescript(META + schema)
            with transaction(db):
                yield db
        finally:
            db.close()
        fresh.replace(path)
    finally:
        fresh.unlink(missing_ok=True)


def write_head(db: sqlite3.Connection, head: dict[str, str]) -> None:
    db.executemany("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", head.items())
