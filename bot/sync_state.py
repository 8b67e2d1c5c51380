"""What the last applied directory sync wrote, kept next to the synced people in a small
SQLite file (`sync-state.db`): every person's row with indexes on the values the rules of
`deskbot check` compare (email, chat accounts, manager, delegate), and the fingerprints of
what each source that returns everyone said (`bot.directory_sync.digests`).

A sync that works on changes only (bot/directory_sync.py) looks up the rows it needs here
one at a time, checks the rows it worked out anew against the others through the indexes,
writes back only those rows, and writes the people file from the rows already rendered as
CSV lines: what it costs follows the changes, not the number of people. The people file
stays what the running desks load; this file is only the sync's, and is trusted only for
the people file it was applied to (`synced`, a `bot.base.files.stamp`) and the settings that
shaped it (`shape`): otherwise the sync starts again from the people file.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from bot.base import sqlitefile

Row = dict[str, str]
VERSION = "1"
# The index that finds who holds a value two active people may not share
# (bot.directory.Owners).
_INDEX = {"email": "email_key", "slack_id": "slack_id", "telegram_id": "telegram_id"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS person (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    line TEXT NOT NULL,
    email_key TEXT NOT NULL,
    slack_id TEXT NOT NULL,
    telegram_id TEXT NOT NULL,
    manager TEXT NOT NULL,
    delegate TEXT NOT NULL,
    active INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS person_email ON person (email_key);
CREATE INDEX IF NOT EXISTS person_slack ON person (slack_id);
CREATE INDEX IF NOT EXISTS person_telegram ON person (telegram_id);
CREATE INDEX IF NOT EXISTS person_manager ON person (manager);
CREATE INDEX IF NOT EXISTS person_delegate ON person (delegate);
CREATE TABLE IF NOT EXISTS seen (
    source TEXT NOT NULL, id TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (source, id)
) WITHOUT ROWID;
"""


def line_of(row: Mapping[str, str], columns: Iterable[str]) -> str:
    """The row as one line of the people file (CSV, quoted where needed, ending in \\r\\n
    as `csv` writes it)."""
    out = io.StringIO()
    csv.writer(out).writerow([row.get(c, "") for c in columns])
    return out.getvalue()


def active(row: Mapping[str, str]) -> bool:
    return row.get("active", "true") != "false"


class State(Mapping[str, Row]):
    """The last applied sync's rows by person id, looked up one at a time."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.seen_before: dict[str, dict[str, str]] | None = None  # `seen`, once read

    def __getitem__(self, pid: str) -> Row:
        found = self.db.execute("SELECT data FROM person WHERE id = ?", (pid,)).fetchone()
        if found is None:
            raise KeyError(pid)
        row: Row = json.loads(found[0])
        return row

    def __contains__(self, pid: object) -> bool:
        sql = "SELECT 1 FROM person WHERE id = ?"
        return isinstance(pid, str) and self.db.execute(sql, (pid,)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        return (pid for (pid,) in self.db.execute("SELECT id FROM person ORDER BY id"))

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM person").fetchone()[0])

    def everyone(self) -> dict[str, Row]:
        """Every row (a sync that works everyone out again)."""
        return {
            pid: json.loads(data)
            for pid, data in self.db.execute("SELECT id, data FROM person ORDER BY id")
        }

    def active_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM person WHERE active = 1").fetchone()[0])

    def below(self, pid: str) -> int:
        """How many rows come before `pid`'s in the file (rows are in id order)."""
        sql = "SELECT COUNT(*) FROM person WHERE id < ?"
        return int(self.db.execute(sql, (pid,)).fetchone()[0])

    def holders(self, column: str, value: str) -> list[str]:
        """The active people whose `column` (email, slack_id, telegram_id) is `value`."""
        index = _INDEX[column]
        key = value.lower() if column == "email" else value
        sql = f"SELECT id FROM person WHERE {index} = ? AND active = 1"  # noqa: S608 (a known name)
        return [pid for (pid,) in self.db.execute(sql, (key,))]

    def by_email(self, email: str) -> list[str]:
        """Everyone, active or not, with this email (any case)."""
        sql = "SELECT id FROM person WHERE email_key = ?"
        return [pid for (pid,) in self.db.execute(sql, (email.lower(),))]

    def delegating_to(self, pids: Iterable[str]) -> set[str]:
        """The people whose delegate is one of `pids`."""
        found: set[str] = set()
        for pid in pids:
            rows = self.db.execute("SELECT id FROM person WHERE delegate = ?", (pid,))
            found |= {p for (p,) in rows}
        return found

    def lines(self) -> Iterator[tuple[str, str]]:
        """(id, CSV line) of every row, in the file's order."""
        yield from self.db.execute("SELECT id, line FROM person ORDER BY id")

    def seen(self) -> dict[str, dict[str, str]]:
        """The fingerprints of what each source that returns everyone said, by source."""
        found: dict[str, dict[str, str]] = {}
        for source, pid, digest in self.db.execute("SELECT source, id, digest FROM seen"):
            found.setdefault(source, {})[pid] = digest
        self.seen_before = found
        return found

    def close(self) -> None:
        self.db.close()


def load(path: Path, synced: str, shape: str, columns: tuple[str, ...]) -> State | None:
    """The kept state when it was applied to the people file there now (`synced`) with the
    settings there now (`shape`); None otherwise (none yet, unreadable, another version)."""
    found = sqlitefile.opened(path, _SCHEMA)
    if found is None:
        return None
    db, head = found
    wanted = {"version": VERSION, "synced": synced, "shape": shape, "columns": ",".join(columns)}
    if any(head.get(k) != v for k, v in wanted.items()):
        db.close()
        return None
    return State(db)


def _values(pid: str, row: Row, columns: tuple[str, ...]) -> tuple[object, ...]:
    return (
        pid,
        json.dumps(row, ensure_ascii=False, separators=(",", ":")),
        line_of(row, columns),
        row.get("email", "").lower(),
        row.get("slack_id", ""),
        row.get("telegram_id", ""),
        row.get("manager", ""),
        row.get("delegate", ""),
        1 if active(row) else 0,
    )


def _write(
    db: sqlite3.Connection,
    rows: Iterable[tuple[str, Row]],
    seen: Mapping[str, Mapping[str, str]],
    head: dict[str, str],
    columns: tuple[str, ...],
    before: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO person VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (_values(pid, row, columns) for pid, row in rows),
    )
    for source, digests in seen.items():
        # What changed since the fingerprints were read, when they were: 50,000 rewritten
        # after every SCIM push would cost more than the push.
        old = before.get(source) if before is not None else None
        if old is None:
            db.execute("DELETE FROM seen WHERE source = ?", (source,))
            old = {}
        gone = [(source, pid) for pid in old if pid not in digests]
        db.executemany("DELETE FROM seen WHERE source = ? AND id = ?", gone)
        db.executemany(
            "INSERT OR REPLACE INTO seen (source, id, digest) VALUES (?, ?, ?)",
            ((source, pid, d) for pid, d in digests.items() if old.get(pid) != d),
        )
    sqlitefile.write_head(db, head)


def save(
    path: Path,
    state: State | None,
    rows: Iterable[tuple[str, Row]],
    seen: Mapping[str, Mapping[str, str]],
    head: Mapping[str, str],
    columns: tuple[str, ...],
) -> None:
    """Keep what a sync applied: into `state` the rows it changed, in one transaction;
    without one (everyone worked out again) every row, into a new file."""
    head = {**head, "version": VERSION, "columns": ",".join(columns)}
    if state is not None:
        with sqlitefile.transaction(state.db) as db:
            _write(db, rows, seen, head, columns, state.seen_before)
        return
    with sqlitefile.anew(path, _SCHEMA) as db:
        _write(db, rows, seen, head, columns)
